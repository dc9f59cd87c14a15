package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	roomactor "meetcoord/actors/room"
	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Saves of many rooms at once share pipelines (group commit): each caller still gets its own
// outcome, a fenced save among good ones is refused alone, and what each room stored is its own
// last state.
func TestConcurrentSavesKeepTheirOwnOutcome(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		const rooms, saves = 200, 5
		var wg sync.WaitGroup
		errs := make(chan error, rooms*2)
		for i := range rooms {
			wg.Go(func() {
				room := fmt.Sprintf("batch-room-%d", i)
				epoch, err := f.s.Save(ctxT(t), roomactor.Snapshot{RoomID: room, State: []byte("v0")})
				if err != nil || epoch != 1 {
					errs <- fmt.Errorf("%s: first save = %d, %v", room, epoch, err)
					return
				}
				for v := 1; v < saves; v++ {
					if _, err := f.s.Save(ctxT(t), roomactor.Snapshot{RoomID: room, Epoch: 1, State: fmt.Appendf(nil, "v%d", v)}); err != nil {
						errs <- fmt.Errorf("%s: save v%d: %v", room, v, err)
						return
					}
					// A stale activation's save, interleaved: refused, and the room unchanged.
					if _, err := f.s.Save(ctxT(t), roomactor.Snapshot{RoomID: room, Epoch: 7, State: []byte("stale")}); !errors.Is(err, roomactor.ErrFenced) {
						errs <- fmt.Errorf("%s: stale save = %v, want ErrFenced", room, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i := range rooms {
			room := fmt.Sprintf("batch-room-%d", i)
			epoch, state, err := activate(f.s, ctxT(t), room)
			if want := fmt.Sprintf("v%d", saves-1); err != nil || epoch != 2 || string(state) != want {
				t.Fatalf("%s: Activate = %d, %q, %v; want 2, %q", room, epoch, state, err, want)
			}
		}
	})
}

// After Redis forgets its scripts (SCRIPT FLUSH, as after a restart), batched saves load them
// again instead of failing.
func TestSaveAfterScriptsFlushed(t *testing.T) {
	r, err := store.NewRedis(servicetest.RedisURL(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	create(t, r, "flushed-room")
	if err := r.Client().ScriptFlush(ctxT(t)).Err(); err != nil {
		t.Fatal(err)
	}
	if epoch, err := r.Save(ctxT(t), roomactor.Snapshot{RoomID: "flushed-room", Epoch: 1, State: []byte("after flush")}); err != nil || epoch != 1 {
		t.Fatalf("save after SCRIPT FLUSH = %d, %v; want 1, nil", epoch, err)
	}
	if err := r.Client().ScriptFlush(ctxT(t)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveLobbyEntries(ctxT(t), "flushed-room", 1, roomactor.LobbyChange{}); err != nil {
		t.Fatalf("lobby save after SCRIPT FLUSH: %v", err)
	}
	_, state, err := activate(r, ctxT(t), "flushed-room")
	if err != nil || string(state) != "after flush" {
		t.Fatalf("Activate = %q, %v", state, err)
	}
}
