package servicetest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary builds the meetcoord command once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
		dir, err := os.MkdirTemp("", "meetcoord-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "meetcoord")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/meetcoord")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// Process is a meetcoord node running as its own process.
type Process struct {
	URL  string
	Env  []string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// StartProcess starts `meetcoord serve` with env (on top of this process's environment) and
// waits until it is ready.
func StartProcess(t testing.TB, env map[string]string) *Process {
	t.Helper()
	p := LaunchProcess(t, env)
	p.waitReady(t)
	return p
}

// LaunchProcess starts `meetcoord serve` like StartProcess but does not wait until it is ready
// (for nodes that are not expected to become ready).
func LaunchProcess(t testing.TB, env map[string]string) *Process {
	t.Helper()
	p := &Process{URL: "http://" + env["LISTEN_ADDR"], Env: os.Environ()}
	for k, v := range env {
		p.Env = append(p.Env, k+"="+v)
	}
	p.launch(t)
	return p
}

// Restart starts the node again, with the same environment (same addresses), after it exited,
// and waits until it is ready.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	p.Wait()
	p.launch(t)
	p.waitReady(t)
}

func (p *Process) launch(t testing.TB) {
	t.Helper()
	p.log, p.done = &syncBuffer{}, make(chan struct{})
	p.cmd = exec.Command(Binary(t), "serve")
	p.cmd.Env, p.cmd.Stderr, p.cmd.Dir = p.Env, p.log, t.TempDir()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("log of node %s:\n%s", p.URL, p.log.String())
		}
	})
}

func (p *Process) waitReady(t testing.TB) {
	t.Helper()
	Eventually(t, 30*time.Second, "node "+p.URL+" to be ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("node %s exited:\n%s", p.URL, p.log.String())
		default:
		}
		res, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// Kill stops the process at once (SIGKILL).
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Signal sends sig to the process (SIGTERM to make it leave, SIGSTOP/SIGCONT to pause it).
func (p *Process) Signal(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
}

// Wait waits until the process exited.
func (p *Process) Wait() { <-p.done }

// Exited reports whether the process exited, and with which code.
func (p *Process) Exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writer and the test's reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Log is what the process wrote to its standard error.
func (p *Process) Log() string { return strings.TrimSpace(p.log.String()) }

// Client returns a new caller of the node (own cookies) with the given bearer token ("" for
// anonymous).
func (p *Process) Client(t testing.TB, token string) *Client { return NewClient(t, p.URL, token) }
