package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// startCluster starts three node processes forming one cluster through etcd, on one Redis, and
// waits until each sees the three members. extra adds to or overrides the nodes' environment,
// perNode (if not nil) node i's.
func startCluster(t testing.TB, extra map[string]string, perNode func(i int) map[string]string) ([]*servicetest.Process, *gwauth.DevIssuer) {
	t.Helper()
	_, issuer := servicetest.StartIssuer(t)
	common := map[string]string{
		"REDIS_URL":            servicetest.RedisURL(t),
		"CLUSTER_PROVIDER":     "etcd",
		"ETCD_ENDPOINTS":       strings.Join(servicetest.EtcdEndpoints(t), ","),
		"CLUSTER_NAME":         fmt.Sprintf("test-%d", time.Now().UnixNano()),
		"LIVEKIT_API_KEY":      "testkey",
		"LIVEKIT_API_SECRET":   "test-secret-of-at-least-32-characters",
		"SECRET_KEY":           "a-test-server-key-of-at-least-32-bytes",
		"LIVEKIT_API_URL":      "http://127.0.0.1:1",
		"OIDC_ISSUER":          issuer.IssuerURL(),
		"LOBBY_COOKIE_SECURE":  "false",
		"LOG_LEVEL":            "warn",
		"ROOM_REQUEST_TIMEOUT": "10",
		// Tests and benchmarks create many rooms as one user.
		"ROOM_CREATION_THROTTLE_RATES":  "100000/second",
		"LOBBY_MAX_WAITING_PER_ADDRESS": "100000", // every test guest comes from 127.0.0.1
	}
	for k, v := range extra {
		common[k] = v
	}
	nodes := startNodes(t, common, perNode)
	waitForMembers(t, nodes, 3)
	return nodes, issuer
}

// startNodes starts three node processes with the common environment, each on its own HTTP and
// remote ports, plus what perNode (if any) adds for node i.
func startNodes(t testing.TB, common map[string]string, perNode func(i int) map[string]string) []*servicetest.Process {
	t.Helper()
	var nodes []*servicetest.Process
	for i := range 3 {
		env := map[string]string{"LISTEN_ADDR": servicetest.FreeAddr(t), "CLUSTER_PORT": strconv.Itoa(servicetest.ReservePort(t))}
		for k, v := range common {
			env[k] = v
		}
		if perNode != nil {
			for k, v := range perNode(i) {
				env[k] = v
			}
		}
		nodes = append(nodes, servicetest.StartProcess(t, env))
	}
	return nodes
}

// waitForMembers waits until every node is ready and sees want members.
func waitForMembers(t testing.TB, nodes []*servicetest.Process, want int) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, fmt.Sprintf("every node to see %d members", want), func() bool {
		for _, n := range nodes {
			res, err := http.Get(n.URL + "/readyz")
			if err != nil {
				return false
			}
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || body["members"] != float64(want) {
				return false
			}
		}
		return true
	})
}

// TestThreeNodesServeAnyRoom: a room created through one node is served identically through the
// others, a lobby flow spread over the three nodes works as on one, and a client's rate limit
// (here the creation callback's) is one allowance across the nodes.
func TestThreeNodesServeAnyRoom(t *testing.T) {
	nodes, issuer := startCluster(t, map[string]string{"CREATION_CALLBACK_THROTTLE_RATES": "4/minute"}, nil)
	owner := mintOwner(t, issuer).Via(nodes[0].URL)
	roomID := owner.CreateRoom(map[string]any{"name": "Everywhere", "access_level": "restricted"}).ID
	views := make([]map[string]any, 0, 3)
	for _, n := range nodes {
		res := owner.Via(n.URL).Do(http.MethodGet, "/api/v1.0/rooms/"+roomID+"/", nil)
		status, view := res.Status, res.JSON()
		if status != http.StatusOK {
			t.Fatalf("retrieve through %s: %d %v", n.URL, status, view)
		}
		delete(view, "livekit") // a fresh token each time
		views = append(views, view)
	}
	for i := 1; i < 3; i++ {
		if !reflect.DeepEqual(views[0], views[i]) {
			t.Fatalf("node %d serves %v, node 1 serves %v", i+1, views[i], views[0])
		}
	}

	// The lobby across nodes: knock through 2, see it through 3, admit through 1, poll through 2.
	guest := servicetest.NewClient(t, nodes[1].URL, "")
	e := guest.Do(http.MethodPost, "/api/v1.0/rooms/"+roomID+"/request-entry/", map[string]any{"username": "Bob"}).JSON()
	if e["status"] != "waiting" {
		t.Fatalf("knock through node 2: %v", e)
	}
	participant, _ := e["id"].(string)
	waiting := owner.Via(nodes[2].URL).Do(http.MethodGet, "/api/v1.0/rooms/"+roomID+"/waiting-participants/", nil).JSON()
	if list, _ := waiting["participants"].([]any); len(list) != 1 {
		t.Fatalf("waiting list through node 3: %v", waiting)
	}
	if res := owner.Via(nodes[0].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+roomID+"/enter/", map[string]any{"participant_id": participant, "allow_entry": true}); res.Status != http.StatusOK {
		t.Fatalf("admit through node 1: %d", res.Status)
	}
	if e := guest.Via(nodes[1].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+roomID+"/request-entry/", map[string]any{"username": "Bob"}).JSON(); e["status"] != "accepted" {
		t.Fatalf("poll through node 2 after admission: %v", e)
	}

	// Four callback polls through nodes 1, 2, 3 and 1 are within the 4/minute; the 5th, through
	// node 2, is over it although node 2 saw only one of them: the allowance is the cluster's.
	poller := servicetest.NewClient(t, "", "")
	for _, i := range []int{0, 1, 2, 0} {
		if res := poller.Via(nodes[i].URL).Do(http.MethodPost, "/api/v1.0/rooms/creation-callback/", map[string]any{"callback_id": "cb-unknown"}); res.Status == http.StatusTooManyRequests {
			t.Fatalf("callback poll through node %d within the limit: %d %v", i+1, res.Status, res.JSON())
		}
	}
	if res := poller.Via(nodes[1].URL).Do(http.MethodPost, "/api/v1.0/rooms/creation-callback/", map[string]any{"callback_id": "cb-unknown"}); res.Status != http.StatusTooManyRequests {
		t.Fatalf("5th callback poll in a minute, through node 2: %d %v, want 429", res.Status, res.JSON())
	}
}

// TestNodeCrashLosesNothing: kill -9 the node hosting rooms with waiting and admitted lobby
// participants and an active recording; each room re-activates on a survivor on its next request,
// from Redis, with its lobby as acknowledged and its recording (with its egress id: LiveKit's
// egress_ended, through a survivor, completes it).
func TestNodeCrashLosesNothing(t *testing.T) {
	egress, lk, liveKitURL := servicetest.StartEgressStandIn(t)
	var mu sync.Mutex
	egressOf := map[string]string{} // room id -> egress id
	egress.SetBeforeStartReturns(func(info *livekit.EgressInfo) {
		mu.Lock()
		egressOf[info.GetRoomName()] = info.GetEgressId()
		mu.Unlock()
	})
	nodes, issuer := startCluster(t, map[string]string{
		"RECORDING_ENABLE": "true", "LIVEKIT_API_URL": liveKitURL, "LIVEKIT_API_KEY": lk.Key, "LIVEKIT_API_SECRET": lk.Secret,
		"LOBBY_WAITING_TIMEOUT": "60",
	}, nil)
	owner := mintOwner(t, issuer)
	victim, survivors := nodes[0], nodes[1:]
	type room struct {
		id, recording, egress string
		waiting, admitted     *servicetest.Client
	}
	// Rooms are created until the node about to die hosts four of them (placement is by hash).
	var rooms []room
	for i := 0; len(rooms) < 4; i++ {
		if i == 100 {
			t.Fatal("100 rooms and the victim hosts fewer than 4")
		}
		id := owner.Via(nodes[i%3].URL).CreateRoom(map[string]any{"name": fmt.Sprint("room ", i), "access_level": "restricted"}).ID
		if ownedBy(nodes, []string{id})[victim] == nil {
			continue
		}
		r := room{id: id, waiting: servicetest.NewClient(t, "", ""), admitted: servicetest.NewClient(t, "", "")}
		var admittedID string // participant id of the admitted one's knock (what admins see)
		for _, g := range []*servicetest.Client{r.waiting, r.admitted} {
			e := g.Via(nodes[1].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+r.id+"/request-entry/", map[string]any{"username": "Guest"}).JSON()
			if e["status"] != "waiting" {
				t.Fatalf("knock: %v", e)
			}
			if g == r.admitted {
				admittedID, _ = e["id"].(string)
			}
		}
		if res := owner.Via(nodes[2].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+r.id+"/enter/", map[string]any{"participant_id": admittedID, "allow_entry": true}); res.Status != http.StatusOK {
			t.Fatalf("admit: %d", res.Status)
		}
		res := owner.Via(nodes[i%3].URL).Do(http.MethodPost, "/api/v1.0/rooms/"+r.id+"/start-recording/", map[string]any{"mode": "screen_recording"})
		status, rec := res.Status, res.JSON()
		if status != http.StatusCreated {
			t.Fatalf("start recording: %d %v", status, rec)
		}
		r.recording = rec["id"].(string)
		mu.Lock()
		r.egress = egressOf[r.id]
		mu.Unlock()
		if status := egress.SendTo(t, nodes[(i+1)%3].URL, "egress_started", r.egress, livekit.EgressStatus_EGRESS_ACTIVE); status != http.StatusOK {
			t.Fatalf("egress_started: %d", status)
		}
		waitRecording(t, owner, nodes[i%3].URL, r.recording, "active")
		rooms = append(rooms, r)
	}

	victim.Kill()
	killed := time.Now()
	for i, r := range rooms {
		via := survivors[i%2].URL
		var e map[string]any
		servicetest.Eventually(t, 30*time.Second, "room "+r.id+" served by a survivor", func() bool {
			res := r.admitted.Via(via).Do(http.MethodPost, "/api/v1.0/rooms/"+r.id+"/request-entry/", map[string]any{"username": "Guest"})
			e = res.JSON()
			return res.Status == http.StatusOK
		})
		if e["status"] != "accepted" {
			t.Fatalf("admitted participant of room %d after the crash: %v, want accepted", i, e)
		}
		if w := r.waiting.Via(via).Do(http.MethodPost, "/api/v1.0/rooms/"+r.id+"/request-entry/", map[string]any{"username": "Guest"}).JSON(); w["status"] != "waiting" {
			t.Fatalf("waiting participant of room %d after the crash: %v", i, w)
		}
		list := owner.Via(via).Do(http.MethodGet, "/api/v1.0/rooms/"+r.id+"/waiting-participants/", nil).JSON()
		if l, _ := list["participants"].([]any); len(l) != 1 {
			t.Fatalf("waiting list of room %d after the crash: %v", i, list)
		}
		waitRecording(t, owner, via, r.recording, "active")
	}
	t.Logf("all %d rooms of the killed node served with their lobby and recording %v after kill -9", len(rooms), time.Since(killed).Round(time.Millisecond))
	// The survivors know each recording's egress: LiveKit's egress_ended completes it.
	for i, r := range rooms {
		if status := egress.SendTo(t, survivors[i%2].URL, "egress_ended", r.egress, livekit.EgressStatus_EGRESS_COMPLETE); status != http.StatusOK {
			t.Fatalf("egress_ended through a survivor: %d", status)
		}
		waitRecording(t, owner, survivors[(i+1)%2].URL, r.recording, "saved")
	}
}

// waitRecording waits until GET recordings/{id}/ through base shows status.
func waitRecording(t testing.TB, owner *servicetest.Client, base, id, status string) {
	t.Helper()
	var last map[string]any
	servicetest.Eventually(t, 10*time.Second, "recording "+id+" "+status, func() bool {
		last = owner.Via(base).Do(http.MethodGet, "/api/v1.0/recordings/"+id+"/", nil).JSON()
		return last["status"] == status
	})
}
