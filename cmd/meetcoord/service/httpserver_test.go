package service_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// startBoundedNode starts one node process with the given HTTP bounds.
func startBoundedNode(t *testing.T, bounds map[string]string) *servicetest.Process {
	t.Helper()
	_, issuer := servicetest.StartIssuer(t)
	env := map[string]string{
		"LISTEN_ADDR":        servicetest.FreeAddr(t),
		"LIVEKIT_API_KEY":    "testkey",
		"LIVEKIT_API_SECRET": "test-secret-of-at-least-32-characters",
		"SECRET_KEY":         "a-test-server-key-of-at-least-32-bytes",
		"LIVEKIT_API_URL":    "http://127.0.0.1:1",
		"OIDC_ISSUER":        issuer.IssuerURL(),
		"LOG_LEVEL":          "error",
	}
	for k, v := range bounds {
		env[k] = v
	}
	return servicetest.StartProcess(t, env)
}

// A client sending its body one byte at a time is cut off after HTTP_READ_TIMEOUT instead of
// holding a connection (and a goroutine) for as long as it likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	node := startBoundedNode(t, map[string]string{"HTTP_READ_TIMEOUT": "2"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(node.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const bodyBytes = 100
	if _, err := io.WriteString(conn, "POST /api/v1.0/rooms/creation-callback/ HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// One byte every 300 ms would take 30 s; the node must close the connection long before.
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; sent < bodyBytes; sent++ {
		select {
		case <-closed:
			return
		case <-tick.C:
			if _, err := conn.Write([]byte{' '}); err != nil {
				return // the node closed the connection
			}
		}
	}
	t.Fatalf("the node kept a connection that sent its body for %d bytes at one byte per 300 ms (HTTP_READ_TIMEOUT=2)", bodyBytes)
}

// At most HTTP_MAX_CONNECTIONS connections are served at once: a client holding them all makes
// the next one wait, not the node spawn without bound; freeing one lets the waiting one in.
func TestConnectionsAreBounded(t *testing.T) {
	node := startBoundedNode(t, map[string]string{"HTTP_MAX_CONNECTIONS": "3", "HTTP_READ_TIMEOUT": "60"})
	addr := strings.TrimPrefix(node.URL, "http://")
	// The readiness probe's keep-alive connection may still hold a place: close idle ones.
	http.DefaultClient.CloseIdleConnections()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A request whose headers never end: the node holds this connection until its timeout.
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", addr) // accepted by the kernel, not yet by the node
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	answered := make(chan string, 1)
	go func() {
		_, _ = io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		line, _ := bufio.NewReader(extra).ReadString('\n')
		answered <- line
	}()
	select {
	case line := <-answered:
		t.Fatalf("a fourth connection was served while three were held (HTTP_MAX_CONNECTIONS=3): %q", line)
	case <-time.After(time.Second):
	}
	held[0].Close()
	select {
	case line := <-answered:
		if !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("the waiting connection got %q, want a 200", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting connection was not served after a held one closed")
	}
}

// With METRICS_ADDR, /metrics and the profiler are served there only, not on the public listener.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	metricsAddr := servicetest.FreeAddr(t)
	node := startBoundedNode(t, map[string]string{"METRICS_ADDR": metricsAddr})
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "meetcoord_http_request_duration_seconds") {
		t.Fatalf("METRICS_ADDR /metrics: %d, meetcoord metrics present: %v", res.StatusCode, strings.Contains(string(body), "meetcoord_"))
	}
	res, err = http.Get("http://" + metricsAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("METRICS_ADDR /debug/pprof/heap: %d %.80q", res.StatusCode, body)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		res, err = http.Get(node.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("public %s with METRICS_ADDR set: %d, want 404", path, res.StatusCode)
		}
	}
}
