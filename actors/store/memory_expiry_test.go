package store

import (
	"context"
	"errors"
	"testing"
	"time"

	roomactor "meetcoord/actors/room"
)

// Expiry can only be driven in Memory, whose clock is a field; Redis TTLs are checked with PTTL
// in store_test.go.
func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_760_000_000_000)
	m := NewMemory()
	m.now = func() time.Time { return now }

	save := func(s roomactor.Snapshot) (int64, error) { return m.Save(ctx, s) }
	const minute = time.Minute
	if _, err := save(roomactor.Snapshot{RoomID: "r1", State: []byte("r1"), Index: []roomactor.IndexOp{
		{Index: roomactor.IndexCallback, Key: "cb1", TTL: minute},
		{Index: roomactor.IndexSlug, Key: "short-lived", TTL: minute, Exclusive: true},
		{Index: roomactor.IndexAccess, Key: "acc1"}, // no TTL: never expires
	}}); err != nil {
		t.Fatal(err)
	}
	// Tombstone of a deleted room.
	if _, err := save(roomactor.Snapshot{RoomID: "r2", State: []byte("tombstone"), TTL: 2 * minute}); err != nil {
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
		// The epoch goes with the tombstone, as the Redis key's TTL takes it.
		if epoch, err := m.Epoch(ctx, "r2"); err != nil || (epoch == 1) != tt.tombstoneSet || (epoch != 0 && epoch != 1) {
			t.Errorf("+%v: tombstoned room's epoch %d, %v; want 1 while the tombstone lasts, then 0", tt.at, epoch, err)
		}
	}

	// An expired exclusive pointer no longer blocks another room.
	if _, err := save(roomactor.Snapshot{RoomID: "r3", State: []byte("r3"), Index: []roomactor.IndexOp{
		{Index: roomactor.IndexSlug, Key: "short-lived", Exclusive: true},
	}}); err != nil {
		t.Fatalf("taking an expired slug: %v", err)
	}
	// ...while a live one does.
	if _, err := save(roomactor.Snapshot{RoomID: "r4", State: []byte("r4"), Index: []roomactor.IndexOp{
		{Index: roomactor.IndexSlug, Key: "short-lived", Exclusive: true},
	}}); !errors.Is(err, roomactor.ErrIndexTaken) {
		t.Fatalf("taking a live slug: %v, want ErrIndexTaken", err)
	}

	// An expired tombstone: the room reads as never stored, its epoch gone with it (as in
	// Redis, where the epoch key expires with the tombstone), so no key outlives a deleted room.
	a, err := m.Activate(ctx, "r2", "member-1")
	if err != nil || a.State != nil || a.Epoch != 0 || a.Holders != nil {
		t.Errorf("Activate(expired tombstone) = %+v, %v; want epoch 0, no state, no holders", a, err)
	}
}

// TestMemoryLobbyExpiry: the stored lobby expires as a whole, TTL after its last write, as the
// Redis hash does with PEXPIRE.
func TestMemoryLobbyExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_760_000_000_000)
	m := NewMemory()
	m.now = func() time.Time { return now }
	if _, err := m.Save(ctx, roomactor.Snapshot{RoomID: "r1", State: []byte("r1")}); err != nil {
		t.Fatal(err)
	}
	put := func(id string, ttl time.Duration) {
		t.Helper()
		change := roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{{ParticipantID: id, Record: []byte(id)}}, TTL: ttl}
		if err := m.SaveLobbyEntries(ctx, "r1", 1, change); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		records, err := m.LobbyEntries(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		return len(records)
	}
	base := now
	put("a", time.Hour)
	put("b", time.Minute) // the room says the longest life left is now a minute
	tests := []struct {
		at   time.Duration
		want int
	}{
		{0, 2},
		{time.Minute - time.Millisecond, 2},
		{time.Minute, 0},
	}
	for _, tt := range tests {
		now = base.Add(tt.at)
		if got := count(); got != tt.want {
			t.Errorf("+%v: %d stored entries, want %d", tt.at, got, tt.want)
		}
	}
	// An expired lobby is not revived by the next write: it starts afresh.
	put("c", time.Minute)
	if got := count(); got != 1 {
		t.Errorf("after a write to an expired lobby: %d entries, want 1", got)
	}
}
