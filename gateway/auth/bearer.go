package auth

import (
	"net/http"
	"strings"
)

// BearerToken extracts the token from an "Authorization: Bearer <t>" header.
// ok is false when the header is absent, uses another scheme, or carries an
// empty token. The scheme is matched case-insensitively as RFC 9110 requires.
func BearerToken(r *http.Request) (token string, ok bool) {
	scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}
