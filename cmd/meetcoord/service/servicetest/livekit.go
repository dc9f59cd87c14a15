package servicetest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// LiveKitBinEnv names the variable through which `make test` gives tests the livekit-server
// binary it built (scripts/livekit-server.sh).
const LiveKitBinEnv = "MEETCOORD_TEST_LIVEKIT_BIN"

// LiveKitServer is a real livekit-server in dev-like mode on loopback, started for one test.
type LiveKitServer struct {
	URL    string // http API URL
	WSURL  string // ws URL for participants
	Key    string
	Secret string
	t      testing.TB
	args   []string // the command line, kept for Restart
	cmd    *exec.Cmd
	done   chan struct{}
	log    *bytes.Buffer
}

// LiveKitOptions configure a test LiveKit server.
type LiveKitOptions struct {
	WebhookURLs []string // where it posts its signed webhooks
}

// StartLiveKit starts livekit-server on free loopback ports with its own test Redis database
// (SIP and agent dispatch need Redis). It fails, saying what to do, when the binary is missing.
func StartLiveKit(t testing.TB, opts LiveKitOptions) *LiveKitServer {
	t.Helper()
	bin := os.Getenv(LiveKitBinEnv)
	if bin == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which builds livekit-server "+
			"(scripts/livekit-server.sh: go install github.com/livekit/livekit-server/cmd/server@v1.13.5)", LiveKitBinEnv)
	}
	redisOpts, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &LiveKitServer{Key: "testkey", Secret: "test-secret-of-at-least-32-characters", log: &bytes.Buffer{}}
	port, rtcTCP, rtcUDP := ReservePort(t), ReservePort(t), ReservePort(t)
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.WSURL = fmt.Sprintf("ws://127.0.0.1:%d", port)
	webhooks := ""
	if len(opts.WebhookURLs) > 0 {
		webhooks = "webhook:\n  api_key: " + s.Key + "\n  urls:\n"
		for _, u := range opts.WebhookURLs {
			webhooks += "    - " + u + "\n"
		}
	}
	config := fmt.Sprintf(`port: %d
bind_addresses: [127.0.0.1]
rtc:
  tcp_port: %d
  udp_port: %d
  use_external_ip: false
  node_ip: 127.0.0.1
redis:
  address: %s
  db: %d
keys:
  %s: %s
room:
  empty_timeout: 5
  departure_timeout: 2
logging:
  level: warn
%s`, port, rtcTCP, rtcUDP, redisOpts.Addr, redisOpts.DB, s.Key, s.Secret, webhooks)
	path := filepath.Join(t.TempDir(), "livekit.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s.t, s.args = t, []string{bin, "--config", path}
	s.run()
	t.Cleanup(s.Stop)
	return s
}

// run starts the process and waits until it answers.
func (s *LiveKitServer) run() {
	s.t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start livekit-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	s.done = done
	Eventually(s.t, 20*time.Second, "livekit-server to answer", func() bool {
		select {
		case <-done:
			s.t.Fatalf("livekit-server exited:\n%s", s.log.String())
		default:
		}
		res, err := http.Get(s.URL)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// Stop kills the server and waits for it.
func (s *LiveKitServer) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again, after a Stop, with the same configuration: the same ports,
// keys, webhooks and Redis database (where it keeps its SIP dispatch rules and rooms).
func (s *LiveKitServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.run()
}
