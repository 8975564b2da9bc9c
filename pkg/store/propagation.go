package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrPropagationLimit means a propagation message is larger than the whole storage limit.
var ErrPropagationLimit = errors.New("propagation storage limit exceeded")

// PropagationNode is an LXMF propagation node learned from its lxmf.propagation announce.
type PropagationNode struct {
	Hash             string `gorm:"primaryKey"` // lxmf.propagation hash, lowercase hex
	PublicKey        []byte // the announcing identity's 64-byte public key
	Name             string
	Enabled          bool // the node announced that propagation is on
	StampCost        int
	StampFlexibility int
	TransferLimitKB  float64 `gorm:"column:transfer_limit_kb"`
	AppData          []byte  // the announce's app data as received
	Hops             int
	LastSeen         time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is the propagation_nodes table.
func (PropagationNode) TableName() string { return "propagation_nodes" }

// UpsertPropagationNode stores a node or refreshes what its latest announce said. The public key of a
// known node is never replaced: the hash is derived from it.
func (s *Store) UpsertPropagationNode(ctx context.Context, n *PropagationNode) error {
	now := time.Now().UTC()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.UpdatedAt = now
	n.LastSeen = n.LastSeen.UTC()
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "enabled", "stamp_cost", "stamp_flexibility",
			"transfer_limit_kb", "app_data", "hops", "last_seen", "updated_at"}),
	}).Create(n).Error
	if err != nil {
		return fmt.Errorf("upsert propagation node %s: %w", n.Hash, translate(err))
	}
	return nil
}

// ListPropagationNodes returns the known propagation nodes, most recently seen first; limit <= 0 means
// no limit.
func (s *Store) ListPropagationNodes(ctx context.Context, limit int) ([]PropagationNode, error) {
	q := s.db.WithContext(ctx).Order("last_seen DESC").Order("hash")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []PropagationNode
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list propagation nodes: %w", translate(err))
	}
	return out, nil
}

// GetPropagationNode returns the node with the given hash, or ErrNotFound.
func (s *Store) GetPropagationNode(ctx context.Context, hash string) (PropagationNode, error) {
	var n PropagationNode
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&n).Error; err != nil {
		return PropagationNode{}, fmt.Errorf("get propagation node %s: %w", hash, translate(err))
	}
	return n, nil
}

// PropagationMessage is a message this instance holds as a propagation node.
type PropagationMessage struct {
	ID          int64  `gorm:"primaryKey"`
	TransientID string // lowercase hex SHA-256 of the propagated form
	Destination string // recipient's lxmf.delivery hash, lowercase hex
	Data        []byte // propagated form followed by its propagation stamp
	Size        int64
	StampValue  int
	ReceivedAt  time.Time
}

// TableName is the propagation_messages table.
func (PropagationMessage) TableName() string { return "propagation_messages" }

// PropagationInsert is the outcome of InsertPropagationMessage.
type PropagationInsert struct {
	Inserted bool  // false: a message with this transient id was already held
	Evicted  int   // older messages deleted to stay within the limit
	Total    int64 // bytes held afterwards
}

// InsertPropagationMessage stores a message unless one with the same transient id is held, then deletes
// the oldest messages until the total size is within limitBytes (limitBytes <= 0: no limit). A message
// larger than the limit on its own is refused with ErrPropagationLimit.
func (s *Store) InsertPropagationMessage(ctx context.Context, m *PropagationMessage, limitBytes int64) (PropagationInsert, error) {
	var res PropagationInsert
	m.Size = int64(len(m.Data))
	if limitBytes > 0 && m.Size > limitBytes {
		return res, fmt.Errorf("propagation message of %d bytes, limit %d: %w", m.Size, limitBytes, ErrPropagationLimit)
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = time.Now()
	}
	m.ReceivedAt = m.ReceivedAt.UTC()
	s.prop.mu.Lock()
	defer s.prop.mu.Unlock()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		total, err := s.prop.load(tx)
		if err != nil {
			return err
		}
		r := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "transient_id"}}, DoNothing: true}).Create(m)
		if r.Error != nil {
			return r.Error
		}
		res.Inserted = r.RowsAffected > 0
		if res.Inserted {
			total += m.Size
		}
		res.Total = total
		// Oldest first, a chunk at a time through the (received_at, id) index, never the new message.
		for limitBytes > 0 && res.Total > limitBytes {
			var old []PropagationMessage
			if err := tx.Select("id", "size").Where("transient_id <> ?", m.TransientID).Order("received_at").Order("id").
				Limit(evictChunk).Find(&old).Error; err != nil {
				return err
			}
			if len(old) == 0 {
				return fmt.Errorf("%d bytes held over the limit of %d with nothing left to evict", res.Total, limitBytes)
			}
			ids := make([]int64, 0, len(old))
			for _, o := range old {
				if res.Total <= limitBytes {
					break
				}
				ids = append(ids, o.ID)
				res.Total -= o.Size
				res.Evicted++
			}
			if err := tx.Where("id IN ?", ids).Delete(&PropagationMessage{}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.prop.known = false
		return PropagationInsert{}, fmt.Errorf("insert propagation message %s: %w", m.TransientID, translate(err))
	}
	s.prop.bytes, s.prop.known = res.Total, true
	return res, nil
}

// PropagationEntry is a held message's transient id and size, as a node lists them to a client.
type PropagationEntry struct {
	TransientID string
	Size        int64
}

// ListPropagationMessages returns the transient ids and sizes held for destination, smallest first (as
// the reference lists them); limit <= 0 means no limit.
func (s *Store) ListPropagationMessages(ctx context.Context, destination string, limit int) ([]PropagationEntry, error) {
	q := s.db.WithContext(ctx).Model(&PropagationMessage{}).Select("transient_id", "size").
		Where("destination = ?", destination).Order("size").Order("id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []PropagationEntry
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list propagation messages: %w", translate(err))
	}
	return out, nil
}

// GetPropagationMessages returns the held messages for destination among transientIDs, in the order
// asked; ids held for another destination or not held are left out.
func (s *Store) GetPropagationMessages(ctx context.Context, destination string, transientIDs []string) ([]PropagationMessage, error) {
	if len(transientIDs) == 0 {
		return nil, nil
	}
	var rows []PropagationMessage
	err := s.db.WithContext(ctx).Where("destination = ? AND transient_id IN ?", destination, transientIDs).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("get propagation messages: %w", translate(err))
	}
	byID := make(map[string]PropagationMessage, len(rows))
	for _, r := range rows {
		byID[r.TransientID] = r
	}
	out := make([]PropagationMessage, 0, len(rows))
	for _, id := range transientIDs {
		if r, ok := byID[id]; ok {
			out = append(out, r)
			delete(byID, id)
		}
	}
	return out, nil
}

// DeletePropagationMessages deletes the messages held for destination among transientIDs and returns how
// many were deleted.
func (s *Store) DeletePropagationMessages(ctx context.Context, destination string, transientIDs []string) (int64, error) {
	if len(transientIDs) == 0 {
		return 0, nil
	}
	n, err := s.deletePropagation(ctx, func(tx *gorm.DB) *gorm.DB {
		return tx.Where("destination = ? AND transient_id IN ?", destination, transientIDs)
	})
	if err != nil {
		return 0, fmt.Errorf("delete propagation messages: %w", translate(err))
	}
	return n, nil
}

// ExpirePropagationMessages deletes the messages received before the given time and returns how many.
func (s *Store) ExpirePropagationMessages(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.deletePropagation(ctx, func(tx *gorm.DB) *gorm.DB { return tx.Where("received_at < ?", before.UTC()) })
	if err != nil {
		return 0, fmt.Errorf("expire propagation messages: %w", translate(err))
	}
	return n, nil
}

// PropagationMessagesSince returns the held messages received after the given time, oldest first, at
// most limit (limit <= 0: no limit); a node offers them to its peers.
func (s *Store) PropagationMessagesSince(ctx context.Context, after time.Time, limit int) ([]PropagationMessage, error) {
	q := s.db.WithContext(ctx).Where("received_at > ?", after.UTC()).Order("received_at").Order("id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []PropagationMessage
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("propagation messages since: %w", translate(err))
	}
	return out, nil
}

// HasPropagationMessage reports whether a message with the transient id is held.
func (s *Store) HasPropagationMessage(ctx context.Context, transientID string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&PropagationMessage{}).Where("transient_id = ?", transientID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("has propagation message: %w", translate(err))
	}
	return n > 0, nil
}

// PropagationUsage returns how many propagation messages are held and their total size in bytes.
func (s *Store) PropagationUsage(ctx context.Context) (count int64, bytes int64, err error) {
	var row struct {
		N int64
		B int64
	}
	err = s.db.WithContext(ctx).Model(&PropagationMessage{}).Select("COUNT(*) AS n, COALESCE(SUM(size), 0) AS b").Scan(&row).Error
	if err != nil {
		return 0, 0, fmt.Errorf("propagation usage: %w", translate(err))
	}
	return row.N, row.B, nil
}

// evictChunk is how many of the oldest messages one eviction step reads.
const evictChunk = 500

// propTotal is the running total of the bytes held as a propagation node, so an upload does not sum
// the whole table: it is loaded once, then kept by every write under mu. One writer per store (the
// PostgreSQL lock, SQLite's single process on its data dir) makes that sound; a failed write forgets it.
type propTotal struct {
	mu    sync.Mutex
	known bool
	bytes int64
}

// load returns the total, summing the table inside tx when it is not known. Call with mu held.
func (p *propTotal) load(tx *gorm.DB) (int64, error) {
	if p.known {
		return p.bytes, nil
	}
	var n int64
	if err := tx.Model(&PropagationMessage{}).Select("COALESCE(SUM(size), 0)").Scan(&n).Error; err != nil {
		return 0, err
	}
	p.bytes, p.known = n, true
	return n, nil
}

// deletePropagation deletes the propagation messages where selects and keeps the running total.
func (s *Store) deletePropagation(ctx context.Context, where func(*gorm.DB) *gorm.DB) (int64, error) {
	s.prop.mu.Lock()
	defer s.prop.mu.Unlock()
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var gone int64
		if err := where(tx.Model(&PropagationMessage{})).Select("COALESCE(SUM(size), 0)").Scan(&gone).Error; err != nil {
			return err
		}
		r := where(tx).Delete(&PropagationMessage{})
		if r.Error != nil {
			return r.Error
		}
		n = r.RowsAffected
		s.prop.bytes -= gone
		return nil
	})
	if err != nil {
		s.prop.known = false
	}
	return n, err
}
