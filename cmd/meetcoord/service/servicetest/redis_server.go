package servicetest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a Redis process of a test's own, for tests that stop Redis or count the
// commands it processed (which the shared test Redis cannot give).
type RedisServer struct {
	URL   string
	t     testing.TB
	args  []string // the command line, kept for Restart: same port, same directory
	cmd   *exec.Cmd
	done  chan struct{}
	admin *redis.Client // one connection, so that reading counters adds no handshakes
}

// StartRedis starts a private redis-server on a free loopback port; it is stopped at the end of
// the test. It keeps nothing on disk: a Restart comes back empty. It fails, saying what to
// install, when redis-server is missing.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, "--save", "", "--appendonly", "no")
}

// StartDurableRedis is StartRedis with every write on disk before it is acknowledged (an
// append-only file fsynced at each write): a Stop (kill -9) and Restart loses no acknowledged
// write, as a production Redis configured for durability.
func StartDurableRedis(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
}

func startRedis(t testing.TB, persistence ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it (apt-get install redis-server) or run `make test`")
	}
	port := ReservePort(t)
	dir := t.TempDir()
	args := append([]string{bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port)}, persistence...)
	args = append(args, "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	s := &RedisServer{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), t: t, args: args}
	s.run()
	t.Cleanup(s.Stop)
	opts, _ := redis.ParseURL(s.URL)
	opts.PoolSize, opts.MinIdleConns, opts.MaxRetries = 1, 1, -1
	s.admin = redis.NewClient(opts)
	t.Cleanup(func() { s.admin.Close() })
	return s
}

// run starts the process and waits until it answers.
func (s *RedisServer) run() {
	s.t.Helper()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	opts, _ := redis.ParseURL(s.URL)
	opts.MaxRetries = -1
	Eventually(s.t, 10*time.Second, "private redis-server to answer", func() bool {
		select {
		case <-done:
			s.t.Fatalf("redis-server exited; its log is in %s", s.args[len(s.args)-1])
		default:
		}
		// A fresh client at each look: a pooled one would wait out its own redial back-off.
		probe := redis.NewClient(opts)
		defer probe.Close()
		return probe.Ping(context.Background()).Err() == nil
	})
}

// Stop kills the server (as a crash would) and waits for it to exit.
func (s *RedisServer) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again, after a Stop, on the same port and directory (a durable one
// comes back with every write it acknowledged); it returns once the server answers.
func (s *RedisServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.run()
}

// Pause freezes the server (SIGSTOP): connections stay open and nothing answers, as a Redis
// stalled by its host. Resume thaws it.
func (s *RedisServer) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("pause redis-server: %v", err)
	}
}

// Resume lets a paused server run again (SIGCONT).
func (s *RedisServer) Resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("resume redis-server: %v", err)
	}
}

// CommandsProcessed is the server's total_commands_processed counter. Each call is itself one
// command, counted by the next call.
func (s *RedisServer) CommandsProcessed(t testing.TB) int64 {
	t.Helper()
	info, err := s.admin.InfoMap(context.Background(), "stats").Result()
	if err != nil {
		t.Fatalf("redis INFO: %v", err)
	}
	var n int64
	_, _ = fmt.Sscan(info["Stats"]["total_commands_processed"], &n)
	return n
}

// InputBytes is the server's total_net_input_bytes counter: every byte clients sent it (the
// cost of writes, which carry their values). Each call adds its own few bytes to the next.
func (s *RedisServer) InputBytes(t testing.TB) int64 {
	t.Helper()
	info, err := s.admin.InfoMap(context.Background(), "stats").Result()
	if err != nil {
		t.Fatalf("redis INFO: %v", err)
	}
	var n int64
	_, _ = fmt.Sscan(info["Stats"]["total_net_input_bytes"], &n)
	return n
}
