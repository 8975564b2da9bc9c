package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// TestContactsNameWinsAndStrangers: a contact's name wins over the announced one in the peers and
// conversation lists (and survives a new announce); a stranger's attachments are held back (the
// message is kept and says what was dropped, no file is written); a contact's are stored; with
// refuse_strangers a stranger's message is not stored and not proven.
func TestContactsNameWinsAndStrangers(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	alice, bob := n.a.app, n.b.app
	_ = alice.Announce(ctx)
	_ = bob.Announce(ctx)
	n.step(0)
	aAddr, bAddr := alice.Identity(ctx).Address, bob.Identity(ctx).Address

	if s := alice.GetSettings(); s.StrangerAttachments != StrangerAttachmentsHold || s.RefuseStrangers {
		t.Fatalf("default stranger settings %+v", s.Settings)
	}
	files := func() int {
		es, err := os.ReadDir(filepath.Join(n.a.dir, AttachmentsDir))
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	sendFile := func(text string) Message {
		t.Helper()
		m, err := bob.Send(ctx, SendRequest{To: aAddr, Content: text, Method: MethodOpportunistic,
			Attachments: []AttachmentInput{{Name: "notes.txt", Data: []byte("file bytes " + text)}}})
		if err != nil {
			t.Fatal(err)
		}
		n.step(0)
		got, err := alice.GetMessage(ctx, m.ID)
		if err != nil {
			t.Fatalf("%q not received: %v", text, err)
		}
		return got
	}

	held := sendFile("from a stranger")
	if len(held.Attachments) != 0 || len(held.HeldAttachments) != 1 || held.HeldAttachments[0] != (HeldAttachment{Kind: "file", Name: "notes.txt", Size: 26, Reason: HeldStranger}) {
		t.Fatalf("stranger's attachment: stored %+v, held %+v", held.Attachments, held.HeldAttachments)
	}
	if files() != 0 {
		t.Fatal("a stranger's attachment bytes were written")
	}

	c, created, err := alice.PutContact(ctx, bAddr, ContactPatch{Name: strp("  Bobby  "), Notes: strp("met at the\nhackerspace"), Favourite: boolp(true)})
	if err != nil || !created || c.Name != "Bobby" || c.AnnouncedName != "bob" || c.DisplayName != "Bobby" || !c.Favourite || c.LastSeen == nil {
		t.Fatalf("put contact %+v, created %v, %v", c, created, err)
	}
	if _, created, err := alice.PutContact(ctx, bAddr, ContactPatch{Notes: strp("hackerspace")}); err != nil || created {
		t.Fatalf("second put: created %v, %v", created, err)
	}
	if c, _ := alice.GetContact(ctx, bAddr); c.Name != "Bobby" || c.Notes != "hackerspace" || !c.Favourite {
		t.Fatalf("a patch changed fields it did not name: %+v", c)
	}
	stored := sendFile("from a contact")
	if len(stored.Attachments) != 1 || len(stored.HeldAttachments) != 0 || files() != 1 {
		t.Fatalf("contact's attachment: stored %+v, held %+v, files %d", stored.Attachments, stored.HeldAttachments, files())
	}

	checkNames := func(when string) {
		t.Helper()
		peers, err := alice.ListPeers(ctx, PeerQuery{Search: "Bobby"})
		if err != nil || len(peers.Items) != 1 {
			t.Fatalf("%s: peers found by contact name: %+v, %v", when, peers.Items, err)
		}
		if p := peers.Items[0]; p.DisplayName != "Bobby" || p.AnnouncedName != "bob" || !p.Contact || !p.Favourite {
			t.Fatalf("%s: peer %+v", when, p)
		}
		convs, err := alice.ListConversations(ctx, ConversationQuery{Search: "bobby"})
		if err != nil || len(convs.Items) != 1 {
			t.Fatalf("%s: conversations found by contact name: %+v, %v", when, convs.Items, err)
		}
		if cv := convs.Items[0]; cv.DisplayName != "Bobby" || cv.AnnouncedName != "bob" || !cv.Contact {
			t.Fatalf("%s: conversation %+v", when, cv)
		}
	}
	checkNames("after adding")
	events, unsub := alice.Events().Subscribe(64)
	defer unsub()
	n.clock.Advance(time.Minute)
	_ = bob.Announce(ctx)
	n.step(0)
	checkNames("after a new announce")
	gotPeer := false
	for len(events) > 0 {
		if e := <-events; e.Kind == EventPeer && e.PeerInfo != nil {
			if e.PeerInfo.DisplayName != "Bobby" {
				t.Fatalf("live peer event shows %q", e.PeerInfo.DisplayName)
			}
			gotPeer = true
		}
	}
	if !gotPeer {
		t.Fatal("no live peer event for the announce")
	}

	t.Run("bad input changes nothing", func(t *testing.T) {
		for _, c := range []struct {
			p    ContactPatch
			want string
		}{
			{ContactPatch{Name: strp("evil\u202egnp.exe")}, "name must not contain"},
			{ContactPatch{Name: strp(strings.Repeat("n", MaxContactNameBytes+1))}, "name must be at most"},
			{ContactPatch{Notes: strp(strings.Repeat("x", MaxContactNotesBytes+1))}, "notes must be at most"},
			{ContactPatch{Notes: strp("bell\a")}, "notes must not contain"},
		} {
			if _, _, err := alice.PutContact(ctx, bAddr, c.p); !errors.Is(err, ErrInvalidContact) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want %q", c.p, err, c.want)
			}
		}
		if _, _, err := alice.PutContact(ctx, "nope", ContactPatch{}); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("bad address: %v", err)
		}
		if c, _ := alice.GetContact(ctx, bAddr); c.Name != "Bobby" || c.Notes != "hackerspace" {
			t.Errorf("contact changed by refused input: %+v", c)
		}
	})

	// Refusing strangers: once bob is no longer a contact his message is not stored and not proven.
	if _, err := alice.UpdateSettings(ctx, SettingsPatch{RefuseStrangers: boolp(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UpdateSettings(ctx, SettingsPatch{StrangerAttachments: strp("sometimes")}); !errors.Is(err, ErrInvalidSetting) {
		t.Fatalf("bad stranger_attachments: %v", err)
	}
	if err := alice.DeleteContact(ctx, bAddr); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteContact(ctx, bAddr); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	m, err := bob.Send(ctx, SendRequest{To: aAddr, Content: "refused", Method: MethodOpportunistic})
	if err != nil {
		t.Fatal(err)
	}
	n.step(0)
	if _, err := alice.GetMessage(ctx, m.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused stranger's message was stored: %v", err)
	}
	if out, _ := bob.GetMessage(ctx, m.ID); out.State == store.StateDelivered {
		t.Fatal("a refused stranger's message was proven")
	}
	if p, _ := alice.ListPeers(ctx, PeerQuery{Search: bAddr}); len(p.Items) != 1 || p.Items[0].Contact || p.Items[0].DisplayName != "bob" {
		t.Fatalf("after delete the announced name is back: %+v", p.Items)
	}
}

// TestContactsExportImportAndPaging: export from one node imports into another (names, notes and
// favourites equal), a second import changes nothing, a file with one bad entry changes nothing and
// names the entry, and pages list every contact once, favourites first.
func TestContactsExportImportAndPaging(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	src, dst := n.a.app, n.b.app
	for i := range 7 {
		addr := strings.Repeat("0", 30) + string("0123456789"[i]) + "a"
		p := ContactPatch{Name: strp("Friend " + string(rune('G'-i))), Favourite: boolp(i%3 == 0)}
		if i == 6 {
			p.Name = strp("") // no name: the announced one is shown
		}
		if _, _, err := src.PutContact(ctx, addr, p); err != nil {
			t.Fatal(err)
		}
	}
	f, err := src.ExportContacts(ctx)
	if err != nil || len(f.Contacts) != 7 || f.Format != ContactsFormat {
		t.Fatalf("export %+v, %v", f, err)
	}
	data, _ := json.Marshal(f)
	res, err := dst.ImportContacts(ctx, data)
	if err != nil || res != (ImportResult{Added: 7}) {
		t.Fatalf("import %+v, %v", res, err)
	}
	if res, err := dst.ImportContacts(ctx, data); err != nil || res != (ImportResult{Unchanged: 7}) {
		t.Fatalf("second import %+v, %v", res, err)
	}
	back, _ := dst.ExportContacts(ctx)
	if len(back.Contacts) != 7 {
		t.Fatalf("imported %d", len(back.Contacts))
	}
	for i := range back.Contacts {
		if back.Contacts[i] != f.Contacts[i] {
			t.Fatalf("contact %d: %+v, exported %+v", i, back.Contacts[i], f.Contacts[i])
		}
	}

	bad := f
	bad.Contacts = append([]ContactRecord{{Address: strings.Repeat("b", 32), Name: "New"}}, f.Contacts...)
	bad.Contacts[2].Name = "tab\tin name"
	data, _ = json.Marshal(bad)
	if _, err := dst.ImportContacts(ctx, data); !errors.Is(err, ErrInvalidContact) || !strings.Contains(err.Error(), "contacts[2].name") {
		t.Fatalf("bad entry: %v", err)
	}
	dup := f
	dup.Contacts = append([]ContactRecord{}, f.Contacts...)
	dup.Contacts = append(dup.Contacts, f.Contacts[0])
	data, _ = json.Marshal(dup)
	if _, err := dst.ImportContacts(ctx, data); !errors.Is(err, ErrInvalidContact) || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate entry: %v", err)
	}
	for _, raw := range []string{`{}`, `not json`, `{"format":"reticle-contacts","version":2,"contacts":[]}`, `{"format":"reticle-contacts","version":1,"contacts":[],"extra":1}`} {
		if _, err := dst.ImportContacts(ctx, []byte(raw)); !errors.Is(err, ErrInvalidContact) {
			t.Errorf("import %s: %v", raw, err)
		}
	}
	if _, err := dst.GetContact(ctx, strings.Repeat("b", 32)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused import added a contact: %v", err)
	}

	var seen []ContactInfo
	cursor := ""
	for range 10 {
		p, err := dst.ListContacts(ctx, ContactQuery{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p.Items...)
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("paged %d contacts", len(seen))
	}
	for i, c := range seen {
		if i > 0 {
			prev := seen[i-1]
			if prev.Favourite == c.Favourite && prev.Name > c.Name || !prev.Favourite && c.Favourite {
				t.Fatalf("order: %+v before %+v", prev, c)
			}
		}
	}
	if !seen[0].Favourite || seen[len(seen)-1].Favourite {
		t.Fatalf("favourites not first: %+v", seen)
	}
	if _, err := dst.ListContacts(ctx, ContactQuery{Cursor: "garbage"}); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	if p, _ := dst.ListContacts(ctx, ContactQuery{Search: "friend d"}); len(p.Items) != 1 || p.Items[0].Name != "Friend D" {
		t.Fatalf("search %+v", p.Items)
	}
}
