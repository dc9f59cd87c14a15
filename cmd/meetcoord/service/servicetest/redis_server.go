package servicetest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a Redis process of a test's own, for tests that stop Redis or count the
// commands it processed (which the shared test Redis cannot give).
type RedisServer struct {
	URL   string
	cmd   *exec.Cmd
	done  chan struct{}
	admin *redis.Client // one connection, so that reading counters adds no handshakes
}

// StartRedis starts a private redis-server on a free loopback port; it is stopped at the end of
// the test. It fails, saying what to install, when redis-server is missing.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it (apt-get install redis-server) or run `make test`")
	}
	port := ReservePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &RedisServer{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	opts, _ := redis.ParseURL(s.URL)
	opts.PoolSize, opts.MinIdleConns, opts.MaxRetries = 1, 1, -1
	s.admin = redis.NewClient(opts)
	t.Cleanup(func() { s.admin.Close() })
	Eventually(t, 5*time.Second, "private redis-server to answer", func() bool {
		return s.admin.Ping(context.Background()).Err() == nil
	})
	return s
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
