package gateway_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestLiveKitSlowOrDown: a LiveKit call in flight never blocks the room's lobby; a refused or
// unanswered egress start is a 502 with the recording failed_to_start; nothing waits longer
// than the LiveKit call timeout.
func TestLiveKitSlowOrDown(t *testing.T) {
	// The egress stand-in holds the start call for 3 s, beyond our 1 s call timeout.
	n, lk, egress := servicetest.StartNodeWithEgress(t, map[string]string{"RECORDING_ENABLE": "true", "LIVEKIT_API_TIMEOUT": "1"})
	release := make(chan struct{})
	egress.BeforeStartReturns = func(*livekit.EgressInfo) {
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
	}
	defer close(release)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.CreateRoom(map[string]any{"name": "Fragile", "access_level": "restricted"}).ID
	guest := n.Client("")
	if got := entryStatus(t, guest, roomID); got != "waiting" {
		t.Fatalf("knock: %s", got)
	}

	startRecording := func() (servicetest.Response, time.Duration) {
		start := time.Now()
		res := owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "start-recording"), map[string]any{"mode": "screen_recording"})
		return res, time.Since(start)
	}
	var wg sync.WaitGroup
	var slow servicetest.Response
	var slowTook time.Duration
	var startReturned atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		slow, slowTook = startRecording()
		startReturned.Store(true)
	}()
	// While the start call hangs on LiveKit, the lobby answers. Counted: polls answered before
	// the start call returned. A lobby blocked behind the call would answer at most the one poll
	// queued behind it before the call ends; no rate is asserted (the machine may be loaded).
	answeredDuring := 0
	for !startReturned.Load() {
		if got := entryStatus(t, guest, roomID); got != "waiting" {
			t.Fatalf("poll during a LiveKit call: %s", got)
		}
		if !startReturned.Load() {
			answeredDuring++
		}
	}
	wg.Wait()
	if slow.Status != http.StatusBadGateway {
		t.Fatalf("start with an unanswering egress: %d %s, want 502", slow.Status, slow.Body)
	}
	if slowTook > 5*time.Second {
		t.Fatalf("start took %v with a 1 s LiveKit timeout", slowTook)
	}
	t.Logf("%d lobby polls answered while the start call hung; the start answered 502 after %v", answeredDuring, slowTook)
	if answeredDuring < 3 {
		t.Fatalf("only %d polls answered while a LiveKit call was in flight: the lobby was blocked", answeredDuring)
	}
	list := owner.Do(http.MethodGet, servicetest.Path("recordings"), nil).JSON()["results"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["status"] != "failed_to_start" {
		t.Fatalf("recordings after a failed start: %v", list)
	}

	// LiveKit stops altogether.
	lk.Stop()
	egress.BeforeStartReturns = nil
	egress.FailStart = twirp.NewError(twirp.Unavailable, "livekit is down")
	res, took := startRecording()
	if res.Status != http.StatusBadGateway || took > 5*time.Second {
		t.Fatalf("start with LiveKit down: %d after %v, want 502 within the call timeout", res.Status, took)
	}
	if got := entryStatus(t, guest, roomID); got != "waiting" {
		t.Fatalf("lobby with LiveKit down: %s", got)
	}
	guestID, _ := guest.Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": "Guest"}).JSON()["id"].(string)
	admit := owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"), map[string]any{"participant_id": guestID, "allow_entry": true})
	if admit.Status != http.StatusOK || entryStatus(t, guest, roomID) != "accepted" {
		t.Fatalf("admission with LiveKit down: %d %s", admit.Status, admit.Body)
	}
	res = owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "remove-participant"), map[string]any{"participant_identity": "someone"})
	if res.Status != http.StatusBadGateway {
		t.Fatalf("moderation with LiveKit down: %d %s, want 502", res.Status, res.Body)
	}
}
