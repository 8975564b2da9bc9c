package app

import "testing"

func TestBrokerDropsOldestForSlowSubscriber(t *testing.T) {
	b := NewBroker()
	slow, unsubSlow := b.Subscribe(2)
	fast, unsubFast := b.Subscribe(8)
	for _, id := range []string{"1", "2", "3", "4"} {
		b.Publish(Event{Kind: EventMessageState, MessageID: id})
	}
	if got := []string{(<-slow).MessageID, (<-slow).MessageID}; got[0] != "3" || got[1] != "4" {
		t.Fatalf("slow subscriber got %v; want the newest two", got)
	}
	if len(fast) != 4 {
		t.Fatalf("fast subscriber has %d events", len(fast))
	}
	if b.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2", b.Dropped())
	}
	unsubSlow()
	unsubSlow()
	if _, ok := <-slow; ok {
		t.Fatal("channel open after unsubscribe")
	}
	b.Publish(Event{Kind: EventPeer})
	if b.Subscribers() != 1 {
		t.Fatalf("subscribers %d", b.Subscribers())
	}
	unsubFast()
	if b.Subscribers() != 0 {
		t.Fatal("subscriber left")
	}
}
