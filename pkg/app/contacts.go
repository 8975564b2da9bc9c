package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Limits of a contact entry.
const (
	MaxContactNameBytes  = 128
	MaxContactNotesBytes = 2000
	// MaxContactsImportBytes bounds an import file.
	MaxContactsImportBytes = 4 << 20
)

// ContactsFormat names the export file format (with ContactsFormatVersion).
const (
	ContactsFormat        = "reticle-contacts"
	ContactsFormatVersion = 1
)

// ErrInvalidContact is a contact field out of its bounds; the message names the field.
var ErrInvalidContact = errors.New("invalid contact")

// ErrContactsFull means the contacts table is at its cap (store.MaxContacts).
var ErrContactsFull = errors.New("the contact list is full")

// ContactInfo is a contact as the API shows it: the owner's name (which wins), the announced one, and
// the name in force.
type ContactInfo struct {
	Address       string     `json:"address"`
	Name          string     `json:"name"`
	AnnouncedName string     `json:"announced_name"`
	DisplayName   string     `json:"display_name"`
	Notes         string     `json:"notes"`
	Favourite     bool       `json:"favourite"`
	LastSeen      *time.Time `json:"last_seen"` // last announce heard; nil when never heard
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ContactPage is a page of contacts, favourites first then by name; NextCursor is nil on the last page.
type ContactPage struct {
	Items      []ContactInfo `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

// ContactQuery selects a page of contacts: after Cursor, matching Search (address, name or notes).
type ContactQuery struct {
	Cursor string
	Search string
	Limit  int
}

// ContactPatch changes the fields that are set; a new contact starts from empty fields.
type ContactPatch struct {
	Name      *string `json:"name"`
	Notes     *string `json:"notes"`
	Favourite *bool   `json:"favourite"`
}

// contactBook is the in-memory copy of the contacts' names and marks, read on every announce, message
// and list row without a query.
type contactBook struct {
	mu     sync.RWMutex
	byAddr map[string]store.Contact
}

func (b *contactBook) load(ctx context.Context, st *store.Store) error {
	rows, err := st.AllContacts(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]store.Contact, len(rows))
	for _, r := range rows {
		m[r.Address] = r
	}
	b.mu.Lock()
	b.byAddr = m
	b.mu.Unlock()
	return nil
}

func (b *contactBook) get(addr string) (store.Contact, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	c, ok := b.byAddr[addr]
	return c, ok
}

func (b *contactBook) has(addr string) bool {
	_, ok := b.get(addr)
	return ok
}

func (b *contactBook) put(c store.Contact) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byAddr == nil {
		b.byAddr = map[string]store.Contact{}
	}
	b.byAddr[c.Address] = c
}

func (b *contactBook) remove(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.byAddr, addr)
}

// name is the name to show for addr: the contact's when it has one, else the announced one.
func (b *contactBook) name(addr, announced string) (string, store.Contact, bool) {
	c, ok := b.get(addr)
	if ok && c.Name != "" {
		return c.Name, c, true
	}
	return cleanText(announced), c, ok
}

// isContact is the budget's exemption test.
func (b *contactBook) isContact(h wire.Hash) bool { return b.has(h.String()) }

func validateContactName(field, n string) (string, error) {
	n = strings.TrimSpace(n)
	switch {
	case !utf8.ValidString(n):
		return "", fmt.Errorf("%w: %s must be UTF-8 text", ErrInvalidContact, field)
	case len(n) > MaxContactNameBytes:
		return "", fmt.Errorf("%w: %s must be at most %d bytes", ErrInvalidContact, field, MaxContactNameBytes)
	case strings.ContainsFunc(n, isControlOrBidi):
		return "", fmt.Errorf("%w: %s must not contain control or bidi override characters", ErrInvalidContact, field)
	}
	return n, nil
}

func validateContactNotes(field, n string) (string, error) {
	n = strings.TrimSpace(strings.ReplaceAll(n, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(n):
		return "", fmt.Errorf("%w: %s must be UTF-8 text", ErrInvalidContact, field)
	case len(n) > MaxContactNotesBytes:
		return "", fmt.Errorf("%w: %s must be at most %d bytes", ErrInvalidContact, field, MaxContactNotesBytes)
	case strings.ContainsFunc(n, func(r rune) bool { return r != '\n' && r != '\t' && isControlOrBidi(r) }):
		return "", fmt.Errorf("%w: %s must not contain control or bidi override characters", ErrInvalidContact, field)
	}
	return n, nil
}

// apply validates p onto c (nothing is kept when a field is bad); prefix names the fields in errors.
func (p ContactPatch) apply(prefix string, c *store.Contact) error {
	out := *c
	var err error
	if p.Name != nil {
		if out.Name, err = validateContactName(prefix+"name", *p.Name); err != nil {
			return err
		}
	}
	if p.Notes != nil {
		if out.Notes, err = validateContactNotes(prefix+"notes", *p.Notes); err != nil {
			return err
		}
	}
	if p.Favourite != nil {
		out.Favourite = *p.Favourite
	}
	*c = out
	return nil
}

func (a *App) contactView(ctx context.Context, c store.Contact) ContactInfo {
	v := ContactInfo{Address: c.Address, Name: c.Name, Notes: c.Notes, Favourite: c.Favourite,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DisplayName: c.Name}
	if p, err := a.st.GetPeer(ctx, c.Address); err == nil {
		v.AnnouncedName = cleanText(p.DisplayName)
		seen := p.LastSeen
		v.LastSeen = &seen
		if v.DisplayName == "" {
			v.DisplayName = v.AnnouncedName
		}
	}
	return v
}

// ListContacts returns a page of contacts, favourites first, then by name and address.
func (a *App) ListContacts(ctx context.Context, q ContactQuery) (ContactPage, error) {
	sq := store.ContactQuery{Limit: ClampLimit(q.Limit), Search: strings.TrimSpace(q.Search)}
	if len(sq.Search) > maxSearch {
		return ContactPage{}, fmt.Errorf("%w: search is limited to %d bytes", ErrInvalidCursor, maxSearch)
	}
	if q.Cursor != "" {
		c, err := parseContactCursor(q.Cursor)
		if err != nil {
			return ContactPage{}, err
		}
		sq.Cursor = c
	}
	rows, next, err := a.st.ListContactPage(ctx, sq)
	if err != nil {
		return ContactPage{}, fmt.Errorf("list contacts: %w", err)
	}
	page := ContactPage{Items: make([]ContactInfo, len(rows))}
	for i, c := range rows {
		page.Items[i] = a.contactView(ctx, c)
	}
	if next != nil {
		b, _ := json.Marshal([]any{next.Favourite, next.Name, next.Address})
		c := base64.RawURLEncoding.EncodeToString(b)
		page.NextCursor = &c
	}
	return page, nil
}

func parseContactCursor(s string) (*store.ContactCursor, error) {
	bad := fmt.Errorf("%w: use a next_cursor from a previous page", ErrInvalidCursor)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 {
		return nil, bad
	}
	var parts []json.RawMessage
	if json.Unmarshal(b, &parts) != nil || len(parts) != 3 {
		return nil, bad
	}
	var c store.ContactCursor
	if json.Unmarshal(parts[0], &c.Favourite) != nil || json.Unmarshal(parts[1], &c.Name) != nil || json.Unmarshal(parts[2], &c.Address) != nil {
		return nil, bad
	}
	if _, err := ParseAddress(c.Address); err != nil {
		return nil, bad
	}
	return &c, nil
}

// GetContact returns the contact for an LXMF address (ErrNotFound when it is none).
func (a *App) GetContact(ctx context.Context, address string) (ContactInfo, error) {
	h, err := ParseAddress(address)
	if err != nil {
		return ContactInfo{}, err
	}
	c, err := a.st.GetContact(ctx, h.String())
	if err != nil {
		return ContactInfo{}, notFound(err)
	}
	return a.contactView(ctx, c), nil
}

// PutContact creates the contact for an address or changes it; created reports a new one. The
// address need not have announced yet (a contact can be added from an address someone gave you).
func (a *App) PutContact(ctx context.Context, address string, p ContactPatch) (ContactInfo, bool, error) {
	h, err := ParseAddress(address)
	if err != nil {
		return ContactInfo{}, false, err
	}
	c, err := a.st.GetContact(ctx, h.String())
	if errors.Is(err, store.ErrNotFound) {
		c, err = store.Contact{Address: h.String()}, nil
	}
	if err != nil {
		return ContactInfo{}, false, fmt.Errorf("put contact: %w", err)
	}
	if err := p.apply("", &c); err != nil {
		return ContactInfo{}, false, err
	}
	c.UpdatedAt = a.opts.Clock.Now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	created, err := a.st.PutContact(ctx, c)
	if err != nil {
		if errors.Is(err, store.ErrTooMany) {
			return ContactInfo{}, false, ErrContactsFull
		}
		return ContactInfo{}, false, err
	}
	a.contacts.put(c)
	a.publishPeer(ctx, c.Address)
	return a.contactView(ctx, c), created, nil
}

// DeleteContact removes a contact; the address becomes a stranger again.
func (a *App) DeleteContact(ctx context.Context, address string) error {
	h, err := ParseAddress(address)
	if err != nil {
		return err
	}
	if err := a.st.DeleteContact(ctx, h.String()); err != nil {
		return notFound(err)
	}
	a.contacts.remove(h.String())
	a.publishPeer(ctx, h.String())
	return nil
}

// publishPeer tells live clients a peer's shown name or marks changed.
func (a *App) publishPeer(ctx context.Context, addr string) {
	p, err := a.st.GetPeer(ctx, addr)
	if err != nil {
		return
	}
	v := a.peerView(p)
	a.events.Publish(Event{Kind: EventPeer, Peer: v.Address, PeerInfo: &v})
}

// ContactRecord is one contact in an export file.
type ContactRecord struct {
	Address   string `json:"address"`
	Name      string `json:"name"`
	Notes     string `json:"notes,omitempty"`
	Favourite bool   `json:"favourite,omitempty"`
}

// ContactsFile is the export file: every contact, with the format named so an import can check it.
type ContactsFile struct {
	Format     string          `json:"format"`
	Version    int             `json:"version"`
	ExportedAt time.Time       `json:"exported_at"`
	Contacts   []ContactRecord `json:"contacts"`
}

// ExportContacts returns every contact as a ContactsFile.
func (a *App) ExportContacts(ctx context.Context) (ContactsFile, error) {
	rows, err := a.st.AllContacts(ctx)
	if err != nil {
		return ContactsFile{}, err
	}
	f := ContactsFile{Format: ContactsFormat, Version: ContactsFormatVersion, ExportedAt: a.opts.Clock.Now().UTC(),
		Contacts: make([]ContactRecord, len(rows))}
	for i, c := range rows {
		f.Contacts[i] = ContactRecord{Address: c.Address, Name: c.Name, Notes: c.Notes, Favourite: c.Favourite}
	}
	return f, nil
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ImportContacts merges an export file into the contacts: an address already there takes the file's
// name, notes and favourite mark. The whole file is checked first; any bad entry (named by its index
// and field) or a file that would overflow the list changes nothing.
func (a *App) ImportContacts(ctx context.Context, data []byte) (ImportResult, error) {
	if len(data) > MaxContactsImportBytes {
		return ImportResult{}, fmt.Errorf("%w: the file is larger than %d bytes", ErrInvalidContact, MaxContactsImportBytes)
	}
	var f ContactsFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return ImportResult{}, fmt.Errorf("%w: not a contacts file: %s", ErrInvalidContact, oneLine(err))
	}
	if f.Format != ContactsFormat || f.Version != ContactsFormatVersion {
		return ImportResult{}, fmt.Errorf("%w: format must be %q version %d", ErrInvalidContact, ContactsFormat, ContactsFormatVersion)
	}
	if len(f.Contacts) > store.MaxContacts {
		return ImportResult{}, fmt.Errorf("%w: at most %d contacts", ErrInvalidContact, store.MaxContacts)
	}
	existing, err := a.st.AllContacts(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import contacts: %w", err)
	}
	byAddr := make(map[string]store.Contact, len(existing))
	for _, c := range existing {
		byAddr[c.Address] = c
	}
	now := a.opts.Clock.Now().UTC()
	seen := make(map[string]bool, len(f.Contacts))
	var res ImportResult
	var rows []store.Contact
	for i, r := range f.Contacts {
		prefix := fmt.Sprintf("contacts[%d].", i)
		h, err := ParseAddress(r.Address)
		if err != nil {
			return ImportResult{}, fmt.Errorf("%w: %saddress: %w", ErrInvalidContact, prefix, err)
		}
		addr := h.String()
		if seen[addr] {
			return ImportResult{}, fmt.Errorf("%w: %saddress %s is listed twice", ErrInvalidContact, prefix, addr)
		}
		seen[addr] = true
		old, had := byAddr[addr]
		c := old
		if !had {
			c = store.Contact{Address: addr, CreatedAt: now}
		}
		if err := (ContactPatch{Name: &r.Name, Notes: &r.Notes, Favourite: &r.Favourite}).apply(prefix, &c); err != nil {
			return ImportResult{}, err
		}
		if had && c.Name == old.Name && c.Notes == old.Notes && c.Favourite == old.Favourite {
			res.Unchanged++
			continue
		}
		c.UpdatedAt = now
		rows = append(rows, c)
	}
	added, err := a.st.PutContacts(ctx, rows)
	if err != nil {
		if errors.Is(err, store.ErrTooMany) {
			return ImportResult{}, fmt.Errorf("%w: importing would pass %d contacts", ErrContactsFull, store.MaxContacts)
		}
		return ImportResult{}, err
	}
	res.Added, res.Updated = added, len(rows)-added
	if err := a.contacts.load(ctx, a.st); err != nil {
		return res, fmt.Errorf("import contacts: %w", err)
	}
	a.log.Info("contacts imported", "added", res.Added, "updated", res.Updated, "unchanged", res.Unchanged)
	return res, nil
}
