package cluster_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// durableRedis is a private redis-server that the checked-history test crashes and starts again
// on the same port and data directory. The shared test Redis runs without persistence; a
// production Redis that must keep acknowledged writes across its own restart needs the
// append-only file with an fsync before each reply, so that is how this one runs: every write
// meetcoord saw acknowledged is on disk when Redis dies, and loaded again when it starts.
type durableRedis struct {
	URL  string
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDurableRedis(t *testing.T) *durableRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it (apt-get install redis-server) or run `make test`")
	}
	r := &durableRedis{bin: bin, port: servicetest.ReservePort(t), dir: t.TempDir()}
	r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	t.Cleanup(r.kill)
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// start launches redis-server on the data directory (loading its append-only file) and waits
// until it answers.
func (r *durableRedis) start() error {
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(r.port), "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	r.done = done
	go func() { _ = r.cmd.Wait(); close(done) }()
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer client.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited at start (see %s/redis.log)", r.dir)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server does not answer after 20s: %w", err)
		}
	}
}

// kill stops the server at once (SIGKILL: a crash) and waits for it to exit.
func (r *durableRedis) kill() {
	if r.cmd == nil {
		return
	}
	select {
	case <-r.done:
	default:
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}
