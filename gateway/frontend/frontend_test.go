package frontend_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"meetcoord/gateway/frontend"
)

// build writes a small front end build: index.html, a hashed asset, an icon.
func build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":           "<html>app</html>",
		"assets/index-abc1.js": "console.log(1)",
		"favicon.ico":          "icon",
		"sounds/join.mp3":      "mp3",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file outside the build that a crafted path or a link must not reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(dir), "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServesBuildAsSinglePageApp(t *testing.T) {
	h, err := frontend.New(build(t))
	if err != nil {
		t.Fatal(err)
	}
	const index, revalidate, immutable = "<html>app</html>", "no-cache", "public, max-age=31536000, immutable"
	for _, tc := range []struct {
		method, path string
		status       int
		body, cache  string
	}{
		{"GET", "/", 200, index, revalidate},
		{"GET", "/index.html", 200, index, revalidate},
		{"GET", "/abc-defg-hij", 200, index, revalidate},
		{"GET", "/recording/4b3c", 200, index, revalidate},
		{"GET", "/sounds", 200, index, revalidate}, // a directory is not a file
		{"GET", "/assets/index-abc1.js", 200, "console.log(1)", immutable},
		{"GET", "/favicon.ico", 200, "icon", revalidate},
		{"GET", "/sounds/join.mp3", 200, "mp3", revalidate},
		{"GET", "/assets/index-old.js", 404, "", ""},
		{"GET", "/../secret.txt", 200, index, revalidate},
		{"GET", "/link.txt", 200, index, revalidate},
		{"HEAD", "/abc-defg-hij", 200, "", revalidate},
		{"POST", "/abc-defg-hij", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://node.test/", nil)
			req.URL.Path = tc.path // as is: NewRequest would clean "/../"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
		})
	}
}

func TestNewRefusesDirectoryWithoutIndex(t *testing.T) {
	if _, err := frontend.New(t.TempDir()); err == nil {
		t.Fatal("a directory without index.html was accepted")
	}
	if _, err := frontend.New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing directory was accepted")
	}
}

// A revalidated index.html answers 304 to a browser that has it.
func TestIndexRevalidates(t *testing.T) {
	h, err := frontend.New(build(t))
	if err != nil {
		t.Fatal(err)
	}
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest("GET", "/room", nil))
	req := httptest.NewRequest("GET", "/room", nil)
	req.Header.Set("If-Modified-Since", first.Header().Get("Last-Modified"))
	again := httptest.NewRecorder()
	h.ServeHTTP(again, req)
	if again.Code != http.StatusNotModified {
		t.Fatalf("status %d, want 304", again.Code)
	}
}
