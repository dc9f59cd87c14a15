package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"meetcoord/actors/room"
	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/config"
	"meetcoord/cmd/meetcoord/service"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/openapi/openapitest"
)

// Node is a meetcoord node under test: the real gateway, actor system and Redis store, served
// by an httptest server, with user tokens verified through OIDC discovery against a real issuer.
type Node struct {
	t       testing.TB
	URL     string // base URL of the HTTP server, e.g. http://127.0.0.1:port
	Env     map[string]string
	Clock   *Clock
	Stalls  *Stalls // when the node "stood still": the test says so by hand
	LiveKit *LiveKitRecorder
	Issuer  *gwauth.DevIssuer
	Redis   *store.Redis // direct access for assertions (nil with the in-process store)
	Service *service.Service

	server      *httptest.Server
	handler     atomic.Value // http.Handler of the current service; the server outlives restarts
	realLK      bool         // talk to a real livekit-server instead of the recorder
	dropWebhook atomic.Value // func(event string) bool: webhooks "lost on the way" (answered 200, not delivered)
	mu          sync.Mutex
	closed      bool
}

// Settings passed to every test node unless the test overrides them.
var defaultEnv = map[string]string{
	"LIVEKIT_API_KEY":      "testkey",
	"LIVEKIT_API_SECRET":   "test-secret-of-at-least-32-characters",
	"SECRET_KEY":           "a-test-server-key-of-at-least-32-bytes",
	"LIVEKIT_API_URL":      "http://127.0.0.1:1", // nothing listens: the recorder stands in
	"LOBBY_COOKIE_SECURE":  "false",
	"ROOM_REQUEST_TIMEOUT": "10",
	"LOG_LEVEL":            "error",
	// Tests poll hard; they get their own limits when they test limits.
	"REQUEST_ENTRY_THROTTLE_RATES":     "100000/second",
	"CREATION_CALLBACK_THROTTLE_RATES": "100000/second",
	"ROOM_CREATION_THROTTLE_RATES":     "100000/second",
	// Every test guest comes from 127.0.0.1.
	"LOBBY_MAX_WAITING_PER_ADDRESS": "100000",
}

// StartNode starts a node on a fresh test Redis database. env overrides the defaults; with
// "REDIS_URL" set to "" the in-process store is used. With "LISTEN_ADDR" set the node listens
// there (for settings that must name the node's URL before it starts, such as a redirect URI).
func StartNode(t testing.TB, env map[string]string) *Node {
	t.Helper()
	return startNodeAt(t, env, env["LISTEN_ADDR"], false)
}

func startNodeAt(t testing.TB, env map[string]string, listenAddr string, realLiveKit bool) *Node {
	t.Helper()
	issuerServer, issuer := StartIssuer(t)
	merged := map[string]string{"REDIS_URL": ""}
	for k, v := range defaultEnv {
		merged[k] = v
	}
	merged["OIDC_ISSUER"] = issuer.IssuerURL()
	if _, ok := env["REDIS_URL"]; !ok {
		merged["REDIS_URL"] = RedisURL(t)
	}
	for k, v := range env {
		merged[k] = v
	}
	n := &Node{t: t, Env: merged, Clock: NewClock(), Stalls: &Stalls{}, LiveKit: NewLiveKitRecorder(), Issuer: issuer, realLK: realLiveKit}
	_ = issuerServer
	n.listenAt(listenAddr)
	if merged["REDIS_URL"] != "" {
		r, err := store.NewRedis(merged["REDIS_URL"], 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		n.Redis = r
	}
	n.start()
	t.Cleanup(n.Close)
	return n
}

// StartNodeWithLiveKit starts a real livekit-server whose webhooks go to a node, and the node
// talking to it (no recorder). "LISTEN_ADDR" in env is honoured as by StartNode.
func StartNodeWithLiveKit(t testing.TB, env map[string]string) (*Node, *LiveKitServer) {
	t.Helper()
	n, lk, _ := startWithLiveKit(t, env, nil)
	return n, lk
}

// StartNodeWithEgress is StartNodeWithLiveKit with an egress stand-in answering LiveKit's
// Egress API.
func StartNodeWithEgress(t testing.TB, env map[string]string) (*Node, *LiveKitServer, *EgressStandIn) {
	t.Helper()
	return startWithLiveKit(t, env, &EgressStandIn{info: map[string]*livekit.EgressInfo{}})
}

func startWithLiveKit(t testing.TB, env map[string]string, egress *EgressStandIn) (*Node, *LiveKitServer, *EgressStandIn) {
	t.Helper()
	// The node's address must exist before LiveKit starts (webhook URL) and LiveKit's before
	// the node does (API URL): listen first, start the service once LiveKit runs.
	probe := &Node{t: t}
	probe.listenAt(env["LISTEN_ADDR"]) // a fixed address when settings must name it (browser login)
	webhookURL := probe.URL + "/api/v1.0/rooms/webhooks-livekit/"
	lk := StartLiveKit(t, LiveKitOptions{WebhookURLs: []string{webhookURL}})
	apiURL := lk.URL
	if egress != nil {
		apiURL = startEgressProxy(t, lk, egress)
	}
	merged := map[string]string{
		"LIVEKIT_API_URL": apiURL, "LIVEKIT_API_KEY": lk.Key, "LIVEKIT_API_SECRET": lk.Secret,
	}
	for k, v := range env {
		merged[k] = v
	}
	probe.server.Close()
	n := startNodeAt(t, merged, probe.server.Listener.Addr().String(), true)
	if egress != nil {
		egress.node = n
	}
	return n, lk, egress
}

// liveNodes counts the nodes running in this process. protoactor's remote sets gRPC's
// process-wide logger each time it starts (remote/server.go), racing with a running node's gRPC
// goroutines: tests run one node at a time per process (several nodes are several processes).
var liveNodes atomic.Int32

func (n *Node) start() {
	n.t.Helper()
	if liveNodes.Add(1) > 1 {
		liveNodes.Add(-1)
		n.t.Fatal("another test node is running in this process: close it first " +
			"(protoactor's remote start races with a running node; use one node at a time)")
	}
	cfg, err := config.Load(func(k string) string { return n.Env[k] }, false)
	if err != nil {
		liveNodes.Add(-1)
		n.t.Fatalf("test configuration: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter(n.t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if n.Env["LOG_LEVEL"] == "error" {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := service.Options{LiveKit: n.LiveKit, Clock: n.Clock, Stalls: n.Stalls}
	if n.realLK {
		opts.LiveKit = nil
	}
	svc, err := service.New(cfg, logger, opts)
	if err != nil {
		liveNodes.Add(-1)
		n.t.Fatalf("start node: %v", err)
	}
	n.Service = svc
	n.handler.Store(openapitest.Validate(n.t, svc.Handler())) // every exchange checked against the API description
	n.closed = false
}

// listen starts the node's HTTP server; it serves the current service across restarts.
func (n *Node) listen() {
	n.listenAt("")
}

func (n *Node) listenAt(addr string) {
	n.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := n.handler.Load().(http.Handler)
		if !ok {
			http.Error(w, "node not started", http.StatusServiceUnavailable)
			return
		}
		if drop, _ := n.dropWebhook.Load().(func(string) bool); drop != nil && strings.HasSuffix(r.URL.Path, "/webhooks-livekit/") {
			body, _ := io.ReadAll(r.Body)
			var event struct {
				Event string `json:"event"`
			}
			_ = json.Unmarshal(body, &event)
			if drop(event.Event) {
				w.WriteHeader(http.StatusOK)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			n.t.Fatalf("listen on %s again: %v", addr, err)
		}
		n.server.Listener.Close()
		n.server.Listener = l
	}
	n.server.Start()
	n.URL = n.server.URL
	n.t.Cleanup(n.server.Close)
}

// DropWebhooks makes the webhooks for which drop returns true vanish on their way to the node
// (LiveKit is told 200): the missed events that reconciliation must correct.
func (n *Node) DropWebhooks(drop func(event string) bool) { n.dropWebhook.Store(drop) }

// Close stops the node (HTTP server, cluster member, store connections).
func (n *Node) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	n.Service.Close()
	liveNodes.Add(-1)
}

// Restart stops the node and starts a new process-equivalent on the same Redis and settings:
// nothing survives but what was stored.
func (n *Node) Restart() {
	n.t.Helper()
	n.Close()
	n.start()
}

// Token mints a user's OIDC access token from the test issuer.
func (n *Node) Token(sub, email, fullName string) string {
	n.t.Helper()
	token, err := n.Issuer.Mint(UserClaims(sub, email, fullName), "", time.Hour)
	if err != nil {
		n.t.Fatal(err)
	}
	return token
}

// StartIssuer serves a development OIDC issuer (discovery + JWKS) on its own server, standing
// in for the identity provider.
func StartIssuer(t testing.TB) (*httptest.Server, *gwauth.DevIssuer) {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(server.Close)
	issuer, err := gwauth.LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "issuer.pem"), server.URL+"/oidc")
	if err != nil {
		t.Fatal(err)
	}
	handler = http.StripPrefix("/oidc", issuer.Handler())
	return server, issuer
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testWriter(t testing.TB) io.Writer {
	if os.Getenv("MEETCOORD_TEST_LOGS") != "" {
		return tbWriter{t}
	}
	return io.Discard
}

// Stalls is the node's stall detector, moved by hand: Stall makes every room act as after a
// pause of the whole process (SIGSTOP), which an in-process node cannot take.
type Stalls struct {
	generation atomic.Uint64
}

var _ room.Stalls = (*Stalls)(nil)

// Check implements room.Stalls.
func (s *Stalls) Check() uint64 { return s.generation.Load() }

// Stall tells the rooms that the node just stood still.
func (s *Stalls) Stall() { s.generation.Add(1) }

// Clock is a clock the test moves by hand. Its timers (the rooms' passivation, reconciliation
// and knock notices) fire when Advance moves the time past their deadline, so a test waits for
// a room timer by advancing the clock, never by sleeping.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*clockTimer // armed timers
}

var _ room.Clock = (*Clock)(nil)

// NewClock starts at the current time (LiveKit tokens are checked against real time).
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now implements room.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since implements room.Clock.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// AfterFunc implements room.Clock: f runs when Advance reaches now+d (at once when d <= 0).
func (c *Clock) AfterFunc(d time.Duration, f func()) room.Timer {
	t := &clockTimer{clock: c, f: f}
	t.Reset(d)
	return t
}

// Advance moves the clock forward and fires the timers it passes, in the order of their
// deadlines, before it returns: what they send is in the rooms' mailboxes ahead of the test's
// next request.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	due := c.takeDueLocked()
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// takeDueLocked disarms and returns the timers whose deadline has come, earliest first.
func (c *Clock) takeDueLocked() []*clockTimer {
	var due, armed []*clockTimer
	for _, t := range c.timers {
		if t.deadline.After(c.now) {
			armed = append(armed, t)
		} else {
			due = append(due, t)
		}
	}
	c.timers = armed
	slices.SortStableFunc(due, func(a, b *clockTimer) int { return a.deadline.Compare(b.deadline) })
	return due
}

// clockTimer is a timer of the manual Clock.
type clockTimer struct {
	clock    *Clock
	f        func()
	deadline time.Time
}

// Stop implements room.Timer.
func (t *clockTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.disarmLocked()
}

// Reset implements room.Timer.
func (t *clockTimer) Reset(d time.Duration) bool {
	c := t.clock
	c.mu.Lock()
	armed := t.disarmLocked()
	t.deadline = c.now.Add(d)
	c.timers = append(c.timers, t)
	due := c.takeDueLocked()
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
	return armed
}

func (t *clockTimer) disarmLocked() bool {
	c := t.clock
	for i, armed := range c.timers {
		if armed == t {
			c.timers = slices.Delete(c.timers, i, i+1)
			return true
		}
	}
	return false
}

// LiveKitRecorder stands in for the LiveKit server where none runs: it records every call.
type LiveKitRecorder struct {
	mu       sync.Mutex
	data     []DataMessage
	metadata map[string]string
	Fail     error // when set, every call fails with it
}

var _ room.LiveKit = (*LiveKitRecorder)(nil)

// DataMessage is a recorded SendData call.
type DataMessage struct {
	Room    string
	Payload string
}

// NewLiveKitRecorder returns an empty recorder.
func NewLiveKitRecorder() *LiveKitRecorder {
	return &LiveKitRecorder{metadata: map[string]string{}}
}

// SendData implements room.LiveKit.
func (l *LiveKitRecorder) SendData(_ context.Context, room string, payload []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return l.Fail
	}
	l.data = append(l.data, DataMessage{Room: room, Payload: string(payload)})
	return nil
}

// UpdateRoomMetadata implements room.LiveKit.
func (l *LiveKitRecorder) UpdateRoomMetadata(_ context.Context, room, metadata string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return l.Fail
	}
	l.metadata[room] = metadata
	return nil
}

// MutePublishedTrack implements room.LiveKit (recorded as nothing: tests of moderation use a
// real LiveKit).
func (l *LiveKitRecorder) MutePublishedTrack(context.Context, string, string, string) error {
	return l.Fail
}

// UpdateParticipant implements room.LiveKit.
func (l *LiveKitRecorder) UpdateParticipant(context.Context, string, string, room.ParticipantUpdate) error {
	return l.Fail
}

// RemoveParticipant implements room.LiveKit.
func (l *LiveKitRecorder) RemoveParticipant(context.Context, string, string) error { return l.Fail }

// DispatchAgent implements room.LiveKit.
func (l *LiveKitRecorder) DispatchAgent(context.Context, string, string) error { return l.Fail }

// ListParticipants implements room.LiveKit: nobody is in rooms the recorder stands for.
func (l *LiveKitRecorder) ListParticipants(context.Context, string) ([]room.Participant, error) {
	return nil, l.Fail
}

// SIPDispatchRuleIDs implements room.LiveKit.
func (l *LiveKitRecorder) SIPDispatchRuleIDs(context.Context, string) ([]string, error) {
	return nil, l.Fail
}

// CreateSIPDispatchRule implements room.LiveKit.
func (l *LiveKitRecorder) CreateSIPDispatchRule(context.Context, string, string, string) (string, error) {
	return "SDR_recorded", l.Fail
}

// DeleteSIPDispatchRule implements room.LiveKit.
func (l *LiveKitRecorder) DeleteSIPDispatchRule(context.Context, string) error { return l.Fail }

// StartRoomCompositeEgress implements room.LiveKit.
func (l *LiveKitRecorder) StartRoomCompositeEgress(context.Context, string, bool, string) (string, error) {
	return "EG_recorded", l.Fail
}

// StopEgress implements room.LiveKit.
func (l *LiveKitRecorder) StopEgress(context.Context, string) (livekit.EgressStatus, error) {
	return livekit.EgressStatus_EGRESS_ENDING, l.Fail
}

// Egress implements room.LiveKit.
func (l *LiveKitRecorder) Egress(context.Context, string) (*livekit.EgressInfo, error) {
	return &livekit.EgressInfo{Status: livekit.EgressStatus_EGRESS_ACTIVE}, l.Fail
}

// Data returns the data messages sent so far.
func (l *LiveKitRecorder) Data() []DataMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]DataMessage(nil), l.data...)
}

// ForgetMetadata drops a room's metadata, as a LiveKit server that restarted without the room.
func (l *LiveKitRecorder) ForgetMetadata(room string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.metadata, room)
}

// Metadata returns the last metadata set on a room.
func (l *LiveKitRecorder) Metadata(room string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.metadata[room]
	return m, ok
}
