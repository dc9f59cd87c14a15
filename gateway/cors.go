package gateway

import (
	"net/http"

	"github.com/rs/cors"
)

// corsHeaders are the request headers a front end on another origin may send: the session's
// CSRF token, a bearer token, JSON bodies, the retry key of writes and the language.
var corsHeaders = []string{"Authorization", "X-CSRFToken", "Content-Type", "Idempotency-Key", "Accept-Language"}

// withCORS answers preflights and adds the CORS headers for the configured origins
// (CORS_ALLOWED_ORIGINS), credentials included, so that a front end served from another origin
// can call the API with its session cookie. Any other origin gets no CORS header at all: its
// browser keeps the answer from the page. No origins configured: the handler is unchanged, and a
// preflight is an unknown route as before.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders:   corsHeaders,
		ExposedHeaders:   []string{"Retry-After"},
		AllowCredentials: true,
		// Browsers cap it (Chromium at 2 hours); ten minutes keeps a changed list prompt.
		MaxAge: 600,
	}).Handler(next)
}
