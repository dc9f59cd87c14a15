package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// buildBinary builds meetcoord once for the tests of this package.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "meetcoord")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// TestDevServeAndDevToken runs the binary as a person would: `serve --dev` with no configuration
// but a port and a Redis, and `dev-token` from the same directory with the same environment.
func TestDevServeAndDevToken(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := servicetest.FreeAddr(t)
	env := append(os.Environ(), "LISTEN_ADDR="+addr, "REDIS_URL="+servicetest.RedisURL(t))

	var serverLog bytes.Buffer
	serve := exec.Command(bin, "serve", "--dev")
	serve.Dir, serve.Env, serve.Stderr = dir, env, &serverLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() { _ = serve.Process.Kill() })
	base := "http://" + addr
	servicetest.Eventually(t, 20*time.Second, "dev server to be ready", func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})

	var stdout, stderr bytes.Buffer
	devToken := exec.Command(bin, "dev-token", "--sub", "alice", "--email", "alice@example.org", "--name", "Alice Martin")
	devToken.Dir, devToken.Env, devToken.Stdout, devToken.Stderr = dir, env, &stdout, &stderr
	if err := devToken.Run(); err != nil {
		t.Fatalf("dev-token: %v (%s)", err, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	if strings.Count(token, ".") != 2 || strings.Contains(token, "\n") {
		t.Fatalf("dev-token printed %q, want only a JWT", stdout.String())
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1.0/users/me/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"email":"alice@example.org"`) {
		t.Fatalf("users/me with the dev token: %d %s\nserver log:\n%s", res.StatusCode, body, serverLog.String())
	}

	// SIGTERM: the node drains and exits cleanly.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, serverLog.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}
}

// TestServeWithoutDevNeedsConfiguration: missing required settings stop start-up with a message
// that names them.
func TestServeWithoutDevNeedsConfiguration(t *testing.T) {
	var stderr bytes.Buffer
	err := run([]string{"serve"}, io.Discard, &stderr)
	if err == nil {
		t.Fatal("serve without configuration started")
	}
	for _, name := range []string{"LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "OIDC_ISSUER", "SECRET_KEY"} {
		if os.Getenv(name) == "" && !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestDevTokenNeedsSubject(t *testing.T) {
	err := run([]string{"dev-token"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--sub") {
		t.Fatalf("dev-token without --sub: %v", err)
	}
}

// TestShutdownDelayReportsNotReadyFirst: with SHUTDOWN_DELAY, SIGTERM first makes /readyz fail
// while the node still serves (load balancers stop sending), then the node stops cleanly.
func TestShutdownDelayReportsNotReadyFirst(t *testing.T) {
	_, issuer := servicetest.StartIssuer(t)
	node := servicetest.StartProcess(t, map[string]string{
		"LISTEN_ADDR": servicetest.FreeAddr(t), "REDIS_URL": servicetest.RedisURL(t), "OIDC_ISSUER": issuer.IssuerURL(),
		"LIVEKIT_API_KEY": "testkey", "LIVEKIT_API_SECRET": "test-secret-of-at-least-32-characters",
		"SECRET_KEY": "a-test-server-key-of-at-least-32-bytes", "SHUTDOWN_DELAY": "3", "LOG_LEVEL": "warn",
	})
	status := func(path string) int {
		res, err := http.Get(node.URL + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	node.Signal(syscall.SIGTERM)
	servicetest.Eventually(t, 2*time.Second, "/readyz to fail after SIGTERM", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	if got := status("/api/v1.0/config/"); got != http.StatusOK {
		t.Fatalf("API during the shutdown delay: %d, want 200 (still serving)", got)
	}
	if exited, _ := node.Exited(); exited {
		t.Fatal("exited before the shutdown delay passed")
	}
	servicetest.Eventually(t, 30*time.Second, "the node to exit", func() bool { exited, _ := node.Exited(); return exited })
	if _, code := node.Exited(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, node.Log())
	}
}
