package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"unicode/utf8"
)

// maxIdempotencyKeyBytes bounds the Idempotency-Key: it is stored with the room's remembered
// replies, so its size is paid in every snapshot.
const maxIdempotencyKeyBytes = 255

// guard is the gateway's outermost layer: it answers a handler's panic with a 500 (logged and
// counted) instead of a dropped connection, and refuses what no handler should see.
func (g *Gateway) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's own way to abort a response: not a fault
			}
			g.metrics.panics.Inc()
			g.log.Error("handler panicked", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if !tw.wroteHeader {
				errInternal.write(tw)
			}
		}()
		if key := r.Header.Get("Idempotency-Key"); key != "" && (len(key) > maxIdempotencyKeyBytes || !utf8.ValidString(key)) {
			errIdempotencyKey.write(tw)
			return
		}
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter knows whether the status line has gone out (after it, a 500 cannot be sent).
type trackingWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wroteHeader = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wroteHeader = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
