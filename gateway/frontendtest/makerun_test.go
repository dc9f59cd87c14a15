package frontendtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestMakeRun starts what `make run` starts (scripts/run.sh: livekit-server, meetcoord in dev
// mode serving the front end) on free ports, opens the home page in Chromium, logs in through
// the development login page as a person would, sees the logged-in home page, then stops it all
// with Ctrl-C (SIGINT to the process group, as a terminal sends it).
func TestMakeRun(t *testing.T) {
	chromium := chromiumPath(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	addr := servicetest.FreeAddr(t)
	lkPort := servicetest.ReservePort(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr,
		"LIVEKIT_PORT="+strconv.Itoa(lkPort),
		"LIVEKIT_RTC_TCP_PORT="+strconv.Itoa(servicetest.ReservePort(t)),
		"LIVEKIT_RTC_UDP_PORT="+strconv.Itoa(servicetest.ReservePort(t)),
		"RUN_DIR="+t.TempDir(),
		"FRONTEND_DIR="+frontendDir(t),
	)
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scripts/run.sh: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("scripts/run.sh said:\n%s", output.String())
		}
	})

	base := "http://" + addr
	// The script builds meetcoord (and livekit-server when the cache is empty) first.
	waitReady(t, base+"/readyz", 5*time.Minute, exited)

	b := newBrowserOn(t, chromium, base, "grace")
	b.open("/")
	if silentLoginEnabled(t, base) {
		b.waitUntil("the silent login to be declined", `localStorage.getItem('silent-login-retry') !== null &&
  location.origin === `+jsString(base)+` && location.pathname === '/' && document.readyState === 'complete'`)
	}
	b.waitText("Login")
	b.click("Login")
	b.waitText("Development login")
	b.typeInto("Name", "Grace Hopper")
	b.typeInto("Email", "grace@example.org")
	b.click("Log in")
	b.waitText("Grace Hopper") // the user menu of the logged-in header
	b.waitText("Create a meeting")
	if got := b.location(); got != base+"/" {
		t.Errorf("after login the browser is at %s, want the home page", got)
	}

	// Ctrl-C stops everything it started: the script exits and both ports close.
	stopped = true
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatalf("Ctrl-C: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		t.Fatal("scripts/run.sh still runs a minute after Ctrl-C")
	}
	for _, a := range []string{addr, fmt.Sprintf("127.0.0.1:%d", lkPort)} {
		servicetest.Eventually(t, 30*time.Second, "nothing listens on "+a+" after Ctrl-C", func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
	}
}

// waitReady waits until url answers 200, failing early if the stack exited.
func waitReady(t *testing.T, url string, within time.Duration, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case err := <-exited:
			t.Fatalf("scripts/run.sh exited before it was ready: %v", err)
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %v", url, within)
		}
		time.Sleep(250 * time.Millisecond) // polling an outside process: no event to wait on
	}
}

// silentLoginEnabled tells whether the front end served at base tries a silent login first.
func silentLoginEnabled(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v1.0/config/")
	if err != nil {
		t.Fatalf("GET config/: %v", err)
	}
	defer resp.Body.Close()
	var cfg map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		t.Fatalf("GET config/: %v", err)
	}
	return cfg["is_silent_login_enabled"] == true
}

// syncBuffer collects a child's output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
