package store

import "gorm.io/gorm"

// m0011PropagationReceived indexes held propagation messages by arrival, which eviction (oldest first),
// expiry and the offers to peers (received after a time) all walk; without it each of those read the
// whole table, and a node holding a million messages evicted one message per full scan.
func m0011PropagationReceived() migration {
	return migration{version: 11, name: "propagation_received", up: func(tx *gorm.DB) error {
		return execAll(tx, `CREATE INDEX propagation_messages_received ON propagation_messages (received_at, id)`)
	}}
}
