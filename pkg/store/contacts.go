package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Contact is the owner's entry for an LXMF address.
type Contact struct {
	Address   string `gorm:"primaryKey"` // lxmf.delivery hash, lowercase hex
	Name      string // the owner's name for it; "" keeps the announced name
	Notes     string
	Favourite bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the contacts table.
func (Contact) TableName() string { return "contacts" }

// MaxContacts bounds the contacts table.
const MaxContacts = 10_000

// PutContact creates or replaces a contact (its CreatedAt is kept when it exists); created reports a
// new row. Past MaxContacts a new contact is refused with ErrTooMany.
func (s *Store) PutContact(ctx context.Context, c Contact) (created bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		created, err = putContact(tx, c)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("put contact %s: %w", c.Address, translate(err))
	}
	return created, nil
}

func putContact(tx *gorm.DB, c Contact) (bool, error) {
	var old Contact
	err := tx.Where("address = ?", c.Address).Take(&old).Error
	switch {
	case err == nil:
		c.CreatedAt = old.CreatedAt
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = time.Now().UTC()
		}
		return false, tx.Model(&Contact{}).Where("address = ?", c.Address).
			Updates(map[string]any{"name": c.Name, "notes": c.Notes, "favourite": c.Favourite, "updated_at": c.UpdatedAt.UTC()}).Error
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return false, err
	}
	var n int64
	if err := tx.Model(&Contact{}).Count(&n).Error; err != nil {
		return false, err
	}
	if n >= MaxContacts {
		return false, ErrTooMany
	}
	now := time.Now().UTC()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return true, tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error
}

// PutContacts stores many contacts in one transaction (all or none) and counts the new ones.
func (s *Store) PutContacts(ctx context.Context, cs []Contact) (created int, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		created = 0
		for _, c := range cs {
			n, err := putContact(tx, c)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Address, err)
			}
			if n {
				created++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put contacts: %w", translate(err))
	}
	return created, nil
}

// GetContact returns the contact for an address, or ErrNotFound.
func (s *Store) GetContact(ctx context.Context, address string) (Contact, error) {
	var c Contact
	if err := s.db.WithContext(ctx).Where("address = ?", address).Take(&c).Error; err != nil {
		return Contact{}, fmt.Errorf("get contact %s: %w", address, translate(err))
	}
	return c, nil
}

// DeleteContact removes a contact; ErrNotFound when there is none.
func (s *Store) DeleteContact(ctx context.Context, address string) error {
	res := s.db.WithContext(ctx).Where("address = ?", address).Delete(&Contact{})
	if res.Error != nil {
		return fmt.Errorf("delete contact %s: %w", address, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// AllContacts returns every contact (at most MaxContacts), favourites first, then by name and address.
func (s *Store) AllContacts(ctx context.Context) ([]Contact, error) {
	var out []Contact
	err := s.db.WithContext(ctx).Order("favourite DESC").Order("name").Order("address").Limit(MaxContacts).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", translate(err))
	}
	return out, nil
}

// ContactQuery selects a page of contacts, favourites first, then by name and address: those after
// the Cursor contact (nil: from the first), matching Search (address, name or notes) when not empty.
type ContactQuery struct {
	Cursor *ContactCursor
	Search string
	Limit  int
}

// ContactCursor is the position after which a contacts page starts.
type ContactCursor struct {
	Favourite bool
	Name      string
	Address   string
}

// ListContactPage returns a page of contacts and the cursor of the next page (nil at the end).
func (s *Store) ListContactPage(ctx context.Context, q ContactQuery) ([]Contact, *ContactCursor, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("list contacts: limit %d", q.Limit)
	}
	d := s.db.WithContext(ctx).Order("favourite DESC").Order("name").Order("address").Limit(q.Limit + 1)
	if c := q.Cursor; c != nil {
		after := "name > ? OR (name = ? AND address > ?)"
		if c.Favourite {
			d = d.Where("favourite = ? OR (favourite = ? AND ("+after+"))", false, true, c.Name, c.Name, c.Address)
		} else {
			d = d.Where("favourite = ? AND ("+after+")", false, c.Name, c.Name, c.Address)
		}
	}
	if q.Search != "" {
		like := "%" + escapeLike(q.Search) + "%"
		l := s.likeOp()
		d = d.Where(`address `+l+` ? ESCAPE '\' OR name `+l+` ? ESCAPE '\' OR notes `+l+` ? ESCAPE '\'`, like, like, like)
	}
	var out []Contact
	if err := d.Find(&out).Error; err != nil {
		return nil, nil, fmt.Errorf("list contacts: %w", translate(err))
	}
	var next *ContactCursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		last := out[len(out)-1]
		next = &ContactCursor{Favourite: last.Favourite, Name: last.Name, Address: last.Address}
	}
	return out, next, nil
}
