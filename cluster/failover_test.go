package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// Settings shared by the failover tests: waiting entries must not expire while the test runs
// (their presence is what shows that nothing was lost), and the lobby's per-client limits are
// not what is tested here.
var failoverEnv = map[string]string{
	"LOBBY_WAITING_TIMEOUT":        "600",
	"REQUEST_ENTRY_THROTTLE_RATES": "1000000/minute",
}

// mintOwner is a client of the user who owns the test rooms (no request made yet).
func mintOwner(t testing.TB, issuer *gwauth.DevIssuer) *servicetest.Client {
	t.Helper()
	token, err := issuer.Mint(gwauth.Claims{Subject: "alice", Email: "alice@example.org", FullName: "Alice Martin"}, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return servicetest.NewClient(t, "", token)
}

// createRooms creates n restricted rooms through the nodes in turn, with 8 requests at a time.
func createRooms(t testing.TB, owner *servicetest.Client, nodes []*servicetest.Process, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := owner.Via(nodes[i%len(nodes)].URL).Request(http.MethodPost, "/api/v1.0/rooms/",
				map[string]any{"name": fmt.Sprint("room ", i), "access_level": "restricted"})
			if err != nil || res.Status != http.StatusCreated {
				failed.Store(fmt.Sprintf("create room %d: %d %v %v", i, res.Status, res.JSON(), err))
				return
			}
			ids[i] = res.JSON()["id"].(string)
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	return ids
}

// lobbyLoad is a steady load of lobby knocks and polls and LiveKit webhooks across rooms, through
// every node, that records what was acknowledged.
type lobbyLoad struct {
	t       *testing.T
	nodes   []*servicetest.Process
	rooms   []string
	key     string
	secret  string
	client  *http.Client        // webhooks
	guests  *servicetest.Client // template of the participants' browsers (the load's connections)
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	knocks  map[string][]*servicetest.Client // room -> acknowledged waiting participants (their browsers, to poll)
	ids     map[string][]string              // room -> their participant ids, as admins see them
	ok      atomic.Int64
	refused atomic.Int64 // connections to the stopping node refused or reset: allowed
	failed  atomic.Int64
	errs    []string
	leaving atomic.Int32 // index+1 of the node that is leaving (0: none)
	eventID atomic.Int64
}

func (l *lobbyLoad) start(workers int) {
	l.stop = make(chan struct{})
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				node := (w + i) % len(l.nodes)
				l.once(rng, node)
			}
		}()
	}
}

func (l *lobbyLoad) once(rng *rand.Rand, node int) {
	room := l.rooms[rng.IntN(len(l.rooms))]
	base := l.nodes[node].URL
	var status int
	var body map[string]any
	var err error
	what := ""
	switch op := rng.IntN(10); {
	case op < 1: // a new participant knocks
		what = "knock"
		guest := l.guests.Fresh()
		var res servicetest.Response
		res, err = guest.Via(base).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		status, body = res.Status, res.JSON()
		if err == nil && status == http.StatusOK && body["status"] == "waiting" {
			l.mu.Lock()
			l.knocks[room] = append(l.knocks[room], guest)
			l.ids[room] = append(l.ids[room], body["id"].(string))
			l.mu.Unlock()
		}
	case op < 6: // a waiting participant polls
		what = "poll"
		l.mu.Lock()
		list := l.knocks[room]
		guest := list[rng.IntN(len(list))]
		l.mu.Unlock()
		var res servicetest.Response
		res, err = guest.Via(base).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		status, body = res.Status, res.JSON()
		if err == nil && status == http.StatusOK && body["status"] != "waiting" {
			status = 0 // a waiting participant must stay waiting
		}
	default: // LiveKit reports a participant joining or leaving
		what = "webhook"
		event := "participant_joined"
		if rng.IntN(2) == 0 {
			event = "participant_left"
		}
		id := l.eventID.Add(1)
		payload, _ := json.Marshal(map[string]any{
			"event": event, "id": fmt.Sprint("EV_load_", id), "createdAt": strconv.FormatInt(time.Now().Unix(), 10),
			"room":        map[string]any{"name": room, "sid": "RM_" + room[:8]},
			"participant": map[string]any{"identity": fmt.Sprint("user-", id%7), "sid": fmt.Sprint("PA_", id%7)},
		})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1.0/rooms/webhooks-livekit/", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/webhook+json")
		req.Header.Set("Authorization", servicetest.SignWebhook(l.t, payload, l.key, l.secret, 5*time.Minute))
		var res *http.Response
		res, err = l.client.Do(req)
		if err == nil {
			status = res.StatusCode
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	switch {
	case err == nil && status == http.StatusOK:
		l.ok.Add(1)
	case err != nil && int(l.leaving.Load()) == node+1:
		l.refused.Add(1) // the node that leaves closes its connections: allowed
	default:
		l.failed.Add(1)
		l.mu.Lock()
		if len(l.errs) < 10 {
			l.errs = append(l.errs, fmt.Sprintf("%s through node %d: %d %v %v", what, node+1, status, body, err))
		}
		l.mu.Unlock()
	}
}

func (l *lobbyLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// TestGracefulLeaveUnderLoad: SIGTERM a node while lobby knocks, polls and webhooks flow through
// all three nodes across 500 rooms. No request fails except the connections to the leaving node
// itself, and every acknowledged knock is still in its room's waiting list afterwards.
func TestGracefulLeaveUnderLoad(t *testing.T) {
	nodes, issuer := startCluster(t, failoverEnv, nil)
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, 500)
	load := &lobbyLoad{
		t:     t,
		nodes: nodes, rooms: rooms, key: "testkey", secret: "test-secret-of-at-least-32-characters",
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		knocks: map[string][]*servicetest.Client{},
		ids:    map[string][]string{},
	}
	load.guests = servicetest.NewClient(t, "", "").WithTransport(load.client.Transport, load.client.Timeout)
	for _, room := range rooms { // one waiting participant per room before the load starts
		guest := load.guests.Fresh()
		res, err := guest.Via(nodes[0].URL).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		status, body := res.Status, res.JSON()
		if err != nil || status != http.StatusOK {
			t.Fatalf("first knock in %s: %d %v %v", room, status, body, err)
		}
		load.knocks[room] = []*servicetest.Client{guest}
		load.ids[room] = []string{body["id"].(string)}
	}

	load.start(12)
	waitForRequests(t, &load.ok, 1000)
	leaving := nodes[2]
	load.leaving.Store(3)
	leaving.Signal(syscall.SIGTERM)
	sent := time.Now()
	leaving.Wait()
	left := time.Since(sent)
	if _, code := leaving.Exited(); code != 0 {
		t.Fatalf("the leaving node exited with %d:\n%s", code, leaving.Log())
	}
	before := load.ok.Load()
	waitForRequests(t, &load.ok, before+1000) // the survivors carry on
	load.finish()
	t.Logf("SIGTERM to exit: %v; requests: %d ok, %d refused by the leaving node, %d failed",
		left.Round(time.Millisecond), load.ok.Load(), load.refused.Load(), load.failed.Load())
	if load.failed.Load() != 0 {
		t.Fatalf("%d requests failed, first ones: %v", load.failed.Load(), load.errs)
	}

	// Nothing acknowledged was lost: every waiting list holds exactly the acknowledged knocks.
	survivor := nodes[0]
	for _, room := range rooms {
		res, err := owner.Via(survivor.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/waiting-participants/", nil)
		status, body := res.Status, res.JSON()
		if err != nil || status != http.StatusOK {
			t.Fatalf("waiting list of %s: %d %v", room, status, err)
		}
		got := map[string]bool{}
		for _, p := range body["participants"].([]any) {
			got[p.(map[string]any)["id"].(string)] = true
		}
		for _, id := range load.ids[room] {
			if !got[id] {
				t.Fatalf("room %s lost acknowledged waiting participant %s (has %d of %d)", room, id, len(got), len(load.ids[room]))
			}
		}
		if len(got) != len(load.ids[room]) {
			t.Fatalf("room %s has %d waiting participants, %d were acknowledged", room, len(got), len(load.ids[room]))
		}
	}
}

func waitForRequests(t *testing.T, counter *atomic.Int64, n int64) {
	t.Helper()
	servicetest.Eventually(t, 60*time.Second, fmt.Sprintf("%d successful requests", n), func() bool { return counter.Load() >= n })
}

// TestStaleActivationIsFenced: a node paused with SIGSTOP keeps its room activations in memory
// while the cluster moves its rooms to the survivors, where they change. Resumed with SIGCONT,
// the paused node's stale activations try to write: the epoch check refuses them, they stop,
// and the request is retried on the current owner; every room ends with its newest state.
func TestStaleActivationIsFenced(t *testing.T) {
	nodes, issuer := startCluster(t, failoverEnv, nil)
	owner := mintOwner(t, issuer)
	// Enough rooms that the paused node hosts some ((2/3)^30: it hosts none once in 200,000).
	rooms := createRooms(t, owner, nodes, 30)
	paused, survivors := nodes[0], nodes[1:]
	for _, room := range rooms { // activate every room on its owner
		if res, err := owner.Via(paused.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/", nil); err != nil || res.Status != http.StatusOK {
			t.Fatalf("get %s: %d %v", room, res.Status, err)
		}
	}
	waitingBefore := map[string]string{}
	for _, room := range rooms {
		res, _ := servicetest.NewClient(t, paused.URL, "").Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Before"})
		waitingBefore[room] = res.JSON()["id"].(string)
	}

	paused.Signal(syscall.SIGSTOP)
	t.Cleanup(func() { paused.Signal(syscall.SIGCONT) })
	// While it is paused, every room takes a new participant through a survivor: the rooms it
	// hosted move once the membership drops it (its etcd lease expires).
	waitingDuring := map[string]string{}
	for i, room := range rooms {
		var body map[string]any
		servicetest.Eventually(t, 30*time.Second, "knock in "+room+" through a survivor", func() bool {
			res, err := servicetest.NewClient(t, survivors[i%2].URL, "").Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "During"})
			status, b := res.Status, res.JSON()
			body = b
			return err == nil && status == http.StatusOK
		})
		waitingDuring[room] = body["id"].(string)
	}

	paused.Signal(syscall.SIGCONT)
	// Through the resumed node, every room takes one more participant: its stale activations
	// (still in memory, unaware of the new participants) try to write first.
	waitingAfter := map[string]string{}
	for _, room := range rooms {
		var body map[string]any
		servicetest.Eventually(t, 30*time.Second, "knock in "+room+" through the resumed node", func() bool {
			res, err := servicetest.NewClient(t, paused.URL, "").Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "After"})
			status, b := res.Status, res.JSON()
			body = b
			return err == nil && status == http.StatusOK
		})
		waitingAfter[room] = body["id"].(string)
	}
	// The paused node's stale activations ended: refused at their first write (fenced), or
	// stopped before it by the announcement of the newer activation (superseded) or by the epoch
	// check that follows a stall of the node (stale after stall), whichever came first.
	fenced := paused.Client(t, "").Metric("meetcoord_room_fenced_total")
	superseded := paused.Client(t, "").Metric("meetcoord_room_superseded_total")
	staleAfterStall := paused.Client(t, "").Metric("meetcoord_room_stale_after_stall_total")
	if fenced+superseded+staleAfterStall == 0 {
		t.Fatalf("no stale activation of the paused node was fenced, superseded or found stale after the stall:\n%s", paused.Log())
	}
	// Every room has the newest state, the three participants, whichever node answers (once the
	// members agree again on who owns what: an activation that is about to be superseded may
	// answer a read for a few milliseconds).
	for _, room := range rooms {
		for _, via := range nodes {
			var got map[string]bool
			servicetest.Eventually(t, 10*time.Second, "the newest state of "+room+" through "+via.URL, func() bool {
				res, err := owner.Via(via.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/waiting-participants/", nil)
				status, body := res.Status, res.JSON()
				if err != nil || status != http.StatusOK {
					return false
				}
				got = map[string]bool{}
				for _, p := range body["participants"].([]any) {
					got[p.(map[string]any)["id"].(string)] = true
				}
				return len(got) == 3 && got[waitingBefore[room]] && got[waitingDuring[room]] && got[waitingAfter[room]]
			})
		}
	}
	t.Logf("stale activations on the resumed node: %v fenced, %v superseded, %v found stale after the stall", fenced, superseded, staleAfterStall)
}

// TestRestartedNodeRejoins: a node killed and started again with the same addresses rejoins the
// cluster as a new member and hosts rooms again.
func TestRestartedNodeRejoins(t *testing.T) {
	nodes, issuer := startCluster(t, failoverEnv, nil)
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, 30)
	restarted := nodes[2]
	restarted.Kill()
	waitForMembers(t, nodes[:2], 2)
	restarted.Restart(t)
	waitForMembers(t, nodes, 3)
	for _, room := range rooms {
		for _, via := range nodes {
			res, err := owner.Via(via.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/", nil)
			status, body := res.Status, res.JSON()
			if err != nil || status != http.StatusOK || body["id"] != room {
				t.Fatalf("room %s through %s after the restart: %d %v %v", room, via.URL, status, body, err)
			}
		}
	}
	if activations := restarted.Client(t, "").Metric("meetcoord_room_activations_total"); activations == 0 {
		t.Fatal("the restarted node hosts none of 30 rooms")
	}
}

// TestAutomanagedMembership: CLUSTER_PROVIDER=automanaged forms the cluster from CLUSTER_SEEDS,
// and each member's health endpoint listens on its advertised address only.
func TestAutomanagedMembership(t *testing.T) {
	ports := make([]string, 3)
	seeds := make([]string, 3)
	for i := range ports {
		ports[i] = strconv.Itoa(servicetest.ReservePort(t))
		seeds[i] = "127.0.0.1:" + ports[i]
	}
	nodes, issuer := startCluster(t, map[string]string{"CLUSTER_PROVIDER": "automanaged", "CLUSTER_SEEDS": strings.Join(seeds, ",")},
		func(i int) map[string]string { return map[string]string{"CLUSTER_AUTOMANAGED_PORT": ports[i]} })
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, 6)
	for _, room := range rooms {
		for _, via := range nodes {
			if res, err := owner.Via(via.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/", nil); err != nil || res.Status != http.StatusOK {
				t.Fatalf("room %s through %s: %d %v", room, via.URL, res.Status, err)
			}
		}
	}
	// 127.0.0.2 is loopback too: a health endpoint bound to every interface would answer there.
	if conn, err := net.DialTimeout("tcp", "127.0.0.2:"+ports[0], time.Second); err == nil {
		conn.Close()
		t.Fatal("the automanaged health endpoint answers on an address other than the advertised one")
	}
	res, err := http.Get("http://" + seeds[0] + "/_health")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("health endpoint on the advertised address: %v %v", res, err)
	}
	res.Body.Close()
}

// TestNodeDroppedFromMembershipExits: a node whose etcd registration disappears while it runs
// (as after an etcd outage, upstream issue 1133: protoactor does not register again) reports not
// ready at once, and exits after CLUSTER_REJOIN_TIMEOUT so that its supervisor restarts it; the
// others carry on without it.
func TestNodeDroppedFromMembershipExits(t *testing.T) {
	nodes, issuer := startCluster(t, map[string]string{"CLUSTER_REJOIN_TIMEOUT": "3"}, nil)
	dropped := nodes[2]
	client, err := clientv3.New(clientv3.Config{Endpoints: servicetest.EtcdEndpoints(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	registrations, err := client.Get(ctx, "/meetcoord/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimPrefix(clusterAddress(dropped), "127.0.0.1:")
	deleted := 0
	for _, kv := range registrations.Kvs {
		if strings.Contains(string(kv.Value), `"port":`+port) || strings.Contains(string(kv.Value), `"Port":`+port) {
			if _, err := client.Delete(ctx, string(kv.Key)); err != nil {
				t.Fatal(err)
			}
			deleted++
		}
	}
	if deleted != 1 {
		t.Fatalf("found %d registrations of the node with port %s among %d", deleted, port, len(registrations.Kvs))
	}

	expectExitOutsideMembership(t, dropped, nodes[:2], issuer, 10*time.Second, 20*time.Second)
}

// expectExitOutsideMembership: a node dropped from the membership while it runs reports not
// ready (within notReady), exits with a failure that names CLUSTER_REJOIN_TIMEOUT (within exit),
// and the survivors carry on: they see each other, and rooms made through them are served.
func expectExitOutsideMembership(t *testing.T, dropped *servicetest.Process, survivors []*servicetest.Process, issuer *gwauth.DevIssuer, notReady, exit time.Duration) {
	t.Helper()
	servicetest.Eventually(t, notReady, "the dropped node to report not ready", func() bool {
		res, err := http.Get(dropped.URL + "/readyz")
		if err != nil {
			return true // already exited
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	})
	servicetest.Eventually(t, exit, "the dropped node to exit", func() bool {
		exited, _ := dropped.Exited()
		return exited
	})
	if _, code := dropped.Exited(); code == 0 {
		t.Fatalf("the dropped node exited with 0, want a failure for its supervisor:\n%s", dropped.Log())
	}
	if !strings.Contains(dropped.Log(), "CLUSTER_REJOIN_TIMEOUT") {
		t.Fatalf("the dropped node's log does not say why it exits:\n%s", dropped.Log())
	}
	waitForMembers(t, survivors, len(survivors))
	owner := mintOwner(t, issuer)
	for _, room := range createRooms(t, owner, survivors, 6) {
		if res, err := owner.Via(survivors[0].URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/", nil); err != nil || res.Status != http.StatusOK {
			t.Fatalf("room %s after the node left: %d %v", room, res.Status, err)
		}
	}
}

// TestLeaveWithEtcdDown: SIGTERM during an etcd outage still ends in bounded time (protoactor's
// etcd provider would wait forever to delete its key), and cleanly.
func TestLeaveWithEtcdDown(t *testing.T) {
	etcd := servicetest.StartEtcd(t)
	nodes, _ := startCluster(t, map[string]string{"ETCD_ENDPOINTS": etcd.Endpoint}, nil)
	etcd.Stop()
	leaving := nodes[0]
	leaving.Signal(syscall.SIGTERM)
	sent := time.Now()
	servicetest.Eventually(t, 20*time.Second, "the node to exit", func() bool {
		exited, _ := leaving.Exited()
		return exited
	})
	if _, code := leaving.Exited(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, leaving.Log())
	}
	t.Logf("exited %v after SIGTERM with etcd down", time.Since(sent).Round(time.Millisecond))
}
