package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz: the process is alive.
func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: the node can serve (store reachable, cluster joined). Ready bounds its own checks (the
// store's by REDIS_TIMEOUT, as any request's store command): a tighter bound here would call a
// node unready for a store answer its requests still wait for and get.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	if err := g.cfg.Ready(r.Context()); err != nil {
		// The cause may name internal addresses: it goes to the log, the answer says what is down.
		part := "node"
		var nr *NotReadyError
		if errors.As(err, &nr) {
			part = nr.Part
		}
		g.log.Warn("not ready", "part", part, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": part + " unavailable"})
		return
	}
	body := map[string]any{"status": "ready"}
	if g.cfg.Members != nil {
		body["members"] = g.cfg.Members()
	}
	writeJSON(w, http.StatusOK, body)
}

// NotReadyError says which part of the node keeps it from serving ("store", "cluster",
// "shutdown"); /readyz shows the part and logs the cause.
type NotReadyError struct {
	Part  string
	Cause error
}

func (e *NotReadyError) Error() string { return e.Part + ": " + e.Cause.Error() }
func (e *NotReadyError) Unwrap() error { return e.Cause }

type metrics struct {
	requests *prometheus.HistogramVec
	// requestObservers: requestSeries -> prometheus.Observer of requests.
	requestObservers sync.Map
	webhooks         *prometheus.CounterVec
	panics           prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meetcoord_http_request_duration_seconds",
			Help:    "HTTP requests by route, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method", "status"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_webhooks_total",
			Help: "LiveKit webhooks received, by event and outcome.",
		}, []string{"event", "outcome"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_http_panics_total",
			Help: "Handler panics answered with a 500.",
		}),
	}
	reg.MustRegister(m.requests, m.webhooks, m.panics)
	return m
}

func (g *Gateway) metricsHandler() http.Handler {
	return promhttp.HandlerFor(g.cfg.Registry, promhttp.HandlerOpts{})
}

// instrument records each request's duration by route template (not raw path: room ids would
// explode the label space). It runs as router middleware, where the matched route is known.
func (g *Gateway) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		g.metrics.observeRequest(mux.CurrentRoute(r), r.Method, sw.status, time.Since(start))
	})
}

// requestSeries names one series of the request histogram: label look-ups hash three strings
// and format the status, so each series' observer is resolved once and kept.
type requestSeries struct {
	route  *mux.Route // nil: no route matched
	method string
	status int
}

func (m *metrics) observeRequest(route *mux.Route, method string, status int, took time.Duration) {
	key := requestSeries{route: route, method: method, status: status}
	observer, ok := m.requestObservers.Load(key)
	if !ok {
		template := "unmatched"
		if route != nil {
			if t, err := route.GetPathTemplate(); err == nil {
				template = t
			}
		}
		if !knownMethods[method] {
			// Methods are the caller's choice: an unknown one is one series, not one each.
			method = "other"
		}
		observer, _ = m.requestObservers.LoadOrStore(key, m.requests.WithLabelValues(template, method, strconv.Itoa(status)))
	}
	observer.(prometheus.Observer).Observe(took.Seconds())
}

// knownMethods are the methods that get a series of their own.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
