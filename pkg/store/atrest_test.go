package store

import (
	"bytes"
	"context"
	"testing"
)

func TestAtRestRecordRoundTripAndUpgrade(t *testing.T) {
	ctx := context.Background()
	s, p := openTemp(t, 5) // a database from before the record
	closeStore(t, s)
	s, err := Open(ctx, Options{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	if b, err := s.LoadAtRestRecord(ctx); err != nil || b != nil {
		t.Fatalf("fresh: %q %v", b, err)
	}
	for _, want := range [][]byte{[]byte(`{"version":1}`), []byte(`{"version":1,"files":{}}`)} {
		if err := s.SaveAtRestRecord(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadAtRestRecord(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("load %q %v, want %q", got, err, want)
		}
	}
	var n int64
	if err := s.db.Table("at_rest_record").Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
}
