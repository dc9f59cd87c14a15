package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// A front end on an allowed origin may call the API with its cookies (a preflight answered, the
// answer readable); any other origin gets no CORS header, so its browser keeps the answer from
// the page.
func TestCORS(t *testing.T) {
	const allowed, other = "https://app.example.org", "https://evil.example"
	n := servicetest.StartNode(t, map[string]string{"CORS_ALLOWED_ORIGINS": allowed + ",http://localhost:3000"})
	anon := n.Client("")
	preflight := func(origin, method, headers string) servicetest.Response {
		t.Helper()
		return anon.Do(http.MethodOptions, servicetest.Path("rooms"), nil,
			"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
	}

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		res := preflight(allowed, http.MethodPost, "authorization,content-type,x-csrftoken") // as browsers send it: sorted, lowercase
		if res.Status/100 != 2 {
			t.Fatalf("preflight: %d %s", res.Status, res.Body)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":      allowed,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "POST",
		}
		for h, v := range want {
			if got := res.Header.Get(h); got != v {
				t.Errorf("%s = %q, want %q", h, got, v)
			}
		}
		allowHeaders := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-csrftoken", "authorization"} {
			if !strings.Contains(allowHeaders, h) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowHeaders, h)
			}
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		res := preflight(other, http.MethodPost, "content-type")
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods"} {
			if got := res.Header.Get(h); got != "" {
				t.Errorf("%s = %q for a disallowed origin", h, got)
			}
		}
	})
	t.Run("a header outside the list is not allowed", func(t *testing.T) {
		res := preflight(allowed, http.MethodPost, "x-debug-override")
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q for an unlisted request header", got)
		}
	})
	t.Run("actual requests", func(t *testing.T) {
		res := anon.Do(http.MethodGet, servicetest.Path("config"), nil, "Origin", allowed)
		if res.Status != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != allowed ||
			res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("GET config/ from %s: %d, headers %v", allowed, res.Status, res.Header)
		}
		res = anon.Do(http.MethodGet, servicetest.Path("config"), nil, "Origin", other)
		if res.Status != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET config/ from %s: %d, Access-Control-Allow-Origin %q", other, res.Status, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// Without CORS_ALLOWED_ORIGINS the API is same-origin only: no origin gets a CORS header.
func TestNoCORSByDefault(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	res := n.Client("").Do(http.MethodOptions, servicetest.Path("rooms"), nil,
		"Origin", "https://app.example.org", "Access-Control-Request-Method", http.MethodPost)
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("Access-Control-Allow-Origin = %q with no origin configured", got)
	}
}
