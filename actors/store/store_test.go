package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	roomactor "meetcoord/actors/room"
	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// contractStore is what both stores offer; the suite below holds them to the same contract.
type contractStore interface {
	roomactor.Store
	Ping(ctx context.Context) error
	RoomIDBySlug(ctx context.Context, slug string) (string, bool, error)
	RoomIDByAccess(ctx context.Context, accessID string) (string, bool, error)
	CallbackRoom(ctx context.Context, callbackID string) (string, bool, error)
	RoomsOfUser(ctx context.Context, userID string) ([][]byte, error)
	AccessListsOfRooms(ctx context.Context, roomIDs []string) ([][]byte, error)
	SaveUser(ctx context.Context, userID, email string, record []byte) (bool, error)
	GetUser(ctx context.Context, userID string) ([]byte, bool, error)
}

var (
	_ contractStore = (*store.Memory)(nil)
	_ contractStore = (*store.Redis)(nil)
)

// fixture is one store under test; rdb is the raw Redis client (nil for Memory), for the checks
// only Redis can answer (keys written, TTLs).
type fixture struct {
	s   contractStore
	rdb *redis.Client
}

// eachStore runs the test against a fresh Memory store and a fresh Redis database.
func eachStore(t *testing.T, test func(t *testing.T, f fixture)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		test(t, fixture{s: store.NewMemory()})
	})
	t.Run("redis", func(t *testing.T) {
		r, err := store.NewRedis(servicetest.RedisURL(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		if err := r.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		test(t, fixture{s: r, rdb: r.Client()})
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustSave saves and fails the test on error; it returns the epoch.
func mustSave(t *testing.T, s contractStore, snap roomactor.Snapshot) int64 {
	t.Helper()
	epoch, err := s.Save(ctxT(t), snap)
	if err != nil {
		t.Fatalf("save %s at epoch %d: %v", snap.RoomID, snap.Epoch, err)
	}
	return epoch
}

// activate is Activate as member-1 (the tests of holders use Activate directly).
func activate(s roomactor.Store, ctx context.Context, roomID string) (int64, []byte, error) {
	a, err := s.Activate(ctx, roomID, "member-1")
	return a.Epoch, a.State, err
}

// create stores a room for the first time and returns its epoch (1).
func create(t *testing.T, s contractStore, roomID string, index ...roomactor.IndexOp) int64 {
	t.Helper()
	epoch := mustSave(t, s, roomactor.Snapshot{RoomID: roomID, Epoch: 0, State: []byte("state-of-" + roomID), Index: index})
	if epoch != 1 {
		t.Fatalf("first save of %s returned epoch %d, want 1", roomID, epoch)
	}
	return epoch
}

func (f fixture) dbSize(t *testing.T) int64 {
	t.Helper()
	n, err := f.rdb.DBSize(ctxT(t)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f fixture) pttl(t *testing.T, key string) time.Duration {
	t.Helper()
	d, err := f.rdb.PTTL(ctxT(t), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestActivateUnknownRoomWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		for range 3 {
			epoch, state, err := activate(f.s, ctxT(t), "no-such-room")
			if err != nil || epoch != 0 || state != nil {
				t.Fatalf("Activate(unknown) = %d, %q, %v; want 0, nil, nil", epoch, state, err)
			}
		}
		if f.rdb != nil {
			if n := f.dbSize(t); n != 0 {
				keys, _ := f.rdb.Keys(ctxT(t), "*").Result()
				t.Fatalf("Activate of an unknown room left %d keys: %v", n, keys)
			}
		}
	})
}

func TestFencing(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		const room = "r1"
		// Two activations both found nothing (epoch 0); the first to save wins epoch 1.
		first, err := f.s.Save(ctx, roomactor.Snapshot{RoomID: room, Epoch: 0, State: []byte("v1")})
		if err != nil || first != 1 {
			t.Fatalf("first save = %d, %v; want 1, nil", first, err)
		}
		_, err = f.s.Save(ctx, roomactor.Snapshot{RoomID: room, Epoch: 0, State: []byte("other creator")})
		if !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("second first-save = %v, want ErrFenced", err)
		}
		// The holder of epoch 1 may go on saving.
		if e := mustSave(t, f.s, roomactor.Snapshot{RoomID: room, Epoch: 1, State: []byte("v2")}); e != 1 {
			t.Fatalf("save at epoch 1 returned %d, want 1", e)
		}
		// A new activation fences epoch 1 out.
		epoch, state, err := activate(f.s, ctx, room)
		if err != nil || epoch != 2 || string(state) != "v2" {
			t.Fatalf("Activate = %d, %q, %v; want 2, v2, nil", epoch, state, err)
		}
		_, err = f.s.Save(ctx, roomactor.Snapshot{RoomID: room, Epoch: 1, State: []byte("stale"),
			Index: []roomactor.IndexOp{{Index: roomactor.IndexSlug, Key: "stale-slug"}}})
		if !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("save from epoch 1 after activation 2 = %v, want ErrFenced", err)
		}
		if _, ok, _ := f.s.RoomIDBySlug(ctx, "stale-slug"); ok {
			t.Error("a fenced save applied its index op")
		}
		// Epochs from the future are refused too.
		if _, err := f.s.Save(ctx, roomactor.Snapshot{RoomID: room, Epoch: 3, State: []byte("future")}); !errors.Is(err, roomactor.ErrFenced) {
			t.Fatalf("save from epoch 3 = %v, want ErrFenced", err)
		}
		if e := mustSave(t, f.s, roomactor.Snapshot{RoomID: room, Epoch: 2, State: []byte("v3")}); e != 2 {
			t.Fatalf("save at epoch 2 returned %d, want 2", e)
		}
		epoch, state, err = activate(f.s, ctx, room)
		if err != nil || epoch != 3 || string(state) != "v3" {
			t.Fatalf("Activate = %d, %q, %v; want 3, v3 (the stale saves changed nothing), nil", epoch, state, err)
		}
		// Another room has its own epochs.
		if e := create(t, f.s, "r2"); e != 1 {
			t.Fatalf("other room's first epoch %d", e)
		}
	})
}

// TestEpochReadsWithoutTakingOne: Epoch is the room's newest epoch as Activate and Save leave
// it (0 for a room never stored), and reading it takes no new epoch.
func TestEpochReadsWithoutTakingOne(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		epochIs := func(want int64, when string) {
			t.Helper()
			if got, err := f.s.Epoch(ctx, "r"); err != nil || got != want {
				t.Fatalf("Epoch %s = %d, %v; want %d", when, got, err, want)
			}
		}
		epochIs(0, "of a room never stored")
		create(t, f.s, "r")
		epochIs(1, "after the first save")
		epochIs(1, "read again")
		if epoch, _, err := activate(f.s, ctx, "r"); err != nil || epoch != 2 {
			t.Fatalf("Activate = %d, %v; want 2", epoch, err)
		}
		epochIs(2, "after an activation")
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r", Epoch: 2, State: []byte("v2")})
		epochIs(2, "after a save")
	})
}

// TestHoldersOfARoom: each activation learns the other members that held the room before it,
// newest first, until one of them records that it holds the room alone; a member that let the
// room go is forgotten.
func TestHoldersOfARoom(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		activateAs := func(holder string, want ...string) int64 {
			t.Helper()
			a, err := f.s.Activate(ctx, "r", holder)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Holders, want) {
				t.Fatalf("Activate as %s: holders %q, want %q", holder, a.Holders, want)
			}
			return a.Epoch
		}
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r", Epoch: 0, State: []byte("v1"), Holder: "a"})
		activateAs("b", "a")
		activateAs("c", "b", "a")
		epoch := activateAs("a", "c", "b")
		activateAs("a", "c", "b") // its own earlier activation is not a holder to ask
		if err := f.s.SoleHolder(ctx, "r", epoch, "a"); err != nil {
			t.Fatal(err)
		}
		activateAs("b", "a", "c") // epoch moved on: the stale SoleHolder changed nothing
		epoch = activateAs("c", "b", "a")
		if err := f.s.SoleHolder(ctx, "r", epoch, "c"); err != nil {
			t.Fatal(err)
		}
		epoch = activateAs("b", "c")
		drop := func(epoch int64, holder string) {
			t.Helper()
			if err := f.s.DropHolder(ctx, "r", epoch, holder); err != nil {
				t.Fatal(err)
			}
		}
		drop(epoch-1, "c") // late: from an activation older than the newest, it changes nothing
		epoch = activateAs("a", "b", "c")
		drop(epoch, "c")
		epoch = activateAs("a", "b")
		drop(epoch, "a")
		drop(epoch, "b")
		epoch = activateAs("c")
		// A deleted room's holders expire with its tombstone.
		if f.rdb != nil {
			mustSave(t, f.s, roomactor.Snapshot{RoomID: "r", Epoch: epoch, State: []byte("tombstone"), TTL: time.Hour})
			if ttl := f.pttl(t, "meetcoord:room:r:holders"); ttl <= 0 || ttl > time.Hour {
				t.Fatalf("holders of a deleted room expire in %v, want within the tombstone's hour", ttl)
			}
		}
	})
}

func TestConcurrentFirstSave(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		const n = 20
		errs := make([]error, n)
		epochs := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				epochs[i], errs[i] = f.s.Save(context.Background(), roomactor.Snapshot{
					RoomID: "r", Epoch: 0, State: fmt.Appendf(nil, "creator %d", i),
					Index: []roomactor.IndexOp{{Index: roomactor.IndexCallback, Key: fmt.Sprintf("cb-%d", i)}},
				})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("creators %d and %d both stored the room", winner, i)
				}
				winner = i
				if epochs[i] != 1 {
					t.Errorf("winner got epoch %d, want 1", epochs[i])
				}
			case !errors.Is(err, roomactor.ErrFenced):
				t.Errorf("creator %d: %v, want ErrFenced", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no creator stored the room")
		}
		_, state, _ := activate(f.s, ctxT(t), "r")
		if want := fmt.Sprintf("creator %d", winner); string(state) != want {
			t.Errorf("stored %q, want %q", state, want)
		}
		for i := range n {
			room, ok, err := f.s.CallbackRoom(ctxT(t), fmt.Sprintf("cb-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if ok != (i == winner) || (ok && room != "r") {
				t.Errorf("callback of creator %d: %q, %v (winner %d)", i, room, ok, winner)
			}
		}
	})
}

// Each goroutine activates the room and saves: activations fence each other, so only saves made
// with the newest epoch succeed, and the last writer is the newest activation.
func TestConcurrentActivations(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		create(t, f.s, "r")
		const n = 20
		type result struct {
			activated int64
			saved     int64
			err       error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				ctx := context.Background()
				epoch, state, err := activate(f.s, ctx, "r")
				if err != nil {
					results[i].err = err
					return
				}
				if len(state) == 0 {
					results[i].err = fmt.Errorf("activation %d got no state", epoch)
					return
				}
				results[i].activated = epoch
				results[i].saved, results[i].err = f.s.Save(ctx, roomactor.Snapshot{
					RoomID: "r", Epoch: epoch, State: fmt.Appendf(nil, "epoch %d", epoch),
				})
			})
		}
		close(start)
		wg.Wait()
		var activated []int64
		succeeded := 0
		for i, r := range results {
			if r.activated == 0 {
				t.Fatalf("goroutine %d: activation failed: %v", i, r.err)
			}
			activated = append(activated, r.activated)
			switch {
			case r.err == nil:
				succeeded++
				if r.saved != r.activated {
					t.Errorf("goroutine %d: save returned epoch %d, activated %d", i, r.saved, r.activated)
				}
			case !errors.Is(r.err, roomactor.ErrFenced):
				t.Errorf("goroutine %d: save failed with %v, want ErrFenced", i, r.err)
			}
		}
		slices.Sort(activated)
		for i, e := range activated {
			if want := int64(i + 2); e != want {
				t.Fatalf("activation epochs %v, want 2..%d each once", activated, n+1)
			}
		}
		if succeeded == 0 {
			t.Fatal("no save succeeded (the newest activation must)")
		}
		// The newest activation is never fenced, so it wrote last.
		current, state, err := activate(f.s, ctxT(t), "r")
		if err != nil {
			t.Fatal(err)
		}
		if current != n+2 {
			t.Errorf("next activation epoch %d, want %d", current, n+2)
		}
		if want := fmt.Sprintf("epoch %d", current-1); string(state) != want {
			t.Errorf("final state %q, want %q (written by the newest activation)", state, want)
		}
	})
}

func TestUserRoomsIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		put := func(user, summary string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexUserRooms, Key: user, Summary: []byte(summary)}
		}
		drop := func(user string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexUserRooms, Key: user, Remove: true}
		}
		create(t, f.s, "r1", put("alice", "r1 v1"), put("bob", "r1 v1"))
		create(t, f.s, "r2", put("alice", "r2 v1"))
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("x"),
			Index: []roomactor.IndexOp{put("alice", "r1 v2"), drop("bob"), drop("carol")}})
		tests := []struct {
			user string
			want []string
		}{
			{"alice", []string{"r1 v2", "r2 v1"}},
			{"bob", nil},
			{"carol", nil},
			{"nobody", nil},
		}
		for _, tt := range tests {
			got, err := f.s.RoomsOfUser(ctx, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, b := range got {
				s = append(s, string(b))
			}
			slices.Sort(s)
			if !slices.Equal(s, tt.want) {
				t.Errorf("RoomsOfUser(%s) = %q, want %q", tt.user, s, tt.want)
			}
		}
	})
}

func TestSlugIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		slug := func(s string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexSlug, Key: s, Exclusive: true}
		}
		dropSlug := func(s string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexSlug, Key: s, Remove: true}
		}
		create(t, f.s, "r1", slug("aaa-bbbb-ccc"))
		if id, ok, err := f.s.RoomIDBySlug(ctx, "aaa-bbbb-ccc"); err != nil || !ok || id != "r1" {
			t.Fatalf("RoomIDBySlug = %q, %v, %v; want r1", id, ok, err)
		}
		if _, ok, err := f.s.RoomIDBySlug(ctx, "zzz-zzzz-zzz"); err != nil || ok {
			t.Fatalf("RoomIDBySlug(unknown) ok=%v err=%v", ok, err)
		}
		// The holder may put its own slug again.
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("r1 v2"), Index: []roomactor.IndexOp{slug("aaa-bbbb-ccc")}})

		// A second room creating the same slug: the whole save fails and writes nothing, not
		// even its epoch.
		var keysBefore int64
		if f.rdb != nil {
			keysBefore = f.dbSize(t)
		}
		_, err := f.s.Save(ctx, roomactor.Snapshot{RoomID: "r2", Epoch: 0, State: []byte("r2"), Index: []roomactor.IndexOp{
			{Index: roomactor.IndexUserRooms, Key: "alice", Summary: []byte("r2")},
			{Index: roomactor.IndexAccess, Key: "acc-r2"},
			{Index: roomactor.IndexCallback, Key: "cb-r2", TTL: time.Minute},
			slug("aaa-bbbb-ccc"),
		}})
		if !errors.Is(err, roomactor.ErrIndexTaken) {
			t.Fatalf("save with a taken slug = %v, want ErrIndexTaken", err)
		}
		// The error names the entry, so that the room can tell a client's slug from a random one.
		var taken *roomactor.IndexTakenError
		if !errors.As(err, &taken) || taken.Index != roomactor.IndexSlug || taken.Key != "aaa-bbbb-ccc" {
			t.Errorf("save with a taken slug = %v, want an IndexTakenError on slug aaa-bbbb-ccc", err)
		}
		if epoch, state, err := activate(f.s, ctx, "r2"); err != nil || epoch != 0 || state != nil {
			t.Errorf("after the refused creation, Activate(r2) = %d, %q, %v; want 0, nil", epoch, state, err)
		}
		if rooms, _ := f.s.RoomsOfUser(ctx, "alice"); len(rooms) != 0 {
			t.Errorf("refused save indexed user rooms %q", rooms)
		}
		if _, ok, _ := f.s.RoomIDByAccess(ctx, "acc-r2"); ok {
			t.Error("refused save indexed an access")
		}
		if _, ok, _ := f.s.CallbackRoom(ctx, "cb-r2"); ok {
			t.Error("refused save indexed a callback")
		}
		if f.rdb != nil {
			if n := f.dbSize(t); n != keysBefore {
				t.Errorf("refused save changed the key count from %d to %d", keysBefore, n)
			}
		}
		// Same for a stored room's later save: its state stays as it was.
		create(t, f.s, "r3", slug("r3-slug"))
		_, err = f.s.Save(ctx, roomactor.Snapshot{RoomID: "r3", Epoch: 1, State: []byte("r3 v2"), Index: []roomactor.IndexOp{
			dropSlug("r3-slug"), slug("aaa-bbbb-ccc"),
		}})
		if !errors.Is(err, roomactor.ErrIndexTaken) {
			t.Fatalf("save with a taken slug = %v, want ErrIndexTaken", err)
		}
		if id, ok, _ := f.s.RoomIDBySlug(ctx, "r3-slug"); !ok || id != "r3" {
			t.Errorf("refused save removed r3's slug (%q, %v)", id, ok)
		}
		if epoch, state, _ := activate(f.s, ctx, "r3"); epoch != 2 || string(state) != "state-of-r3" {
			t.Errorf("after the refused save, Activate(r3) = %d, %q; want 2, state-of-r3", epoch, state)
		}
		if id, _, _ := f.s.RoomIDBySlug(ctx, "aaa-bbbb-ccc"); id != "r1" {
			t.Errorf("slug now points to %q, want r1", id)
		}

		// Removing a slug only deletes it when it points to the saving room.
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r3", Epoch: 2, State: []byte("r3 v3"), Index: []roomactor.IndexOp{dropSlug("aaa-bbbb-ccc")}})
		if id, ok, _ := f.s.RoomIDBySlug(ctx, "aaa-bbbb-ccc"); !ok || id != "r1" {
			t.Errorf("r3 removed r1's slug (%q, %v)", id, ok)
		}
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("r1 deleted"), Index: []roomactor.IndexOp{dropSlug("aaa-bbbb-ccc")}})
		if _, ok, _ := f.s.RoomIDBySlug(ctx, "aaa-bbbb-ccc"); ok {
			t.Error("r1's slug still there after r1 removed it")
		}
		// Freed, the slug can be taken by another room.
		create(t, f.s, "r4", slug("aaa-bbbb-ccc"))
		if id, _, _ := f.s.RoomIDBySlug(ctx, "aaa-bbbb-ccc"); id != "r4" {
			t.Errorf("slug points to %q, want r4", id)
		}
	})
}

func TestAccessIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		acc := func(id string, remove bool) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexAccess, Key: id, Remove: remove}
		}
		create(t, f.s, "r1", acc("a1", false), acc("a2", false))
		create(t, f.s, "r2", acc("b1", false))
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("x"), Index: []roomactor.IndexOp{acc("a2", true), acc("b1", true)}})
		tests := []struct {
			access string
			room   string // "" = absent
		}{
			{"a1", "r1"},
			{"a2", ""},
			{"b1", "r2"}, // r1 cannot remove r2's pointer
			{"unknown", ""},
		}
		for _, tt := range tests {
			id, ok, err := f.s.RoomIDByAccess(ctx, tt.access)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.room != "") || id != tt.room {
				t.Errorf("RoomIDByAccess(%s) = %q, %v; want %q", tt.access, id, ok, tt.room)
			}
		}
	})
}

func TestRoomAccessesIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		put := func(room, list string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexRoomAccesses, Key: room, Summary: []byte(list)}
		}
		drop := func(room string) roomactor.IndexOp {
			return roomactor.IndexOp{Index: roomactor.IndexRoomAccesses, Key: room, Remove: true}
		}
		create(t, f.s, "r1", put("r1", "r1 v1"))
		create(t, f.s, "r2", put("r2", "r2 v1"))
		create(t, f.s, "r3", put("r3", "r3 v1"))
		create(t, f.s, "old") // stored before the index: no entry
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("x"), Index: []roomactor.IndexOp{put("r1", "r1 v2")}})
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r3", Epoch: 1, State: []byte("x"), TTL: time.Hour, Index: []roomactor.IndexOp{drop("r3")}})
		tests := []struct {
			rooms []string
			want  []string // "" = no entry
		}{
			{[]string{"r1", "r2", "r3", "old", "unknown"}, []string{"r1 v2", "r2 v1", "", "", ""}},
			{[]string{"r2", "r1"}, []string{"r2 v1", "r1 v2"}},
			{nil, nil},
		}
		for _, tt := range tests {
			got, err := f.s.AccessListsOfRooms(ctx, tt.rooms)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.rooms) {
				t.Errorf("AccessListsOfRooms(%q): %d entries", tt.rooms, len(got))
				continue
			}
			var s []string
			for i, b := range got {
				if (b == nil) != (tt.want[i] == "") {
					t.Errorf("AccessListsOfRooms(%q)[%d] = %q, want %q", tt.rooms, i, b, tt.want[i])
				}
				s = append(s, string(b))
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("AccessListsOfRooms(%q) = %q, want %q", tt.rooms, s, tt.want)
			}
		}
	})
}

func TestCallbackIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		const ttl = 10 * time.Minute
		create(t, f.s, "r1", roomactor.IndexOp{Index: roomactor.IndexCallback, Key: "cb1", TTL: ttl})
		if id, ok, err := f.s.CallbackRoom(ctx, "cb1"); err != nil || !ok || id != "r1" {
			t.Fatalf("CallbackRoom = %q, %v, %v; want r1", id, ok, err)
		}
		if _, ok, err := f.s.CallbackRoom(ctx, "cb-unknown"); err != nil || ok {
			t.Fatalf("CallbackRoom(unknown) ok=%v err=%v", ok, err)
		}
		if f.rdb != nil {
			if d := f.pttl(t, "meetcoord:callback:cb1"); d <= 0 || d > ttl {
				t.Errorf("callback PTTL %v, want in (0, %v]", d, ttl)
			}
		}
		// Expiry itself: see memory_expiry_test.go (Memory's clock) and the PTTL above (Redis).
	})
}

func TestSnapshotTTL(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		create(t, f.s, "r1")
		if f.rdb != nil {
			if d := f.pttl(t, "meetcoord:room:r1:state"); d != -1 {
				t.Errorf("live room state PTTL %v, want none (-1ms)", d)
			}
		}
		const ttl = 24 * time.Hour
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 1, State: []byte("tombstone"), TTL: ttl})
		// Until it expires, the tombstone is the room's state.
		if epoch, state, err := activate(f.s, ctx, "r1"); err != nil || epoch != 2 || string(state) != "tombstone" {
			t.Errorf("Activate = %d, %q, %v; want 2, tombstone", epoch, state, err)
		}
		if f.rdb != nil {
			if d := f.pttl(t, "meetcoord:room:r1:state"); d <= 0 || d > ttl {
				t.Errorf("tombstone PTTL %v, want in (0, %v]", d, ttl)
			}
			// The epoch expires with the tombstone: a deleted room leaves no key behind.
			if d := f.pttl(t, "meetcoord:room:r1:epoch"); d <= 0 || d > ttl {
				t.Errorf("epoch PTTL with a tombstone %v, want in (0, %v]", d, ttl)
			}
		}
		// A later save without TTL makes the state permanent again.
		mustSave(t, f.s, roomactor.Snapshot{RoomID: "r1", Epoch: 2, State: []byte("revived")})
		if f.rdb != nil {
			if d := f.pttl(t, "meetcoord:room:r1:state"); d != -1 {
				t.Errorf("state PTTL after a save without TTL %v, want none", d)
			}
			if d := f.pttl(t, "meetcoord:room:r1:epoch"); d != -1 {
				t.Errorf("epoch PTTL after a save without TTL %v, want none", d)
			}
		}
	})
}

func TestUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		tests := []struct {
			name   string
			put    map[string][]byte
			get    string
			want   []byte
			wantOK bool
		}{
			{"round trip", map[string][]byte{"u1": []byte("record 1")}, "u1", []byte("record 1"), true},
			{"binary record", map[string][]byte{"u2": {0, 1, 2, 0xff}}, "u2", []byte{0, 1, 2, 0xff}, true},
			{"overwrite", map[string][]byte{"u3": []byte("new")}, "u3", []byte("new"), true},
			{"unknown user", nil, "nobody", nil, false},
		}
		if _, err := f.s.SaveUser(ctx, "u3", "u3@example.org", []byte("old")); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			for id, rec := range tt.put {
				if _, err := f.s.SaveUser(ctx, id, id+"@example.org", rec); err != nil {
					t.Fatalf("%s: SaveUser: %v", tt.name, err)
				}
			}
			got, ok, err := f.s.GetUser(ctx, tt.get)
			if err != nil {
				t.Fatalf("%s: GetUser: %v", tt.name, err)
			}
			if ok != tt.wantOK || (ok && !bytes.Equal(got, tt.want)) {
				t.Errorf("%s: GetUser(%s) = %q, %v; want %q, %v", tt.name, tt.get, got, ok, tt.want, tt.wantOK)
			}
		}
	})
}

// Stored bytes are the store's own: changing the caller's slices afterwards changes nothing.
func TestStoredBytesAreCopied(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		state := []byte("state")
		summary := []byte("summary")
		create0 := roomactor.Snapshot{RoomID: "r", State: state,
			Index: []roomactor.IndexOp{{Index: roomactor.IndexUserRooms, Key: "u", Summary: summary}}}
		if _, err := f.s.Save(ctx, create0); err != nil {
			t.Fatal(err)
		}
		copy(state, "XXXXX")
		copy(summary, "XXXXXXX")
		_, got, _ := activate(f.s, ctx, "r")
		if string(got) != "state" {
			t.Errorf("state %q, want %q", got, "state")
		}
		got[0] = 'Y'
		_, again, _ := activate(f.s, ctx, "r")
		if string(again) != "state" {
			t.Errorf("state %q after the caller changed a loaded copy", again)
		}
		rooms, _ := f.s.RoomsOfUser(ctx, "u")
		if len(rooms) != 1 || string(rooms[0]) != "summary" {
			t.Errorf("summaries %q, want [summary]", rooms)
		}
	})
}
