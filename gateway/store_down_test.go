package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// The store outage: how long Redis stays away, the node's request timeout, and how soon after
// Redis is back the node must serve again by itself.
const (
	storeOutage          = 10 * time.Second
	storeRequestTimeout  = 5 * time.Second
	storeRecoveryGoal    = 2 * time.Second
	storeOutageRooms     = 3
	storeLobbyWorkers    = 2 // per room, beside one configuration writer
	storeAnswerTolerance = 3 * time.Second
)

// TestStoreOutageUnderLoad: Redis goes away for 10 s while clients knock, poll, admit and
// rewrite room configurations. Requests that need the store are answered 503 with Retry-After
// and the JSON error shape, none waits beyond the request timeout, /readyz says the store is
// down; once Redis is back the node serves within 2 s by itself, every acknowledged write is
// there (also after the rooms reload from Redis), and no refused write is half applied.
func TestStoreOutageUnderLoad(t *testing.T) {
	faults := []struct {
		name     string
		down, up func(*servicetest.RedisServer)
	}{
		// A crash: connections refused, every acknowledged write on disk (appendfsync always).
		{"killed and restarted", (*servicetest.RedisServer).Stop, (*servicetest.RedisServer).Restart},
		// A stall: connections open, nothing answers; writes sent meanwhile run when it wakes.
		{"paused and resumed", (*servicetest.RedisServer).Pause, (*servicetest.RedisServer).Resume},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) { storeOutageUnderLoad(t, fault.down, fault.up) })
	}
}

// roomConfigurationOf is the configuration the k-th write of a room sets, together with the name
// "Cfg <k>": a room showing the name of one write and the configuration of another was half
// written.
func roomConfigurationOf(k int) map[string]any {
	sources := []string{}
	for bit, source := range []string{"camera", "microphone", "screen_share", "screen_share_audio"} {
		if k&(1<<bit) != 0 {
			sources = append(sources, source)
		}
	}
	slices.Sort(sources)
	return map[string]any{"can_publish_sources": sources, "everyone_can_mute": k%3 == 0}
}

// storeHistory is what the load saw: per room, the configuration writes and the knocks.
type storeHistory struct {
	mu      sync.Mutex
	configs [][]configWrite // by room index, in the order each room's one writer sent them
	knocks  [][]*knockRecord
	// Counted answers.
	acked, refused, pollsAnsweredDuringOutage atomic.Int64
	outage                                    atomic.Bool
}

type configWrite struct {
	k     int
	acked bool // 2xx; otherwise a 503, whose write may or may not have happened
}

type knockRecord struct {
	guest    *servicetest.Client
	username string
	id       string
	admit    string // "": not tried, "acked", "refused" (503: unknown outcome)
}

// storeCall sends one request and checks the answer every request must give during the test:
// a 2xx, or a 503 with Retry-After and a "detail", within the request timeout. It reports
// whether the request was acknowledged.
func storeCall(t *testing.T, h *storeHistory, c *servicetest.Client, method, path string, body any) (servicetest.Response, bool) {
	start := time.Now()
	res, err := c.Request(method, path, body)
	took := time.Since(start)
	if err != nil {
		t.Errorf("%s %s: no answer after %v: %v", method, path, took, err)
		return res, false
	}
	if took > storeRequestTimeout+storeAnswerTolerance {
		t.Errorf("%s %s answered after %v, beyond the %v request timeout", method, path, took, storeRequestTimeout)
	}
	switch {
	case res.Status >= 200 && res.Status < 300:
		h.acked.Add(1)
		return res, true
	case res.Status == http.StatusServiceUnavailable:
		h.refused.Add(1)
		if after, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || after < 1 {
			t.Errorf("%s %s: 503 with Retry-After %q, want a number of seconds", method, path, res.Header.Get("Retry-After"))
		}
		var shape map[string]any
		if err := json.Unmarshal(res.Body, &shape); err != nil {
			t.Errorf("%s %s: 503 body %q is not JSON", method, path, res.Body)
		} else if detail, _ := shape["detail"].(string); detail == "" {
			t.Errorf("%s %s: 503 body %s has no detail", method, path, res.Body)
		}
	default:
		t.Errorf("%s %s: %d %s, want a 2xx or a 503", method, path, res.Status, res.Body)
	}
	return res, false
}

func storeOutageUnderLoad(t *testing.T, down, up func(*servicetest.RedisServer)) {
	redisServer := servicetest.StartDurableRedis(t)
	n := servicetest.StartNode(t, map[string]string{
		"REDIS_URL": redisServer.URL, "REDIS_TIMEOUT": "0.5",
		"ROOM_REQUEST_TIMEOUT": strconv.Itoa(int(storeRequestTimeout / time.Second)),
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	rooms := make([]string, storeOutageRooms)
	for i := range rooms {
		rooms[i] = owner.CreateRoom(map[string]any{"name": servicetest.UniqueRoomName("Outage"), "access_level": "restricted"}).ID
	}
	h := &storeHistory{configs: make([][]configWrite, len(rooms)), knocks: make([][]*knockRecord, len(rooms))}

	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var load sync.WaitGroup
	for i, roomID := range rooms {
		load.Add(1)
		go func() { // the room's one configuration writer
			defer load.Done()
			for k := 1; !stopped(); k++ {
				_, ok := storeCall(t, h, owner, http.MethodPatch, servicetest.Path("rooms", roomID),
					map[string]any{"name": fmt.Sprintf("Cfg %d", k), "configuration": roomConfigurationOf(k)})
				h.mu.Lock()
				h.configs[i] = append(h.configs[i], configWrite{k: k, acked: ok})
				h.mu.Unlock()
			}
		}()
		for w := range storeLobbyWorkers {
			load.Add(1)
			go func() { // guests knock, poll, and are admitted
				defer load.Done()
				for g := 0; !stopped(); g++ {
					k := &knockRecord{guest: n.Client(""), username: fmt.Sprintf("Guest %d-%d-%d", i, w, g)}
					res, ok := storeCall(t, h, k.guest, http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": k.username})
					if !ok {
						continue // refused: the guest gives up (its entry may exist: checked below)
					}
					k.id, _ = res.JSON()["id"].(string)
					h.mu.Lock()
					h.knocks[i] = append(h.knocks[i], k)
					h.mu.Unlock()
					// A poll of a known entry is answered from the room's memory.
					if _, ok := storeCall(t, h, k.guest, http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"), map[string]any{"username": k.username}); ok && h.outage.Load() {
						h.pollsAnsweredDuringOutage.Add(1)
					}
					_, admitted := storeCall(t, h, owner, http.MethodPost, servicetest.Path("rooms", roomID, "enter"), map[string]any{"participant_id": k.id, "allow_entry": true})
					h.mu.Lock()
					k.admit = map[bool]string{true: "acked", false: "refused"}[admitted]
					h.mu.Unlock()
				}
			}()
		}
	}
	stopLoad := sync.OnceFunc(func() { close(stop); load.Wait() })
	t.Cleanup(stopLoad)

	everyRoomWrote := func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i := range rooms {
			admitted := slices.ContainsFunc(h.knocks[i], func(k *knockRecord) bool { return k.admit == "acked" })
			configured := slices.ContainsFunc(h.configs[i], func(c configWrite) bool { return c.acked })
			if !admitted || !configured {
				return false
			}
		}
		return true
	}
	servicetest.Eventually(t, 30*time.Second, "every room to take writes before the outage", everyRoomWrote)

	readyz := func() servicetest.Response { return n.Client("").Do(http.MethodGet, "/readyz", nil) }
	refusedBefore := h.refused.Load()
	down(redisServer)
	h.outage.Store(true)
	downAt := time.Now()
	servicetest.Eventually(t, 10*time.Second, "/readyz to say the store is down", func() bool {
		res := readyz()
		detail, _ := res.JSON()["detail"].(string)
		return res.Status == http.StatusServiceUnavailable && detail == "store unavailable"
	})
	// The outage lasts its length; /readyz is watched all along.
	for time.Since(downAt) < storeOutage {
		if res := readyz(); res.Status != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with the store down: %d %s, want 503", res.Status, res.Body)
		}
	}
	if h.refused.Load() == refusedBefore {
		t.Fatalf("no request was refused during a %v store outage", storeOutage)
	}

	up(redisServer)
	upAt := time.Now()
	h.outage.Store(false)
	// Recovery: the first write acknowledged after Redis answers again (a fresh guest's knock
	// needs one), looked for at a short interval.
	var recovered time.Duration
	servicetest.Eventually(t, 30*time.Second, "a write to be acknowledged after Redis is back", func() bool {
		res, err := n.Client("").Request(http.MethodPost, servicetest.Path("rooms", rooms[0], "request-entry"), map[string]any{"username": "Probe"})
		if err == nil && res.Status == http.StatusOK {
			recovered = time.Since(upAt)
			return true
		}
		return false
	})
	var readyAfter time.Duration
	servicetest.Eventually(t, 30*time.Second, "/readyz to say ready after Redis is back", func() bool {
		readyAfter = time.Since(upAt)
		return readyz().Status == http.StatusOK
	})
	t.Logf("store outage %v: %d requests acknowledged, %d refused (503), %d lobby polls answered during the outage; first write acknowledged %v after Redis was back, ready after %v",
		storeOutage, h.acked.Load(), h.refused.Load(), h.pollsAnsweredDuringOutage.Load(), recovered.Round(time.Millisecond), readyAfter.Round(time.Millisecond))
	if recovered > storeRecoveryGoal {
		t.Errorf("first write acknowledged %v after Redis was back, want within %v", recovered, storeRecoveryGoal)
	}

	// Some load after the outage, then the checks.
	ackedAtRecovery := h.acked.Load()
	servicetest.Eventually(t, 30*time.Second, "the load to be served after the outage", func() bool {
		return h.acked.Load() > ackedAtRecovery+int64(4*len(rooms))
	})
	stopLoad()
	checkStoreHistory(t, owner, rooms, h, "after the outage")
	n.Restart() // every room reloads from Redis
	checkStoreHistory(t, owner, rooms, h, "after the rooms reloaded from Redis")
}

// checkStoreHistory checks what the rooms show against what the load was told: every
// acknowledged write is there, and a refused one either whole or not at all.
func checkStoreHistory(t *testing.T, owner *servicetest.Client, rooms []string, h *storeHistory, when string) {
	t.Helper()
	for i, roomID := range rooms {
		res := owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("%s: room %d: %d %s", when, i, res.Status, res.Body)
		}
		room := res.JSON()
		var k int
		if _, err := fmt.Sscanf(room["name"].(string), "Cfg %d", &k); err != nil {
			t.Fatalf("%s: room %d is named %q, not by a configuration write", when, i, room["name"])
		}
		shown, _ := json.Marshal(room["configuration"])
		written, _ := json.Marshal(roomConfigurationOf(k))
		if string(shown) != string(written) {
			t.Errorf("%s: room %d shows the name of write %d with configuration %s, want %s (half applied)", when, i, k, shown, written)
		}
		// Writes are sequential per room: the room shows its last acknowledged write, or a
		// later refused one (whose outcome was unknown), never an earlier one.
		lastAcked, allowed := 0, map[int]bool{}
		for _, c := range h.configs[i] {
			if c.acked {
				lastAcked, allowed = c.k, map[int]bool{c.k: true}
			} else {
				allowed[c.k] = true
			}
		}
		if !allowed[k] {
			t.Errorf("%s: room %d shows write %d; its last acknowledged write is %d", when, i, k, lastAcked)
		}

		waiting := map[string]string{} // id -> username
		for _, e := range lobbyWaiting(t, owner, roomID) {
			waiting[e.ID] = e.Username
		}
		for _, knock := range h.knocks[i] {
			name, isWaiting := waiting[knock.id]
			switch {
			case isWaiting && name != knock.username:
				t.Errorf("%s: room %d: entry %s waits as %q, want %q", when, i, knock.id, name, knock.username)
			case !isWaiting && knock.admit == "":
				t.Errorf("%s: room %d: acknowledged knock %s, never decided, is not waiting", when, i, knock.id)
			case isWaiting && knock.admit == "acked":
				t.Errorf("%s: room %d: entry %s waits though its admission was acknowledged", when, i, knock.id)
			case !isWaiting && knock.admit != "refused":
				// Admitted: its poll says so (and does not knock again: the entry exists).
				if got := entryStatus(t, knock.guest, roomID); got != "accepted" {
					t.Errorf("%s: room %d: acknowledged knock %s (admission %q) is %q, want accepted", when, i, knock.id, knock.admit, got)
				}
			case !isWaiting:
				// A refused admission may have happened: the entry is admitted, never gone.
				if got := entryStatus(t, knock.guest, roomID); got != "accepted" {
					t.Errorf("%s: room %d: acknowledged knock %s is %q, neither waiting nor admitted", when, i, knock.id, got)
				}
			}
		}
	}
}
