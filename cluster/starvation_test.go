package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// cpuBurnerEnv set makes this test binary a CPU burner instead of running tests (see TestMain).
const cpuBurnerEnv = "MEETCOORD_TEST_CPU_BURNER"

// burnersPerCore: two busy threads per core keep every core saturated (the nodes and the test
// come on top). More does not starve the nodes more: the kernel's scheduler still runs a thread
// that wakes (a lease renewal) within milliseconds; 16 threads on 2 cores (load average 21) kept
// even the old 3 s lease. What drops a member is a stretch with no CPU at all: see frozenFor.
const burnersPerCore = 2

// frozenFor: under the burner, each node in turn gets no CPU at all for this long (SIGSTOP,
// SIGCONT), as a node does whose machine is saturated for a few seconds (steal time, swap, a
// long GC): longer than the old 3 s lease, well within the 10 s one (renewed every 3.3 s, so 6.7
// s of silence at worst).
const frozenFor = 4 * time.Second

// TestMain lets the test binary double as the CPU burner when stress-ng is not installed: with
// cpuBurnerEnv set, it spins its workers until its standard input closes (its parent ended).
func TestMain(m *testing.M) {
	if os.Getenv(cpuBurnerEnv) != "" {
		burnCPU(runtime.GOMAXPROCS(0))
		return
	}
	os.Exit(m.Run())
}

func burnCPU(workers int) {
	for range workers {
		go func() {
			x := uint64(1)
			for {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // returns when the parent closes the pipe or dies
}

// startCPUBurner saturates every core with burnersPerCore busy threads per core until the test
// ends: stress-ng when it is on the PATH, else this test binary as a Go busy loop. It returns
// what it started, for the log.
func startCPUBurner(t *testing.T) string {
	t.Helper()
	workers := burnersPerCore * runtime.NumCPU()
	var cmd *exec.Cmd
	if path, err := exec.LookPath("stress-ng"); err == nil {
		// --timeout bounds it should this test process die without its cleanup.
		cmd = exec.Command(path, "--cpu", fmt.Sprint(workers), "--timeout", "300s", "--quiet")
	} else {
		self, err := os.Executable()
		if err != nil {
			t.Fatalf("no stress-ng and no test binary to burn the CPU with: %v", err)
		}
		cmd = exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), cpuBurnerEnv+"=1", fmt.Sprintf("GOMAXPROCS=%d", workers))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close() })
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the CPU burner %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // stress-ng stops its workers on SIGTERM
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return fmt.Sprintf("%s with %d busy threads on %d cores", cmd.Path, workers, runtime.NumCPU())
}

// membershipSample is one look at a node's view of the membership through /readyz.
type membershipSample struct {
	at      time.Duration // since the watch started
	node    int
	status  int // 0: no answer within the client's timeout
	members int
	detail  string // of a 503: the part that is down
}

// storeUnavailable: the node answered "store unavailable". It checks the store before the
// membership, so such an answer does not tell whether the node is a member.
func (s membershipSample) storeUnavailable() bool {
	return s.status == http.StatusServiceUnavailable && s.detail == "store unavailable"
}

// watchMembership polls every node's /readyz every 250 ms until stop is closed.
func watchMembership(nodes []*servicetest.Process, stop <-chan struct{}) func() []membershipSample {
	var mu sync.Mutex
	var samples []membershipSample
	var wg sync.WaitGroup
	start := time.Now()
	client := &http.Client{Timeout: 5 * time.Second}
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				s := membershipSample{at: time.Since(start), node: i}
				if res, err := client.Get(n.URL + "/readyz"); err == nil {
					var body struct {
						Members int    `json:"members"`
						Detail  string `json:"detail"`
					}
					_ = json.NewDecoder(res.Body).Decode(&body)
					res.Body.Close()
					s.status, s.members, s.detail = res.StatusCode, body.Members, body.Detail
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}()
	}
	return func() []membershipSample {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return samples
	}
}

// roomCounters sums, over the nodes, the counters that move when a room moves: activations (a
// room activated anew), passivations, and stale activations fenced or superseded.
func roomCounters(t *testing.T, nodes []*servicetest.Process) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, n := range nodes {
		m := n.Client(t, "").Metrics()
		for _, name := range []string{"meetcoord_room_activations_total", "meetcoord_room_passivations_total",
			"meetcoord_room_fenced_total", "meetcoord_room_superseded_total"} {
			v, _ := m.Value(name)
			out[name] += v
		}
	}
	return out
}

// TestStarvedMembersStayMembers: three nodes on etcd while a CPU burner saturates both cores
// for 60 s (the machine of a CI run next to a fuzzer, a production node at 100 %), during which
// each node in turn also gets no CPU at all for frozenFor: no node leaves anyone's view of the
// membership and no room moves (no activation, passivation or fencing; every room answers its
// state through every node). Then, the burner still running, kill -9 of a node: a room it
// hosted answers through a survivor within 3 s of the kill.
func TestStarvedMembersStayMembers(t *testing.T) {
	const starvation = 60 * time.Second
	env := map[string]string{"ROOM_IDLE_TIMEOUT": "600"} // no room passivates while the test runs
	for k, v := range failoverEnv {
		env[k] = v
	}
	nodes, issuer := startCluster(t, env, nil)
	checkLeaseTTL(t, nodes, 10*time.Second)
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, 30)
	waiting := map[string]*servicetest.Client{} // room -> its waiting participant's browser
	waitingID := map[string]string{}
	for i, room := range rooms { // each room active on its owner, with one waiting participant
		guest := servicetest.NewClient(t, nodes[i%3].URL, "")
		res, err := guest.Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		if err != nil || res.Status != http.StatusOK || res.JSON()["status"] != "waiting" {
			t.Fatalf("knock in %s: %d %v %v", room, res.Status, res.JSON(), err)
		}
		waiting[room], waitingID[room] = guest, res.JSON()["id"].(string)
	}
	before := roomCounters(t, nodes)

	burner := startCPUBurner(t)
	t.Logf("CPU burner: %s", burner)
	stop := make(chan struct{})
	samples := watchMembership(nodes, stop)
	// Meanwhile every room is polled in turn through every node: a room that moved would show
	// in the counters, a room that could not be reached here.
	var polls, pollFailures atomic.Int64
	var firstFailure atomic.Value
	pollerDone := make(chan struct{})
	starved := time.Now()
	go func() { // the starvation lasts as long as this loop
		defer close(pollerDone)
		pace := time.NewTicker(50 * time.Millisecond) // a steady trickle, not a load of its own
		defer pace.Stop()
		for i := 0; time.Since(starved) < starvation; i++ {
			<-pace.C
			room := rooms[i%len(rooms)]
			via := nodes[(i/len(rooms))%3].URL
			res, err := waiting[room].Via(via).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
			polls.Add(1)
			if err != nil || res.Status != http.StatusOK || res.JSON()["status"] != "waiting" {
				pollFailures.Add(1)
				firstFailure.CompareAndSwap(nil, fmt.Sprintf("poll %s through %s: %d %v %v", room, via, res.Status, res.JSON(), err))
			}
		}
	}()
	// Each node in turn, 10 s apart: frozen for frozenFor, then running again.
	frozenDone := make(chan struct{})
	go func() {
		defer close(frozenDone)
		for _, n := range nodes {
			<-time.After(10 * time.Second)
			n.Signal(syscall.SIGSTOP)
			<-time.After(frozenFor)
			n.Signal(syscall.SIGCONT)
		}
	}()
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Signal(syscall.SIGCONT)
		}
	})
	<-frozenDone
	<-pollerDone
	close(stop)

	changes, unanswered := 0, 0
	perNode := make([]int, len(nodes))
	storeOff := make([]int, len(nodes))
	var firstChange *membershipSample
	for _, s := range samples() {
		perNode[s.node]++
		switch {
		case s.status == 0:
			unanswered++
		case s.storeUnavailable():
			// A readiness ping that outlasted REDIS_TIMEOUT on a starved machine: now and then,
			// not as the rule (checked below).
			storeOff[s.node]++
		case s.status != http.StatusOK || s.members != 3:
			changes++
			if firstChange == nil {
				firstChange = &s
			}
		}
	}
	t.Logf("under the burner for %v, each node frozen %v in turn: %d membership samples off (not ready or not 3 members), %d /readyz unanswered within 5 s, store unavailable %v of %v per node; %d polls, %d failed",
		starvation, frozenFor, changes, unanswered, storeOff, perNode, polls.Load(), pollFailures.Load())
	for i := range nodes {
		if storeOff[i] > max(2, perNode[i]/20) {
			t.Errorf("node %d answered \"store unavailable\" in %d of its %d /readyz samples under the burner", i+1, storeOff[i], perNode[i])
		}
	}
	if firstChange != nil {
		t.Errorf("membership changed under the burner: first at %v, node %d answered %d with %d members", firstChange.at.Round(time.Millisecond), firstChange.node+1, firstChange.status, firstChange.members)
	}
	for i, n := range nodes {
		if strings.Contains(n.Log(), "not in the cluster membership") {
			t.Errorf("node %d found itself outside the membership under the burner:\n%s", i+1, n.Log())
		}
	}
	after := roomCounters(t, nodes)
	t.Logf("room counters before %v, after %v", before, after)
	for name, v := range before {
		if after[name] != v {
			t.Errorf("%s went from %v to %v under the burner: rooms moved", name, v, after[name])
		}
	}
	if f := firstFailure.Load(); f != nil {
		t.Errorf("%d of %d polls failed under the burner, first: %v", pollFailures.Load(), polls.Load(), f)
	}
	for _, room := range rooms {
		for _, via := range nodes {
			res, err := owner.Via(via.URL).Request(http.MethodGet, "/api/v1.0/rooms/"+room+"/waiting-participants/", nil)
			list, _ := res.JSON()["participants"].([]any)
			if err != nil || res.Status != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["id"] != waitingID[room] {
				t.Fatalf("waiting list of %s through %s after the starvation: %d %v %v", room, via.URL, res.Status, res.JSON(), err)
			}
		}
	}
	if t.Failed() {
		return
	}

	// kill -9 under the same burner: the survivors see its connections break.
	victim, survivors := nodes[2], nodes[:2]
	moved := ownedBy(nodes, rooms)[victim]
	if len(moved) == 0 {
		t.Fatal("the victim hosts none of the 30 rooms")
	}
	victim.Kill()
	killed := time.Now()
	room := moved[0]
	var firstAnswer time.Duration
	servicetest.Eventually(t, 30*time.Second, "a moved room served by a survivor", func() bool {
		res, err := waiting[room].Via(survivors[0].URL).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
		if err == nil && res.Status == http.StatusOK && res.JSON()["status"] == "waiting" {
			firstAnswer = time.Since(killed)
			return true
		}
		return false
	})
	t.Logf("kill -9 under the burner: first good answer for a moved room %v after the kill", firstAnswer.Round(time.Millisecond))
	if firstAnswer >= 3*time.Second {
		t.Errorf("first good answer for a moved room %v after the kill, want under 3 s", firstAnswer.Round(time.Millisecond))
	}
	for i, room := range moved { // every moved room kept its waiting participant
		via := survivors[i%2].URL
		servicetest.Eventually(t, 30*time.Second, "moved room "+room+" served by a survivor", func() bool {
			res, err := waiting[room].Via(via).Request(http.MethodPost, "/api/v1.0/rooms/"+room+"/request-entry/", map[string]any{"username": "Guest"})
			return err == nil && res.Status == http.StatusOK && res.JSON()["status"] == "waiting"
		})
	}
}

// checkLeaseTTL: every node's etcd registration holds a lease of ttl (CLUSTER_LEASE_TTL), not
// the 3 s protoactor's provider asks for.
func checkLeaseTTL(t *testing.T, nodes []*servicetest.Process, ttl time.Duration) {
	t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: servicetest.EtcdEndpoints(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := ""
	for _, kv := range nodes[0].Env {
		if v, ok := strings.CutPrefix(kv, "CLUSTER_NAME="); ok {
			name = v
		}
	}
	registrations, err := client.Get(ctx, "/meetcoord/"+name+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(registrations.Kvs) != len(nodes) {
		t.Fatalf("%d registrations in etcd for %d nodes", len(registrations.Kvs), len(nodes))
	}
	for _, kv := range registrations.Kvs {
		lease, err := client.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
		if err != nil {
			t.Fatal(err)
		}
		if time.Duration(lease.GrantedTTL)*time.Second != ttl {
			t.Fatalf("registration %s holds a lease of %d s, want %v", kv.Key, lease.GrantedTTL, ttl)
		}
	}
}
