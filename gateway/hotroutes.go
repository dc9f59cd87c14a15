package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// Two routes carry most of a node's traffic: lobby polls (every waiting guest, every few
// seconds) and LiveKit's webhooks (every participant's comings and goings). They are taken
// before gorilla/mux, which for each request tries its routes' regular expressions in order and
// then makes two shallow copies of the request, with two context values (the path's variables,
// the route) and a map of variables: about a tenth of a lobby poll's cost to the node (make
// bench's profiles, docs/performance.md).
//
// The router stays the one table of routes: both are registered there as every other route
// is, and it answers whatever the fast path leaves to it (another method, any other path). The
// fast path takes exactly the paths their templates match (SkipClean: no path is rewritten
// first), passes the room's path segment to the handler as an argument, and records the request
// under the route's own series, so nothing tells the two ways apart.
type hotRoutes struct {
	requestEntry *mux.Route // POST /api/v1.0/rooms/{room}/request-entry/
	webhook      *mux.Route // POST /api/v1.0/rooms/webhooks-livekit/
}

const (
	roomsPath        = "/api/v1.0/rooms/"
	requestEntryTail = "/request-entry/"
	webhookPath      = roomsPath + "webhooks-livekit/"
)

// requestEntrySegment is the {room} segment of a request-entry path; false for any other path.
// {room} is gorilla/mux's default pattern, [^/]+.
func requestEntrySegment(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, roomsPath)
	if !ok {
		return "", false
	}
	segment, ok := strings.CutSuffix(rest, requestEntryTail)
	if !ok || segment == "" || strings.IndexByte(segment, '/') >= 0 {
		return "", false
	}
	return segment, true
}

// withHotRoutes serves the hot routes itself and passes every other request to the router.
// Without them (a mount could take their paths, see routes), it is the router.
func (g *Gateway) withHotRoutes(router http.Handler) http.Handler {
	if g.hot.requestEntry == nil || g.hot.webhook == nil {
		return router
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			router.ServeHTTP(w, r)
			return
		}
		if segment, ok := requestEntrySegment(r.URL.Path); ok {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			g.answerFailure(sw, r, nil, g.requestEntryAt(sw, r, segment))
			g.metrics.observeRequest(g.hot.requestEntry, r.Method, sw.status, time.Since(start))
			return
		}
		if r.URL.Path == webhookPath {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			g.answerFailure(sw, r, nil, g.livekitWebhook(sw, r))
			g.metrics.observeRequest(g.hot.webhook, r.Method, sw.status, time.Since(start))
			return
		}
		router.ServeHTTP(w, r)
	})
}
