package service

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"meetcoord/cmd/meetcoord/config"
)

// NewHTTPServer is the node's HTTP server for handler, within limits.
func NewHTTPServer(limits config.HTTPLimits, handler http.Handler) *http.Server {
	return &http.Server{
		Handler: handler,
		// Headers get a tighter bound than the body: they are what a slow client sends first.
		ReadHeaderTimeout: min(limits.ReadTimeout, 10*time.Second),
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
	}
}

// NewMetricsServer is the server of METRICS_ADDR: the same limits, except that a write may take
// as long as the longest profile an operator asks for (/debug/pprof/profile?seconds=60).
func NewMetricsServer(limits config.HTTPLimits, handler http.Handler) *http.Server {
	server := NewHTTPServer(limits, handler)
	server.WriteTimeout = max(limits.WriteTimeout, 2*time.Minute)
	return server
}

// LimitListener accepts at most limits.MaxConnections connections at once.
func LimitListener(l net.Listener, limits config.HTTPLimits) net.Listener {
	return netutil.LimitListener(l, limits.MaxConnections)
}
