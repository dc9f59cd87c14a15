package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Credentials the benchmark's nodes share (dev mode; nothing leaves this machine).
const (
	liveKitKey    = "benchkey"
	liveKitSecret = "bench-secret-of-at-least-32-characters"
)

// node is a meetcoord process started by the benchmark.
type node struct {
	cmd         *exec.Cmd
	env         []string
	url         string // the public listener
	metricsURL  string // METRICS_ADDR: /metrics and /debug/pprof/
	clusterAddr string
	logPath     string
	exited      chan struct{}
}

// nodeEnv is a node's configuration for the benchmark: limits meant for the public (request
// throttles, lobby size per address) are lifted, since every request comes from this machine, and
// rooms stay active for the whole run.
func nodeEnv(s settings, extra map[string]string) map[string]string {
	env := map[string]string{
		"REDIS_URL":                     s.redisURL,
		"SECRET_KEY":                    "a-bench-server-key-of-at-least-32-bytes",
		"LIVEKIT_API_KEY":               liveKitKey,
		"LIVEKIT_API_SECRET":            liveKitSecret,
		"LIVEKIT_API_URL":               "http://127.0.0.1:1", // no LiveKit: the figures are the node's
		"LOG_LEVEL":                     "error",
		"DEV_OIDC_KEY_FILE":             filepath.Join(s.workDir, "oidc-key.pem"),
		"ROOM_IDLE_TIMEOUT":             "3600",
		"LOBBY_WAITING_TIMEOUT":         "3600",
		"LOBBY_MAX_WAITING_PER_ADDRESS": "1000000",
		"LOBBY_MAX_WAITING":             "100000",
		"REQUEST_ENTRY_THROTTLE_RATES":  "100000000/minute",
		"ROOM_CREATION_THROTTLE_RATES":  "100000000/minute",
		"HTTP_MAX_CONNECTIONS":          "10000",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startNode starts `meetcoord serve --dev` with env and waits until it is ready.
func startNode(ctx context.Context, s settings, name string, env map[string]string) (*node, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metrics, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n := &node{url: "http://" + listen, metricsURL: "http://" + metrics, logPath: filepath.Join(s.workDir, name+".log"),
		exited: make(chan struct{})}
	full := map[string]string{"LISTEN_ADDR": listen, "METRICS_ADDR": metrics}
	for k, v := range env {
		full[k] = v
	}
	if port := full["CLUSTER_PORT"]; port != "" {
		n.clusterAddr = "127.0.0.1:" + port
	}
	for k, v := range full {
		n.env = append(n.env, k+"="+v)
	}
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return nil, err
	}
	n.cmd = exec.Command(s.meetcoord, "serve", "--dev")
	n.cmd.Env = append(os.Environ(), n.env...)
	n.cmd.Stdout, n.cmd.Stderr = logFile, logFile
	if err := n.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", s.meetcoord, err)
	}
	go func() { _ = n.cmd.Wait(); logFile.Close(); close(n.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(n.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return n, nil
			}
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("node %s exited at start; see %s", name, n.logPath)
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("node %s not ready within 60 s; see %s", name, n.logPath)
		}
	}
}

func (n *node) stop() {
	if n == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// token mints a bearer token the node accepts (meetcoord dev-token, same environment).
func (n *node) token(s settings, sub string) (string, error) {
	cmd := exec.Command(s.meetcoord, "dev-token", "--sub", sub, "--email", sub+"@example.org", "--name", "Bench "+sub)
	cmd.Env = append(os.Environ(), n.env...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("meetcoord dev-token: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// rssBytes is the node process's resident set size.
func (n *node) rssBytes() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// heapInUse collects garbage (the heap profile endpoint's gc=1) and reads the heap in use.
func (n *node) heapInUse() (float64, error) {
	res, err := http.Get(n.metricsURL + "/debug/pprof/heap?gc=1")
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return n.metric("go_memstats_heap_inuse_bytes")
}

// metric reads an unlabelled gauge or counter from /metrics.
func (n *node) metric(name string) (float64, error) {
	res, err := http.Get(n.metricsURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// client is the setup client: keep-alive, JSON in and out.
type client struct {
	http  *http.Client
	base  string
	token string
}

func newClient(base, token string) *client {
	return &client{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, base: base, token: token}
}

// do sends a JSON request; it returns the status, the decoded object and the response.
func (c *client) do(method, path string, body any, header ...string) (int, map[string]any, *http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return res.StatusCode, out, res, nil
}

// createRooms creates n restricted rooms with workers requests at a time; it returns their ids.
func (c *client) createRooms(n, workers int) ([]string, error) {
	ids := make([]string, n)
	batch := uuid.NewString()[:8] // room names (hence slugs) are unique
	errs := make(chan error, workers)
	next := make(chan int)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	for range workers {
		go func() {
			for i := range next {
				status, out, _, err := c.do(http.MethodPost, "/api/v1.0/rooms/", map[string]any{"name": fmt.Sprintf("bench %s %d", batch, i), "access_level": "restricted"})
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("create room: %d %v", status, out)
				}
				if err != nil {
					errs <- err
					for range next {
					}
					return
				}
				ids[i], _ = out["id"].(string)
			}
			errs <- nil
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return ids, first
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// profileRun, when profiling is on, records the node's CPU profile and the allocations it made
// for d, into workDir/kind.cpu.pprof and kind.allocs.pprof; the returned wait blocks until both
// are written.
func (n *node) profileRun(s settings, kind string, d time.Duration) (wait func()) {
	if !s.profile {
		return func() {}
	}
	var wg sync.WaitGroup
	for name, path := range map[string]string{".cpu.pprof": "/debug/pprof/profile", ".allocs.pprof": "/debug/pprof/allocs"} {
		wg.Go(func() { n.saveProfile(s, kind+name, fmt.Sprintf("%s?seconds=%d", path, int(d.Seconds()))) })
	}
	return wg.Wait
}

// saveHeapProfile, when profiling is on, writes the node's heap profile into workDir/name.
func (n *node) saveHeapProfile(s settings, name string) {
	if s.profile {
		n.saveProfile(s, name, "/debug/pprof/heap?gc=1")
	}
}

func (n *node) saveProfile(s settings, name, path string) {
	res, err := http.Get(n.metricsURL + path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer res.Body.Close()
	f, err := os.Create(filepath.Join(s.workDir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, res.Body)
}

// startFreshNode empties the benchmark's Redis and starts a single node, named name, with the
// client of the rooms' owner: the start of every single-node figure.
func startFreshNode(ctx context.Context, s settings, name string) (*node, *client, error) {
	if err := flushRedis(ctx, s); err != nil {
		return nil, nil, err
	}
	n, err := startNode(ctx, s, name, nodeEnv(s, nil))
	if err != nil {
		return nil, nil, err
	}
	token, err := n.token(s, "bench-owner")
	if err != nil {
		n.stop()
		return nil, nil, err
	}
	return n, newClient(n.url, token), nil
}

// lobbyPoll is a waiting guest's request-entry: its path and its lobby cookie.
type lobbyPoll struct{ path, cookie string }

// knock makes guest (a client without a cookie jar) wait in the lobby of a restricted room and
// returns the poll that keeps it there.
func knock(guest *client, roomID string) (lobbyPoll, error) {
	p := lobbyPoll{path: "/api/v1.0/rooms/" + roomID + "/request-entry/"}
	status, out, res, err := guest.do(http.MethodPost, p.path, map[string]any{"username": "guest"})
	if err != nil {
		return p, err
	}
	if status != http.StatusOK || out["status"] != "waiting" {
		return p, fmt.Errorf("knock on %s: %d %v", roomID, status, out)
	}
	for _, c := range res.Cookies() {
		if c.Name == "lobbyParticipantId" {
			p.cookie = c.Name + "=" + c.Value
		}
	}
	if p.cookie == "" {
		return p, fmt.Errorf("knock on %s set no lobby cookie", roomID)
	}
	return p, nil
}

// redisClient is a client of the benchmark's Redis.
func redisClient(s settings) (*redis.Client, error) {
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// flushRedis empties the benchmark's Redis (its own: see the Makefile).
func flushRedis(ctx context.Context, s settings) error {
	c, err := redisClient(s)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.FlushAll(ctx).Err()
}
