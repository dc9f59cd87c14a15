package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"meetcoord/actors"
)

// Expiry can only be driven in Memory, whose clock is a field; Redis TTLs are checked with PTTL
// in store_test.go.
func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_760_000_000_000)
	m := NewMemory()
	m.now = func() time.Time { return now }

	save := func(s actors.Snapshot) (int64, error) { return m.Save(ctx, s) }
	const minute = time.Minute
	if _, err := save(actors.Snapshot{RoomID: "r1", State: []byte("r1"), Index: []actors.IndexOp{
		{Index: actors.IndexCallback, Key: "cb1", TTL: minute},
		{Index: actors.IndexSlug, Key: "short-lived", TTL: minute, Exclusive: true},
		{Index: actors.IndexAccess, Key: "acc1"}, // no TTL: never expires
	}}); err != nil {
		t.Fatal(err)
	}
	// Tombstone of a deleted room.
	if _, err := save(actors.Snapshot{RoomID: "r2", State: []byte("tombstone"), TTL: 2 * minute}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		at           time.Duration
		callback     bool
		slug         bool
		tombstoneSet bool
	}{
		{0, true, true, true},
		{minute - time.Millisecond, true, true, true},
		{minute, false, false, true},
		{2*minute - time.Millisecond, false, false, true},
		{2 * minute, false, false, false},
	}
	base := now
	for _, tt := range tests {
		now = base.Add(tt.at)
		if _, ok, _ := m.CallbackRoom(ctx, "cb1"); ok != tt.callback {
			t.Errorf("+%v: callback present=%v, want %v", tt.at, ok, tt.callback)
		}
		if _, ok, _ := m.RoomIDBySlug(ctx, "short-lived"); ok != tt.slug {
			t.Errorf("+%v: slug present=%v, want %v", tt.at, ok, tt.slug)
		}
		if _, ok, _ := m.RoomIDByAccess(ctx, "acc1"); !ok {
			t.Errorf("+%v: access pointer without TTL expired", tt.at)
		}
		m.mu.Lock()
		s, ok := m.states["r2"]
		alive := ok && s.alive(now)
		m.mu.Unlock()
		if alive != tt.tombstoneSet {
			t.Errorf("+%v: tombstone alive=%v, want %v", tt.at, alive, tt.tombstoneSet)
		}
	}

	// An expired exclusive pointer no longer blocks another room.
	if _, err := save(actors.Snapshot{RoomID: "r3", State: []byte("r3"), Index: []actors.IndexOp{
		{Index: actors.IndexSlug, Key: "short-lived", Exclusive: true},
	}}); err != nil {
		t.Fatalf("taking an expired slug: %v", err)
	}
	// ...while a live one does.
	if _, err := save(actors.Snapshot{RoomID: "r4", State: []byte("r4"), Index: []actors.IndexOp{
		{Index: actors.IndexSlug, Key: "short-lived", Exclusive: true},
	}}); !errors.Is(err, actors.ErrIndexTaken) {
		t.Fatalf("taking a live slug: %v, want ErrIndexTaken", err)
	}

	// An expired tombstone: the room reads as never stored, its epoch gone with it (as in
	// Redis, where the epoch key expires with the tombstone), so no key outlives a deleted room.
	epoch, state, err := m.Activate(ctx, "r2")
	if err != nil || state != nil || epoch != 0 {
		t.Errorf("Activate(expired tombstone) = %d, %q, %v; want 0, nil, nil", epoch, state, err)
	}
}
