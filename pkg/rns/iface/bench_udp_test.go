package iface

import (
	"context"
	"testing"
)

// countingHandler counts inbound frames on a channel-free path.
type countingHandler struct{ got chan struct{} }

func (h *countingHandler) Attach(Interface)          {}
func (h *countingHandler) Detach(Interface)          {}
func (h *countingHandler) Inbound(Interface, []byte) { h.got <- struct{}{} }

// BenchmarkUDPLoopback measures frames of 500 bytes (the Reticulum MTU)
// sent and received over a loopback UDP pair, one in flight at a time.
func BenchmarkUDPLoopback(b *testing.B) {
	h := &countingHandler{got: make(chan struct{}, 1)}
	rx, err := NewUDP("rx", "127.0.0.1:0", "", Options{Handler: h})
	if err != nil {
		b.Fatal(err)
	}
	if err := rx.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rx.Close() }()
	tx, err := NewUDP("tx", "", rx.LocalAddr().String(), Options{Handler: h})
	if err != nil {
		b.Fatal(err)
	}
	if err := tx.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Close() }()
	frame := make([]byte, 500)
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for range b.N {
		if err := tx.Send(frame); err != nil {
			b.Fatal(err)
		}
		<-h.got
	}
}
