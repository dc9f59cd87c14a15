package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"meetcoord/cmd/meetcoord/service/servicetest"
	"meetcoord/gateway/lobbyid"
)

// jepsenDurationEnv sets how long the checked-history test drives its clients and nemesis
// (a Go duration; default 15s, the `make test` run; `make jepsen` runs 60s five times).
const jepsenDurationEnv = "MEETCOORD_JEPSEN_DURATION"

// jepsenProbeEnv=0 stops the nemesis probing a paused node with reads (see jepsenRun.probe), which
// it does by default: they are where a stale activation of a resumed node would answer (the
// rooms check their epoch after a stall, actors/room/stallcheck.go).
const jepsenProbeEnv = "MEETCOORD_JEPSEN_PROBE_PAUSED"

const (
	jepsenRooms   = 5
	jepsenWorkers = 6
	// jepsenClientTimeout is above ROOM_REQUEST_TIMEOUT (10 s), so that a node that is up
	// answers (503) before the client gives up.
	jepsenClientTimeout = 15 * time.Second
	// The nodes' SECRET_KEY: the test derives its guests' participant ids with it.
	jepsenServerKey = "a-test-server-key-of-at-least-32-bytes"
)

// TestJepsenRoomLinearizable: random concurrent clients knock, poll, admit, deny, list the
// waiting participants and read and write the access level of a few rooms, through the three
// nodes of a cluster, while a nemesis kills -9, pauses (SIGSTOP/SIGCONT) and gracefully restarts
// nodes and crashes Redis. Every operation's call and return (monotonic clock) and answer are
// recorded; an operation whose answer was lost (timeout, transport error, 5xx) is indeterminate,
// as Jepsen treats it. The history of each room must be linearizable against the model of
// jepsen_model_test.go (porcupine). On a violation, porcupine's visualization is written to a
// file the failure names.
func TestJepsenRoomLinearizable(t *testing.T) {
	duration := 15 * time.Second
	if v := os.Getenv(jepsenDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", jepsenDurationEnv, v, err)
		}
		duration = d
	}
	began := time.Now()
	redis := startDurableRedis(t)
	nodes, issuer := startCluster(t, map[string]string{
		"REDIS_URL":  redis.URL,
		"SECRET_KEY": jepsenServerKey,
		// No lobby entry expires during the run: the model has no time.
		"LOBBY_WAITING_TIMEOUT":  "3600",
		"LOBBY_DENIED_TIMEOUT":   "3600",
		"LOBBY_ACCEPTED_TIMEOUT": "21600",
		// The per-client limits are not what is checked (every guest comes from 127.0.0.1).
		"REQUEST_ENTRY_THROTTLE_RATES": "1000000/minute",
		// A node that a long pause dropped from the membership exits soon, and is restarted.
		"CLUSTER_REJOIN_TIMEOUT": "5",
		// The shortest lease allowed, so that a long pause (4 to 6 s) outlasts it and moves the
		// paused node's rooms: the default (10 s) keeps a node that slow, which is not the fault
		// wanted here.
		"CLUSTER_LEASE_TTL": "3",
	}, nil)
	t.Logf("cluster up after %v", time.Since(began).Round(time.Millisecond))
	owner := mintOwner(t, issuer)
	rooms := createRooms(t, owner, nodes, jepsenRooms)
	key, err := lobbyid.NewKey([]byte(jepsenServerKey))
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * jepsenWorkers}
	t.Cleanup(transport.CloseIdleConnections)
	run := &jepsenRun{
		start:  time.Now(),
		nodes:  nodes,
		key:    key,
		owner:  owner.WithTransport(transport, jepsenClientTimeout),
		guest:  servicetest.NewClient(t, "", "").WithTransport(transport, jepsenClientTimeout),
		rooms:  map[string]*jepsenRoom{},
		stop:   make(chan struct{}),
		nextID: jepsenWorkers,
	}
	for _, id := range rooms {
		run.rooms[id] = &jepsenRoom{id: id, byID: map[string]int{}}
		run.roomIDs = append(run.roomIDs, id)
	}

	for w := range jepsenWorkers {
		run.wg.Add(1)
		go run.worker(w)
	}
	nemesis := &jepsenNemesis{t: t, run: run, redis: redis, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)),
		probe: os.Getenv(jepsenProbeEnv) != "0"}
	stopClients := sync.OnceFunc(func() { close(run.stop); run.wg.Wait() })
	defer stopClients() // also when the nemesis fails the test
	nemesis.runUntil(run.start.Add(duration))
	stopClients()

	ran := time.Since(run.start)
	t.Logf("clients stopped after %v", ran.Round(time.Millisecond))
	history, indeterminate := run.history()
	checking := time.Now()
	checked, violations, undecided := run.check(t, history, nemesis.annotations)
	t.Logf("checked history: %d operations checked (%d indeterminate) in %d rooms over %v (checked in %v); "+
		"%d sent through a paused node; %d failed reads and %d refused connections not checked; faults injected: %d (%s); "+
		"violations found: %d; rooms the checker could not decide in time: %d",
		checked, indeterminate, len(rooms), ran.Round(time.Second), time.Since(checking).Round(time.Millisecond), run.probes.Load(),
		run.failedReads.Load(), run.refused.Load(), nemesis.total(), nemesis.summary(), len(violations), undecided)
	// How often the members' views disagreed enough that a room was activated while another
	// member held it (counters of the nodes as they are now: a restarted node starts from 0).
	var released, gaveUp float64
	for _, n := range nodes {
		res, err := n.Client(t, "").Request(http.MethodGet, "/metrics", nil)
		if err != nil || res.Status != http.StatusOK {
			continue // a node the last fault left down: its counters are gone anyway
		}
		metrics, err := servicetest.ParseMetrics(res.Body)
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		r, _ := metrics.Value("meetcoord_room_released_total")
		g, _ := metrics.Value("meetcoord_room_handovers_failed_total")
		released, gaveUp = released+r, gaveUp+g
	}
	t.Logf("handovers: %v activations released to a newer one, %v new activations gave up", released, gaveUp)
	if n := run.unexpected.Load(); n > 0 {
		t.Errorf("%d answers outside the API's contract, first ones:\n%s", n, strings.Join(run.unexpectedSample(), "\n"))
	}
	if len(violations) > 0 {
		t.Fatalf("the history of %d rooms is not linearizable; porcupine's visualizations:\n%s", len(violations), strings.Join(violations, "\n"))
	}
	if checked == 0 {
		t.Fatal("no operation was checked")
	}
}

// jepsenRun is the clients' side of the test: the rooms, their guests, and the history.
type jepsenRun struct {
	start   time.Time
	nodes   []*servicetest.Process
	key     lobbyid.Key
	owner   *servicetest.Client // the rooms' owner
	guest   *servicetest.Client // anonymous; the guest's lobby cookie is sent by hand
	roomIDs []string
	rooms   map[string]*jepsenRoom
	stop    chan struct{}
	wg      sync.WaitGroup

	mu         sync.Mutex
	ops        []porcupine.Operation
	unknownOps []int // indices in ops of the indeterminate operations
	nextID     int   // next porcupine client id (a worker takes a new one after an indeterminate operation, as Jepsen does)
	sample     []string

	paused      atomic.Int32 // index+1 of the node the nemesis paused (0: none)
	probes      atomic.Int64 // operations sent through a paused node
	failedReads atomic.Int64 // reads that got no answer: they changed nothing, left out
	refused     atomic.Int64 // connections refused: the request never reached a node, left out
	unexpected  atomic.Int64
}

// jepsenRoom is a room's guests: guest g's lobby secret and the participant id it gives there.
type jepsenRoom struct {
	id      string
	mu      sync.Mutex
	secrets []string
	ids     []string
	byID    map[string]int
}

func (r *jepsenRoom) guests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.secrets)
}

// newGuest adds a guest (a browser with a fresh lobby secret); -1 when the room has maxGuests.
func (r *jepsenRoom) newGuest(key lobbyid.Key) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.secrets) == maxGuests {
		return -1, nil
	}
	secret := lobbyid.NewSecret()
	id, err := key.ParticipantID(r.id, secret)
	if err != nil {
		return -1, err
	}
	g := len(r.secrets)
	r.secrets, r.ids, r.byID[id] = append(r.secrets, secret), append(r.ids, id), g
	return g, nil
}

func (r *jepsenRoom) guest(g int) (secret, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.secrets[g], r.ids[g]
}

func (r *jepsenRoom) guestOf(id string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.byID[id]
	return g, ok
}

// outcome of one request.
type outcome int

const (
	outcomeOK            outcome = iota // answered within the contract
	outcomeIndeterminate                // no answer, or a 5xx: may have taken effect
	outcomeRefused                      // the connection was refused: never reached a node
	outcomeUnexpected                   // an answer outside the contract (reported, and indeterminate)
)

func (j *jepsenRun) worker(w int) {
	defer j.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	client := w
	for {
		select {
		case <-j.stop:
			return
		default:
		}
		room := j.rooms[j.roomIDs[rng.IntN(len(j.roomIDs))]]
		// Like a load balancer whose readiness probe timed out, the workers send nothing to a
		// paused node (the nemesis's probes do).
		node := rng.IntN(len(j.nodes))
		if paused := int(j.paused.Load()) - 1; node == paused {
			node = (node + 1 + rng.IntN(len(j.nodes)-1)) % len(j.nodes)
		}
		in, ok := j.choose(rng, room)
		if !ok {
			continue
		}
		var result outcome
		client, result = j.once(client, j.nodes[node].URL, room, in)
		if result != outcomeOK {
			// Back off a little: a node or Redis is down, and the machine is shared.
			select {
			case <-j.stop:
				return
			case <-time.After(time.Duration(50+rng.IntN(200)) * time.Millisecond):
			}
		}
	}
}

// once performs one operation as porcupine client `client` and records it; it returns the
// client id to use next (a new one after an indeterminate operation, as Jepsen does).
func (j *jepsenRun) once(client int, node string, room *jepsenRoom, in roomInput) (int, outcome) {
	call := j.now()
	out, result, detail := j.perform(node, room, in)
	ret := j.now()
	switch {
	case result == outcomeRefused:
		j.refused.Add(1)
	case result != outcomeOK && (in.kind == opListWaiting || in.kind == opGetRoom):
		j.failedReads.Add(1) // a read that got no answer changed nothing
	default:
		out.unknown = result != outcomeOK
		j.record(porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret, Metadata: detail}, out.unknown)
		if out.unknown {
			client = j.newClientID()
		}
	}
	return client, result
}

// probe sends a read of the access level and of the waiting list of every room through a
// paused node, each from a client of its own: they wait in the node's sockets and are answered
// once it resumes, possibly by activations that the cluster replaced meanwhile (those must not
// answer stale state). Few of them: each is concurrent with every operation of the pause, and
// the checker's work grows exponentially with concurrency.
func (j *jepsenRun) probe(node string) {
	for _, id := range j.roomIDs {
		room := j.rooms[id]
		for _, in := range []roomInput{{room: id, kind: opGetRoom}, {room: id, kind: opListWaiting}} {
			j.probes.Add(1)
			j.wg.Add(1)
			go func() {
				defer j.wg.Done()
				j.once(j.newClientID(), node, room, in)
			}()
		}
	}
}

// choose draws the next operation on room: mostly lobby traffic, some reads and writes of the
// access level (public a third of the time, so that the bypass is exercised too).
func (j *jepsenRun) choose(rng *rand.Rand, room *jepsenRoom) (roomInput, bool) {
	in := roomInput{room: room.id}
	guests := room.guests()
	switch p := rng.IntN(100); {
	case p < 6 || (p < 58 && guests == 0):
		g, err := room.newGuest(j.key)
		if err != nil || g < 0 {
			return in, false
		}
		in.kind, in.guest, in.knock = opRequestEntry, g, true
	case p < 38:
		in.kind, in.guest = opRequestEntry, rng.IntN(guests)
	case p < 58:
		in.kind, in.guest, in.allow = opDecide, rng.IntN(guests), p < 50
	case p < 73:
		in.kind = opListWaiting
	case p < 88:
		in.kind = opGetRoom
	default:
		in.kind = opSetAccess
		in.level = []accessLevel{accessRestricted, accessRestricted, accessTrusted, accessPublic, accessPublic}[rng.IntN(5)]
	}
	return in, true
}

// perform sends the operation's request through node and reads its answer.
func (j *jepsenRun) perform(node string, room *jepsenRoom, in roomInput) (roomOutput, outcome, string) {
	var out roomOutput
	path := "/api/v1.0/rooms/" + room.id + "/"
	var res servicetest.Response
	var err error
	switch in.kind {
	case opRequestEntry:
		secret, _ := room.guest(in.guest)
		res, err = j.guest.Via(node).Request(http.MethodPost, path+"request-entry/", map[string]any{"username": fmt.Sprint("Guest ", in.guest)},
			"Cookie", "lobbyParticipantId="+secret)
	case opDecide:
		_, id := room.guest(in.guest)
		res, err = j.owner.Via(node).Request(http.MethodPost, path+"enter/", map[string]any{"participant_id": id, "allow_entry": in.allow})
	case opListWaiting:
		res, err = j.owner.Via(node).Request(http.MethodGet, path+"waiting-participants/", nil)
	case opGetRoom:
		res, err = j.owner.Via(node).Request(http.MethodGet, path, nil)
	case opSetAccess:
		res, err = j.owner.Via(node).Request(http.MethodPatch, path, map[string]any{"access_level": accessLevelNames[in.level]})
	}
	nodeName := fmt.Sprintf("node %d", slices.IndexFunc(j.nodes, func(p *servicetest.Process) bool { return p.URL == node })+1)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return out, outcomeRefused, nodeName + ": " + err.Error()
		}
		return out, outcomeIndeterminate, nodeName + ": " + err.Error()
	}
	answer := strings.TrimSpace(string(res.Body))
	if len(answer) > 160 {
		answer = answer[:160] + "..."
	}
	detail := fmt.Sprintf("%s: %d %s", nodeName, res.Status, answer)
	if res.Status >= 500 {
		return out, outcomeIndeterminate, detail
	}
	body := res.JSON()
	unexpected := func() (roomOutput, outcome, string) {
		j.noteUnexpected(describeOperation(in, roomOutput{unknown: true}) + " through " + detail)
		return out, outcomeUnexpected, detail
	}
	switch in.kind {
	case opRequestEntry:
		_, id := room.guest(in.guest)
		status := slices.IndexFunc([]string{"none", "waiting", "accepted", "denied"}, func(s string) bool { return s == body["status"] })
		if res.Status != http.StatusOK || status <= 0 || body["id"] != id {
			return unexpected()
		}
		out.status = entryStatus(status)
	case opDecide:
		switch {
		case res.Status == http.StatusOK:
			out.found = true
		case res.Status == http.StatusNotFound && body["detail"] != "No Room matches the given query.":
			out.found = false
		default:
			return unexpected()
		}
	case opListWaiting:
		list, ok := body["participants"].([]any)
		if res.Status != http.StatusOK || !ok {
			return unexpected()
		}
		for _, p := range list {
			id, _ := p.(map[string]any)["id"].(string)
			if g, known := room.guestOf(id); known {
				out.waiting = out.waiting.with(g)
			} else {
				out.foreign = true
			}
		}
	case opGetRoom, opSetAccess:
		level := slices.IndexFunc([]string{"public", "trusted", "restricted"}, func(s string) bool { return s == body["access_level"] })
		if res.Status != http.StatusOK || level < 0 {
			return unexpected()
		}
		out.level = accessLevel(level)
	}
	return out, outcomeOK, detail
}

func (j *jepsenRun) now() int64 { return int64(time.Since(j.start)) }

func (j *jepsenRun) record(op porcupine.Operation, unknown bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if unknown {
		j.unknownOps = append(j.unknownOps, len(j.ops))
	}
	j.ops = append(j.ops, op)
}

func (j *jepsenRun) newClientID() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.nextID++
	return j.nextID - 1
}

func (j *jepsenRun) noteUnexpected(what string) {
	j.unexpected.Add(1)
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.sample) < 10 {
		j.sample = append(j.sample, what)
	}
}

func (j *jepsenRun) unexpectedSample() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.sample...)
}

// history is the recorded operations, the indeterminate ones returning at the end of the history
// (after every other operation: Jepsen's infinite return time).
func (j *jepsenRun) history() ([]porcupine.Operation, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var end int64
	for _, op := range j.ops {
		end = max(end, op.Return)
	}
	ops := append([]porcupine.Operation(nil), j.ops...)
	for _, i := range j.unknownOps {
		ops[i].Return = end + 1
	}
	return ops, len(j.unknownOps)
}

// check checks each room's history; for each room that is not linearizable, it writes porcupine's
// visualization (with the nemesis's faults) to a file that outlives the test, and returns its path.
func (j *jepsenRun) check(t *testing.T, history []porcupine.Operation, faults []porcupine.Annotation) (checked int, violations []string, undecided int) {
	const perRoom = 2 * time.Minute
	var dir string
	for _, roomOps := range roomModel.Partition(history) {
		checked += len(roomOps)
		room := roomOps[0].Input.(roomInput).room
		switch porcupine.CheckOperationsTimeout(roomModel, roomOps, perRoom) {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			undecided++
			t.Logf("room %s: %d operations, not decided within %v", room, len(roomOps), perRoom)
			continue
		}
		_, info := porcupine.CheckOperationsVerbose(roomModel, roomOps, 0)
		info.AddAnnotations(faults)
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "meetcoord-jepsen-"); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "room-"+room+".html")
		if err := porcupine.VisualizePath(roomModel, info, path); err != nil {
			t.Fatalf("write the visualization of room %s: %v", room, err)
		}
		violations = append(violations, fmt.Sprintf("room %s (%d operations): %s\n%s", room, len(roomOps), path, explainViolation(roomOps, info)))
	}
	return checked, violations, undecided
}

// jepsenNemesis injects one fault at a time, from the test goroutine (it restarts nodes, which
// may fail the test), and heals the cluster after each.
type jepsenNemesis struct {
	t           *testing.T
	run         *jepsenRun
	redis       *durableRedis
	rng         *rand.Rand
	probe       bool // probe a paused node with reads (unless MEETCOORD_JEPSEN_PROBE_PAUSED=0)
	counts      [4]int
	annotations []porcupine.Annotation
}

var faultNames = [4]string{"kill -9 and restart of a node", "SIGSTOP/SIGCONT of a node", "graceful restart of a node", "crash and restart of Redis"}

// runUntil injects the faults in rounds of each kind once, in random order, until end; the
// first round is always complete, so that a short run sees every kind of fault.
func (n *jepsenNemesis) runUntil(end time.Time) {
	for round := 0; round == 0 || time.Now().Before(end); round++ {
		for _, fault := range n.rng.Perm(len(faultNames)) {
			if round > 0 && !time.Now().Before(end) {
				return
			}
			n.quiet(time.Duration(500+n.rng.IntN(1500)) * time.Millisecond) // let the clients make progress
			began := n.run.now()
			what := n.inject(fault)
			n.heal()
			n.counts[fault]++
			n.annotations = append(n.annotations, porcupine.Annotation{
				Tag: "nemesis", Start: began, End: n.run.now(), Description: what, BackgroundColor: "#f6d7a7",
			})
			n.t.Logf("nemesis: %s (%v until healed)", what, time.Duration(n.run.now()-began).Round(time.Millisecond))
		}
	}
}

func (n *jepsenNemesis) inject(fault int) string {
	i := n.rng.IntN(len(n.run.nodes))
	node := n.run.nodes[i]
	hold := time.Duration(500+n.rng.IntN(1500)) * time.Millisecond
	switch fault {
	case 0:
		node.Kill()
		n.quiet(hold)
		node.Restart(n.t)
		return fmt.Sprintf("kill -9 node %d, restarted after %v", i+1, hold)
	case 1:
		// A long pause (beyond the etcd lease, CLUSTER_LEASE_TTL 3 s here; every other one, the first included) drops
		// the node from the membership: its rooms move, and it comes back with stale
		// activations. A short one only makes it slow.
		// With probes on, half a second before a long pause ends, reads of every room go
		// through the paused node: they are sent after its rooms moved, and after writes the
		// new activations acknowledged.
		pause := time.Duration(1000+n.rng.IntN(1000)) * time.Millisecond
		long := n.counts[fault]%2 == 0
		if long {
			pause = time.Duration(4000+n.rng.IntN(2000)) * time.Millisecond
		}
		n.run.paused.Store(int32(i + 1))
		node.Signal(syscall.SIGSTOP)
		resume := time.Now().Add(pause)
		if long && n.probe {
			n.quiet(time.Until(resume.Add(-500 * time.Millisecond)))
			n.run.probe(node.URL)
		}
		n.quiet(time.Until(resume))
		node.Signal(syscall.SIGCONT)
		n.run.paused.Store(0)
		return fmt.Sprintf("SIGSTOP node %d for %v", i+1, pause)
	case 2:
		node.Signal(syscall.SIGTERM)
		servicetest.Eventually(n.t, 30*time.Second, fmt.Sprintf("node %d to exit after SIGTERM", i+1), func() bool {
			exited, _ := node.Exited()
			return exited
		})
		node.Restart(n.t)
		return fmt.Sprintf("SIGTERM node %d, restarted", i+1)
	default:
		n.redis.kill()
		n.quiet(hold)
		if err := n.redis.start(); err != nil {
			n.t.Fatal(err)
		}
		return fmt.Sprintf("kill -9 Redis, restarted after %v", hold)
	}
}

// heal waits until every node is ready and sees three members, restarting a node that exited
// (one that a long pause dropped from the membership exits after CLUSTER_REJOIN_TIMEOUT).
func (n *jepsenNemesis) heal() {
	deadline := time.Now().Add(90 * time.Second)
	for {
		for i, node := range n.run.nodes {
			if exited, code := node.Exited(); exited {
				n.t.Logf("nemesis: node %d had exited (%d), restarting it", i+1, code)
				node.Restart(n.t)
			}
		}
		if clusterFormed(n.run.nodes) {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatal("the cluster did not heal within 90s after a fault")
		}
		n.quiet(200 * time.Millisecond)
	}
}

// clusterFormed: every node is ready and sees all the nodes as members.
func clusterFormed(nodes []*servicetest.Process) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for _, node := range nodes {
		res, err := client.Get(node.URL + "/readyz")
		if err != nil {
			return false
		}
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || body["members"] != float64(len(nodes)) {
			return false
		}
	}
	return true
}

// quiet lets time pass (the nemesis's holds and gaps are durations by design, not waits on a
// condition).
func (n *jepsenNemesis) quiet(d time.Duration) { <-time.After(d) }

func (n *jepsenNemesis) total() int {
	sum := 0
	for _, c := range n.counts {
		sum += c
	}
	return sum
}

func (n *jepsenNemesis) summary() string {
	var parts []string
	for i, c := range n.counts {
		parts = append(parts, fmt.Sprintf("%d %s", c, faultNames[i]))
	}
	return strings.Join(parts, ", ")
}

// explainViolation says where a room's history stops being linearizable: the state after the
// longest linearizable prefix porcupine found, the operation that cannot be placed after it
// (the earliest to return of those left out), and the operations that overlap it.
func explainViolation(ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var longest []porcupine.Operation
	for _, partition := range info.PartialLinearizationsOperations() {
		for _, l := range partition {
			if len(l) > len(longest) {
				longest = l
			}
		}
	}
	state := roomState{access: accessRestricted}
	placed := map[int64]bool{} // by call time and client: unique enough to tell operations apart
	for _, op := range longest {
		_, state = stepRoom(state, op.Input.(roomInput), op.Output.(roomOutput))
		placed[op.Call*1000+int64(op.ClientId)] = true
	}
	var stuck *porcupine.Operation
	for i, op := range ops {
		if !placed[op.Call*1000+int64(op.ClientId)] && (stuck == nil || op.Return < stuck.Return) {
			stuck = &ops[i]
		}
	}
	if stuck == nil {
		return "  (no operation left out)"
	}
	describe := func(op porcupine.Operation) string {
		return fmt.Sprintf("    [%v, %v] %s (%v)", time.Duration(op.Call).Round(time.Millisecond), time.Duration(op.Return).Round(time.Millisecond),
			describeOperation(op.Input.(roomInput), op.Output.(roomOutput)), op.Metadata)
	}
	lines := []string{
		fmt.Sprintf("  longest linearizable prefix: %d operations, ending in state: %s", len(longest), describeState(state)),
		"  cannot place:", describe(*stuck), "  overlapping it:",
	}
	overlapping := 0
	for _, op := range ops {
		if op.Call <= stuck.Return && op.Return >= stuck.Call && op != *stuck {
			if overlapping++; overlapping <= 20 {
				lines = append(lines, describe(op))
			}
		}
	}
	if overlapping > 20 {
		lines = append(lines, fmt.Sprintf("    ... and %d more", overlapping-20))
	}
	if len(longest) > 0 {
		lines = append(lines, "  last placed:")
		for _, op := range longest[max(0, len(longest)-5):] {
			lines = append(lines, describe(op))
		}
	}
	return strings.Join(lines, "\n")
}
