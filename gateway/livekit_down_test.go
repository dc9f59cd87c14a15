package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
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
	egress.SetBeforeStartReturns(func(*livekit.EgressInfo) {
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
	})
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
	egress.SetBeforeStartReturns(nil)
	egress.SetFailStart(twirp.NewError(twirp.Unavailable, "livekit is down"))
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

// TestLiveKitDownCatchesUp: with livekit-server stopped, the lobby, room creation, room reads
// and accesses work; a recording start answers 502 within LIVEKIT_API_TIMEOUT; what a room owes
// LiveKit meanwhile (its configuration's metadata) reaches it once it is back on the same
// address, by reconciliation, and its SIP dispatch rule is the room's own (its PIN).
func TestLiveKitDownCatchesUp(t *testing.T) {
	const liveKitTimeout = 2 * time.Second
	n, lk := servicetest.StartNodeWithLiveKit(t, map[string]string{
		"ROOM_TELEPHONY_ENABLED": "true", "ROOM_RECONCILE_INTERVAL": "1",
		"LIVEKIT_API_TIMEOUT": "2", "RECORDING_ENABLE": "true",
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	// Room B changes its configuration while LiveKit is down: its metadata must follow.
	roomB := owner.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Reconfigured"), "access_level": "public"}).ID
	joinPublicRoom(t, n, lk, roomB, 1)
	servicetest.Eventually(t, 30*time.Second, "a SIP dispatch rule for the room", func() bool {
		return len(sipRules(t, lk, roomB)) == 1
	})

	lk.Stop()
	// The lobby, creation, reads and accesses do without LiveKit.
	restricted := owner.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Offline"), "access_level": "restricted"}).ID
	guest := n.Client("")
	if got := entryStatus(t, guest, restricted); got != "waiting" {
		t.Fatalf("knock with LiveKit down: %s", got)
	}
	guestID, _ := guest.Do(http.MethodPost, servicetest.Path("rooms", restricted, "request-entry"), map[string]any{"username": "Guest"}).JSON()["id"].(string)
	if res := owner.Do(http.MethodPost, servicetest.Path("rooms", restricted, "enter"), map[string]any{"participant_id": guestID, "allow_entry": true}); res.Status != http.StatusOK {
		t.Fatalf("admission with LiveKit down: %d %s", res.Status, res.Body)
	}
	if got := entryStatus(t, guest, restricted); got != "accepted" {
		t.Fatalf("poll after admission with LiveKit down: %s", got)
	}
	for _, path := range []string{servicetest.Path("rooms", roomB), servicetest.Path("rooms"), servicetest.Path("resource-accesses")} {
		if res := owner.Do(http.MethodGet, path, nil); res.Status != http.StatusOK {
			t.Fatalf("GET %s with LiveKit down: %d %s", path, res.Status, res.Body)
		}
	}
	member := n.NewUser("member")
	if res := owner.Do(http.MethodPost, servicetest.Path("resource-accesses"), map[string]any{"user": member.ID, "resource": roomB, "role": "member"}); res.Status != http.StatusCreated {
		t.Fatalf("access grant with LiveKit down: %d %s", res.Status, res.Body)
	}
	// A recording cannot start: 502, within the LiveKit call timeout.
	start := time.Now()
	res := owner.Do(http.MethodPost, servicetest.Path("rooms", roomB, "start-recording"), map[string]any{"mode": "screen_recording"})
	startTook := time.Since(start)
	if res.Status != http.StatusBadGateway {
		t.Fatalf("start-recording with LiveKit down: %d %s, want 502", res.Status, res.Body)
	}
	if startTook > liveKitTimeout+3*time.Second {
		t.Fatalf("start-recording answered after %v with a %v LiveKit timeout", startTook, liveKitTimeout)
	}
	// What the room owes LiveKit: its configuration, in the metadata.
	configuration := map[string]any{"can_publish_sources": []string{"camera"}, "everyone_can_mute": true}
	if res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomB), map[string]any{"configuration": configuration}); res.Status != http.StatusOK {
		t.Fatalf("configuration with LiveKit down: %d %s", res.Status, res.Body)
	}

	lk.Restart()
	// Room B's meeting goes on (its participant connects again); LiveKit gets what it missed.
	// A restarted livekit-server may refuse the first signal connections: the join is retried.
	servicetest.Eventually(t, 60*time.Second, "a participant to join room B again", func() bool {
		token := n.Client("").Do(http.MethodGet, servicetest.Path("rooms", roomB)+"?username=Back", nil).JSON()["livekit"].(map[string]any)["token"].(string)
		p, err := lksdk.ConnectToRoomWithToken(lk.WSURL, token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false))
		if err != nil {
			return false
		}
		t.Cleanup(p.Disconnect)
		return true
	})
	rooms := lksdk.NewRoomServiceClient(lk.URL, lk.Key, lk.Secret)
	metadataOfB := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := rooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{roomB}})
		if err != nil || len(list.GetRooms()) != 1 {
			return ""
		}
		return list.GetRooms()[0].GetMetadata()
	}
	metadataCaughtUp := func() bool {
		var meta struct {
			Configuration struct {
				Sources []string `json:"can_publish_sources"`
				Mute    bool     `json:"everyone_can_mute"`
			} `json:"configuration"`
		}
		return json.Unmarshal([]byte(metadataOfB()), &meta) == nil && meta.Configuration.Mute &&
			slices.Equal(meta.Configuration.Sources, []string{"camera"})
	}
	pinOfB, _ := owner.Do(http.MethodGet, servicetest.Path("rooms", roomB), nil).JSON()["pin_code"].(string)
	tick := reconcileTicks(n, time.Second)
	back := time.Now()
	var seen string // what LiveKit held at the last look, told if it never catches up
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("LiveKit at the last look: %s", seen)
		}
	})
	servicetest.Eventually(t, 90*time.Second, "LiveKit's metadata and SIP rules to catch up", func() bool {
		tick()
		rulesB := sipRules(t, lk, roomB)
		seen = fmt.Sprintf("metadata %q, rules %v (PIN %s)", metadataOfB(), rulesB, pinOfB)
		return metadataCaughtUp() && len(rulesB) == 1 &&
			rulesB[0].GetRule().GetDispatchRuleDirect().GetPin() == pinOfB
	})
	t.Logf("start-recording with LiveKit down: 502 after %v; LiveKit caught up %v after it was back (metadata %s)",
		startTook.Round(time.Millisecond), time.Since(back).Round(time.Millisecond), metadataOfB())
}
