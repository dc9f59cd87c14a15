package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	roomactor "meetcoord/actors/room"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// lobbyPut is a stored lobby entry whose record is its own text, enough for the store (which
// keeps records as opaque bytes).
func lobbyPut(id string) roomactor.LobbyEntryPut {
	return roomactor.LobbyEntryPut{ParticipantID: id, Record: []byte("record-of-" + id)}
}

// storedLobby is the room's stored lobby records, sorted.
func storedLobby(t *testing.T, f fixture, roomID string) []string {
	t.Helper()
	records, err := f.s.LobbyEntries(ctxT(t), roomID)
	if err != nil {
		t.Fatalf("LobbyEntries(%s): %v", roomID, err)
	}
	out := make([]string, 0, len(records))
	for _, r := range records {
		out = append(out, string(r))
	}
	slices.Sort(out)
	return out
}

func wantLobby(t *testing.T, f fixture, roomID string, ids ...string) {
	t.Helper()
	want := make([]string, 0, len(ids))
	for _, id := range ids {
		want = append(want, "record-of-"+id)
	}
	slices.Sort(want)
	if got := storedLobby(t, f, roomID); !slices.Equal(got, want) {
		t.Fatalf("stored lobby of %s = %q, want %q", roomID, got, want)
	}
}

// TestLobbyEntriesWrittenOneByOne: entries are put and removed one by one, apart from the
// snapshot, which stays as it was.
func TestLobbyEntriesWrittenOneByOne(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		epoch := create(t, f.s, "r1")
		wantLobby(t, f, "r1")
		steps := []struct {
			name   string
			change roomactor.LobbyChange
			want   []string
		}{
			{"a knock puts one entry", roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("a")}, TTL: time.Hour}, []string{"a"}},
			{"another knock adds one", roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("b")}, TTL: time.Hour}, []string{"a", "b"}},
			{"a removal with a put", roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("c")}, Remove: []string{"a"}, TTL: time.Hour}, []string{"b", "c"}},
			{"removing an unknown entry is no error", roomactor.LobbyChange{Remove: []string{"zz"}, TTL: time.Hour}, []string{"b", "c"}},
			{"TTL 0: nothing is left", roomactor.LobbyChange{Remove: []string{"b"}}, nil},
		}
		for _, s := range steps {
			if err := f.s.SaveLobbyEntries(ctx, "r1", epoch, s.change); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			wantLobby(t, f, "r1", s.want...)
		}
		if _, state, err := activate(f.s, ctx, "r1"); err != nil || string(state) != "state-of-r1" {
			t.Fatalf("Activate = %q, %v; the snapshot must be left as it was", state, err)
		}
		if f.rdb != nil {
			if n, _ := f.rdb.Exists(ctx, "meetcoord:room:r1:lobby").Result(); n != 0 {
				t.Error("an emptied lobby left its hash behind")
			}
		}
	})
}

// TestLobbyEntriesFencing: a stale activation's lobby write is refused like its snapshot writes,
// whether alone or with a snapshot.
func TestLobbyEntriesFencing(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		create(t, f.s, "r1")
		if err := f.s.SaveLobbyEntries(ctx, "r1", 1, roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("a")}, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if epoch, _, err := activate(f.s, ctx, "r1"); err != nil || epoch != 2 {
			t.Fatalf("Activate = %d, %v; want 2", epoch, err)
		}
		stale := roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("stale")}, Remove: []string{"a"}, TTL: time.Hour}
		if err := f.s.SaveLobbyEntries(ctx, "r1", 1, stale); !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("lobby write from epoch 1 after activation 2 = %v, want ErrFenced", err)
		}
		if _, err := f.s.Save(ctx, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("stale"), Lobby: &stale}); !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("snapshot with lobby from epoch 1 = %v, want ErrFenced", err)
		}
		if err := f.s.SaveLobbyEntries(ctx, "r1", 3, stale); !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("lobby write from epoch 3 = %v, want ErrFenced", err)
		}
		if err := f.s.SaveLobbyEntries(ctx, "never-stored", 0, stale); err == nil {
			t.Fatal("lobby write for a room never stored succeeded")
		}
		wantLobby(t, f, "r1", "a")
		wantLobby(t, f, "never-stored")
		// The current activation writes, with its snapshot too.
		current := roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("b")}, TTL: time.Hour}
		if e := mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 2, State: []byte("v2"), Lobby: &current}); e != 2 {
			t.Fatalf("save at epoch 2 returned %d", e)
		}
		wantLobby(t, f, "r1", "a", "b")
	})
}

// TestLobbyEntriesGoWithTheRoom: deleting a room (a tombstone) or clearing its lobby with a
// snapshot removes every entry in the same write.
func TestLobbyEntriesGoWithTheRoom(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		for _, room := range []string{"finished", "deleted"} {
			create(t, f.s, room)
			if err := f.s.SaveLobbyEntries(ctx, room, 1, roomactor.LobbyChange{
				Put: []roomactor.LobbyEntryPut{lobbyPut("a"), lobbyPut("b")}, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}
		// The LiveKit room finished: the snapshot says so and the lobby is cleared (TTL 0).
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "finished", Epoch: 1, State: []byte("not live"), Lobby: &roomactor.LobbyChange{}})
		wantLobby(t, f, "finished")
		// A tombstone takes the lobby with it even when the change does not say so.
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "deleted", Epoch: 1, State: []byte("tombstone"), TTL: time.Hour})
		wantLobby(t, f, "deleted")
		// A snapshot without a lobby change leaves the entries alone.
		create(t, f.s, "kept")
		if err := f.s.SaveLobbyEntries(ctx, "kept", 1, roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut("a")}, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "kept", Epoch: 1, State: []byte("v2")})
		wantLobby(t, f, "kept", "a")
		if f.rdb != nil {
			keys, _ := f.rdb.Keys(ctx, "meetcoord:room:*:lobby").Result()
			if !slices.Equal(keys, []string{"meetcoord:room:kept:lobby"}) {
				t.Errorf("lobby hashes left: %v, want only kept's", keys)
			}
		}
	})
}

// TestLobbyEntriesExpire: the stored lobby expires as a whole, TTL after its last write.
func TestLobbyEntriesExpire(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		if f.rdb == nil {
			t.Skip("Memory's expiry is driven by its clock in memory_expiry_test.go")
		}
		ctx := ctxT(t)
		create(t, f.s, "r1")
		put := func(id string, ttl time.Duration) {
			t.Helper()
			if err := f.s.SaveLobbyEntries(ctx, "r1", 1, roomactor.LobbyChange{Put: []roomactor.LobbyEntryPut{lobbyPut(id)}, TTL: ttl}); err != nil {
				t.Fatal(err)
			}
		}
		put("a", time.Hour)
		if d := f.pttl(t, "meetcoord:room:r1:lobby"); d <= 59*time.Minute || d > time.Hour {
			t.Errorf("lobby PTTL %v, want about 1h", d)
		}
		// Each write sets the expiry the room computed: the longest life left to an entry.
		put("b", 10*time.Minute)
		if d := f.pttl(t, "meetcoord:room:r1:lobby"); d <= 9*time.Minute || d > 10*time.Minute {
			t.Errorf("lobby PTTL %v, want about 10m", d)
		}
		put("c", 50*time.Millisecond)
		servicetest.Eventually(t, 10*time.Second, "the lobby to expire", func() bool { return len(storedLobby(t, f, "r1")) == 0 })
	})
}
