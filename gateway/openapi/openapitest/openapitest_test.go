package openapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"meetcoord/gateway/openapi"
)

// reporter is a testing.TB that keeps the failures it is told instead of failing.
type reporter struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *reporter) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *reporter) Helper() {}

func TestDescriptionLoadsAsOpenAPI31(t *testing.T) {
	d, err := Load(openapi.Spec())
	if err != nil {
		t.Fatal(err)
	}
	if d.Doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", d.Doc.OpenAPI)
	}
	if strings.Contains(string(openapi.Spec()), "x-response-sets") {
		t.Error("the served description keeps the YAML anchors' extension")
	}
}

// TestValidateReportsDrift: a handler whose answer gains a field the description lacks, or
// answers a status or route it lacks, fails the test that made the request.
func TestValidateReportsDrift(t *testing.T) {
	healthz := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})
	}
	cases := []struct {
		name    string
		method  string
		path    string
		handler http.Handler
		want    string // "" for no failure
	}{
		{"as described", http.MethodGet, "/healthz", healthz(`{"status":"ok"}`), ""},
		{"a new field", http.MethodGet, "/healthz", healthz(`{"status":"ok","uptime":3}`), "uptime"},
		{"a missing field", http.MethodGet, "/healthz", healthz(`{}`), "status"},
		{"a nested new field", http.MethodGet, "/api/v1.0/users/me/",
			healthz(`{"id":"6f6b9a52-5a3e-4d1e-9a0c-1e0d2f3c4b5a","email":"a@b.c","full_name":"A","short_name":"A",` +
				`"timezone":"UTC","language":"en-us","default_room_access_level":null,` +
				`"default_room_configuration":{"everyone_can_mute":true,"volume":11}}`), "volume"},
		{"a status not described", http.MethodGet, "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte(`{"detail":"tea"}`))
		}), "status is not supported"},
		{"a route not described", http.MethodGet, "/api/v1.0/secrets/", healthz(`{"status":"ok"}`), "not in the API description"},
		{"a refused unknown route", http.MethodGet, "/api/v1.0/secrets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"detail":"Not found."}`))
		}), ""},
		{"the front end's files", http.MethodGet, "/index.html", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`<html></html>`))
		}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &reporter{TB: t}
			srv := httptest.NewServer(Validate(rep, tc.handler))
			defer srv.Close()
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.Close()
			got := strings.Join(rep.errors, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("reported %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("reported %q, want a failure naming %q", got, tc.want)
			}
		})
	}
}
