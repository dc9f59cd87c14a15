package gateway_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// With FRONTEND_DIR the node serves the front end on its own origin, under every path the API
// and the operations endpoints leave free; the API keeps its JSON errors.
func TestNodeServesFrontendBesideAPI(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<html>meet</html>", "assets/app-1a2b.js": "js"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := servicetest.StartNode(t, map[string]string{"FRONTEND_DIR": dir})
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		bodyHas      string
	}{
		{"GET", "/", 200, "text/html", "<html>meet</html>"},
		{"GET", "/abc-defg-hij", 200, "text/html", "<html>meet</html>"},
		{"GET", "/assets/app-1a2b.js", 200, "javascript", "js"},
		{"GET", "/api/v1.0/config/", 200, "application/json", "recording"},
		{"GET", "/api/v1.0/no-such-thing/", 404, "application/json", "Not found."},
		{"GET", "/api/v1.0/no-such-thing", 404, "application/json", "Not found."},
		{"GET", "/api", 404, "application/json", "Not found."},
		{"GET", "/external-api/v1.0/rooms/", 404, "application/json", "Not found."},
		{"GET", "/media/recordings/x.mp4", 404, "application/json", "Not found."},
		{"GET", "/healthz", 200, "", ""},
		{"POST", "/api/v1.0/config/", 405, "application/json", "not allowed"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, n.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if !strings.Contains(res.Header.Get("Content-Type"), tc.contentType) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(string(body), tc.bodyHas) {
				t.Errorf("body %q lacks %q", body, tc.bodyHas)
			}
		})
	}
}
