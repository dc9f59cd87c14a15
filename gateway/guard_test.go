package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A handler's panic is a 500 in the API's JSON shape, logged and counted, never a dropped
// connection; net/http's own abort still aborts.
func TestGuardAnswersPanicsWith500(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler), metrics: newMetrics(prometheus.NewRegistry())}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  int
	}{
		{"panic before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, http.StatusInternalServerError},
		{"panic after the status went out", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic(errors.New("late"))
		}, http.StatusAccepted},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			g.guard(tc.handler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1.0/rooms/", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == http.StatusInternalServerError && rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("500 without a JSON body: %q", rec.Body.String())
			}
			if got := testutil.ToFloat64(g.metrics.panics); got != float64(i+1) {
				t.Fatalf("panics counted %v, want %d", got, i+1)
			}
		})
	}
	t.Run("abort handler", func(t *testing.T) {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		g.guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}
