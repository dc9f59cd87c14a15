package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// sipRules lists the SIP dispatch rules of a room on the real LiveKit server.
func sipRules(t *testing.T, lk *servicetest.LiveKitServer, roomID string) []*livekit.SIPDispatchRuleInfo {
	t.Helper()
	rules, err := listSIPRules(lk, roomID)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// listSIPRules is sipRules for a goroutine other than the test's (which must not call Fatal).
func listSIPRules(lk *servicetest.LiveKitServer, roomID string) ([]*livekit.SIPDispatchRuleInfo, error) {
	client := lksdk.NewSIPClient(lk.URL, lk.Key, lk.Secret)
	res, err := client.ListSIPDispatchRule(context.Background(), &livekit.ListSIPDispatchRuleRequest{})
	if err != nil {
		return nil, fmt.Errorf("list sip dispatch rules: %w", err)
	}
	var out []*livekit.SIPDispatchRuleInfo
	for _, r := range res.GetItems() {
		if r.GetName() == "SIP_"+roomID {
			out = append(out, r)
		}
	}
	return out, nil
}

// joinPublicRoom joins n anonymous WebRTC participants at once, each with the token the API
// gives them.
func joinPublicRoom(t *testing.T, n *servicetest.Node, lk *servicetest.LiveKitServer, roomID string, count int) []*lksdk.Room {
	t.Helper()
	rooms := make([]*lksdk.Room, count)
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := n.Client("").Do(http.MethodGet, servicetest.Path("rooms", roomID)+"?username=Guest", nil)
			lkAccess, _ := res.JSON()["livekit"].(map[string]any)
			token, _ := lkAccess["token"].(string)
			room, err := servicetest.JoinLiveKit(lk.WSURL, token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false))
			if err != nil {
				errs <- err
				return
			}
			rooms[i] = room
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("participant could not join: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range rooms {
			r.Disconnect()
		}
	})
	return rooms
}

func TestTelephonyDispatchRule(t *testing.T) {
	n, lk := servicetest.StartNodeWithLiveKit(t, map[string]string{
		"ROOM_TELEPHONY_ENABLED": "true", "ROOM_TELEPHONY_PHONE_NUMBER": "+33 1 23 45 67 89",
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Dial-in", "access_level": "public"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	roomID := res.JSON()["id"].(string)
	pin, _ := res.JSON()["pin_code"].(string)
	if !regexp.MustCompile(`^[0-9]{10}$`).MatchString(pin) {
		t.Fatalf("pin_code %q, want 10 digits", pin)
	}
	if got := n.Client("").Do(http.MethodGet, servicetest.Path("config"), nil).JSON()["telephony"].(map[string]any)["international_phone_number"]; got != "+33 1 23 45 67 89" {
		t.Fatalf("config telephony.international_phone_number = %v", got)
	}
	if rules := sipRules(t, lk, roomID); len(rules) != 0 {
		t.Fatalf("%d rules before anyone joined, want 0", len(rules))
	}

	// 50 participants join at once: exactly one rule, never two. The sampler stops however the
	// test ends (it must not outlive it); a listing that fails is only a sample missed.
	var sampling sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopSampling := func() { stopOnce.Do(func() { close(stop) }); sampling.Wait() }
	t.Cleanup(stopSampling)
	maxSeen := 0
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if rules, err := listSIPRules(lk, roomID); err == nil {
					maxSeen = max(maxSeen, len(rules))
				}
			}
		}
	}()
	participants := joinPublicRoom(t, n, lk, roomID, 50)
	servicetest.Eventually(t, 90*time.Second, "one SIP dispatch rule once participants joined", func() bool {
		return len(sipRules(t, lk, roomID)) == 1
	})
	rule := sipRules(t, lk, roomID)[0]
	direct := rule.GetRule().GetDispatchRuleDirect()
	if direct.GetRoomName() != roomID || direct.GetPin() != pin {
		t.Fatalf("rule routes to room %q with pin %q, want %q / %q", direct.GetRoomName(), direct.GetPin(), roomID, pin)
	}

	// Everyone leaves: the rule goes.
	for _, p := range participants {
		p.Disconnect()
	}
	servicetest.Eventually(t, 90*time.Second, "no SIP dispatch rule once everyone left", func() bool {
		return len(sipRules(t, lk, roomID)) == 0
	})
	stopSampling()
	if maxSeen > 1 {
		t.Fatalf("saw %d rules for the room at once, want at most 1", maxSeen)
	}

	// A dial-in caller alone does not keep (or bring back) the rule.
	sip := &livekit.WebhookEvent{Event: "participant_joined", Id: "EV_sip_join", CreatedAt: time.Now().Unix(),
		Room:        &livekit.Room{Name: roomID},
		Participant: &livekit.ParticipantInfo{Identity: "sip_+3312345678", Kind: livekit.ParticipantInfo_SIP}}
	if res := n.PostWebhook(sip); res.Status != http.StatusOK {
		t.Fatalf("sip participant_joined: %d", res.Status)
	}
	res = owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil) // a round trip through the room
	if rules := sipRules(t, lk, roomID); len(rules) != 0 {
		t.Fatalf("%d rules with only a SIP participant, want 0", len(rules))
	}

	// The PIN is reserved in the store while the room exists, released when it is deleted.
	pinKey := "meetcoord:pin:" + pin
	if held, _ := n.Redis.Client().Get(context.Background(), pinKey).Result(); held != roomID {
		t.Fatalf("PIN %s reserved for %q, want the room %s", pin, held, roomID)
	}
	if res := owner.Do(http.MethodDelete, servicetest.Path("rooms", roomID), nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", res.Status)
	}
	if n, _ := n.Redis.Client().Exists(context.Background(), pinKey).Result(); n != 0 {
		t.Fatalf("PIN still reserved after the room was deleted")
	}
}

func TestTelephonyOffCreatesNoRule(t *testing.T) {
	n, lk := servicetest.StartNodeWithLiveKit(t, nil)
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "No phone", "access_level": "public"})
	roomID := res.JSON()["id"].(string)
	if pin := res.JSON()["pin_code"]; pin != nil {
		t.Fatalf("pin_code %v with telephony off, want null", pin)
	}
	joinPublicRoom(t, n, lk, roomID, 3)
	// Wait until the room has seen the joins (its participants are live), then check.
	client := lksdk.NewRoomServiceClient(lk.URL, lk.Key, lk.Secret)
	servicetest.Eventually(t, 10*time.Second, "three participants in LiveKit", func() bool {
		res, err := client.ListParticipants(context.Background(), &livekit.ListParticipantsRequest{Room: roomID})
		return err == nil && len(res.GetParticipants()) == 3
	})
	// LiveKit's webhooks reach the room after the joins: the check is meaningful once the room
	// has applied them (with telephony on, that is when it would create its rule).
	servicetest.Eventually(t, time.Minute, "the three participant_joined webhooks applied", func() bool {
		applied, _ := n.Metrics().Value("meetcoord_webhooks_total", "event", "participant_joined", "outcome", "applied")
		return applied >= 3
	})
	if rules := sipRules(t, lk, roomID); len(rules) != 0 {
		t.Fatalf("%d rules with telephony off, want 0", len(rules))
	}
}

// reconcileTicks returns a function to call at each look of an Eventually: every 20 looks it
// moves the node's clock by the reconciliation interval, so that the rooms reconcile with LiveKit
// at that pace rather than at every look.
func reconcileTicks(n *servicetest.Node, interval time.Duration) func() {
	looks := 0
	return func() {
		if looks%20 == 0 {
			n.Clock.Advance(interval)
		}
		looks++
	}
}

// TestTelephonyReconcilesLostLeave: a participant whose participant_left never reaches the
// node leaves no dispatch rule behind once the room reconciles with LiveKit.
func TestTelephonyReconcilesLostLeave(t *testing.T) {
	n, lk := servicetest.StartNodeWithLiveKit(t, map[string]string{
		"ROOM_TELEPHONY_ENABLED": "true", "ROOM_RECONCILE_INTERVAL": "0.5",
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Lossy", "access_level": "public"}).JSON()["id"].(string)
	participant := joinPublicRoom(t, n, lk, roomID, 1)[0]
	servicetest.Eventually(t, 20*time.Second, "a SIP dispatch rule", func() bool { return len(sipRules(t, lk, roomID)) == 1 })

	n.DropWebhooks(func(event string) bool { return event == "participant_left" || event == "room_finished" })
	participant.Disconnect()
	tick := reconcileTicks(n, 500*time.Millisecond)
	servicetest.Eventually(t, 20*time.Second, "reconciliation to remove the rule", func() bool {
		tick()
		return len(sipRules(t, lk, roomID)) == 0
	})
}

// TestTelephonyParticipantProcess is not a test: run by TestTelephonyKilledParticipant as a
// child process, it joins a LiveKit room and stays until killed.
func TestTelephonyParticipantProcess(t *testing.T) {
	url, token := os.Getenv("MEETCOORD_CHILD_LIVEKIT_URL"), os.Getenv("MEETCOORD_CHILD_LIVEKIT_TOKEN")
	if url == "" {
		return // only meaningful as TestTelephonyKilledParticipant's child process
	}
	if _, err := servicetest.JoinLiveKit(url, token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false)); err != nil {
		t.Fatalf("join: %v", err)
	}
	fmt.Println("joined")
	select {}
}

// TestTelephonyKilledParticipant: a participant whose process is killed (kill -9: no leave
// message) and whose participant_left never reaches the node leaves no SIP rule behind once the
// room reconciles with LiveKit.
func TestTelephonyKilledParticipant(t *testing.T) {
	n, lk := servicetest.StartNodeWithLiveKit(t, map[string]string{
		"ROOM_TELEPHONY_ENABLED": "true", "ROOM_RECONCILE_INTERVAL": "1",
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Crash", "access_level": "public"}).JSON()["id"].(string)
	token := n.Client("").Do(http.MethodGet, servicetest.Path("rooms", roomID)+"?username=Doomed", nil).JSON()["livekit"].(map[string]any)["token"].(string)

	child := exec.Command(os.Args[0], "-test.run=^TestTelephonyParticipantProcess$", "-test.v")
	child.Env = append(os.Environ(), "MEETCOORD_CHILD_LIVEKIT_URL="+lk.WSURL, "MEETCOORD_CHILD_LIVEKIT_TOKEN="+token)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	joined := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(out)
		for scanner.Scan() {
			if scanner.Text() == "joined" {
				joined <- true
			}
		}
		close(joined)
	}()
	if !<-joined {
		t.Fatal("participant process did not join")
	}
	servicetest.Eventually(t, 20*time.Second, "a SIP dispatch rule", func() bool { return len(sipRules(t, lk, roomID)) == 1 })

	n.DropWebhooks(func(event string) bool { return event == "participant_left" || event == "room_finished" })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// LiveKit notices the dead connection on its own schedule; reconciliation then sees it gone.
	tick := reconcileTicks(n, time.Second)
	servicetest.Eventually(t, 90*time.Second, "reconciliation to remove the rule of a killed participant", func() bool {
		tick()
		return len(sipRules(t, lk, roomID)) == 0
	})
}

// TestTelephonyActivationAsksWhoIsIn: who is in the room is written behind (docs/decisions.md),
// so an activation cannot trust the stored list: a room with telephony asks LiveKit when it
// activates. Here the participant_joined never reached the node that stopped; the next
// activation finds the participant in LiveKit and opens the dispatch rule.
func TestTelephonyActivationAsksWhoIsIn(t *testing.T) {
	n, lk := servicetest.StartNodeWithLiveKit(t, map[string]string{"ROOM_TELEPHONY_ENABLED": "true"})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Unseen", "access_level": "public"}).JSON()["id"].(string)
	dropped := make(chan struct{}, 16)
	n.DropWebhooks(func(event string) bool {
		if event == "participant_joined" {
			select {
			case dropped <- struct{}{}:
			default:
			}
			return true
		}
		return event == "room_started"
	})
	joinPublicRoom(t, n, lk, roomID, 1)
	select {
	case <-dropped:
	case <-time.After(time.Minute):
		t.Fatal("LiveKit sent no participant_joined")
	}
	if rules := sipRules(t, lk, roomID); len(rules) != 0 {
		t.Fatalf("%d rules while the node knows of nobody in the room, want 0", len(rules))
	}

	n.DropWebhooks(nil)
	n.Restart()
	if res := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil); res.Status != http.StatusOK {
		t.Fatalf("get room (activates it): %d %s", res.Status, res.Body)
	}
	servicetest.Eventually(t, 30*time.Second, "the activation to find the participant and open the rule", func() bool {
		return len(sipRules(t, lk, roomID)) == 1
	})
}
