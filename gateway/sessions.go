package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Browser sessions: after an OIDC login (login.go) the browser holds an HttpOnly session cookie;
// the session (the user record, a CSRF token and the ID token for logout) lives in the shared
// store with the session's age as expiry, so every node accepts it and it ends on time even if
// no node is up when it does.
//
// CSRF: a cookie-authenticated request with an unsafe method must carry the session's CSRF token
// in the X-CSRFToken header. The token is handed to the front end in the (readable) csrftoken
// cookie, Django's names, which the reference product's front end already sends. The header is
// compared with the token stored in the session, not with the cookie: a cookie planted by a
// sibling subdomain (cookie tossing) cannot forge it. An Origin check was not chosen because it
// needs the public origin behind every proxy right, and a missing Origin header is ambiguous.
// Bearer-authenticated requests are never affected: a browser does not add that header by itself.

// Sessions keeps browser sessions and the login flows in progress, with an expiry.
type Sessions interface {
	PutSession(ctx context.Context, id string, record []byte, ttl time.Duration) error
	GetSession(ctx context.Context, id string) ([]byte, bool, error)
	DeleteSession(ctx context.Context, id string) error
	PutLoginFlow(ctx context.Context, state string, record []byte, ttl time.Duration) error
	TakeLoginFlow(ctx context.Context, state string) ([]byte, bool, error)
}

// BrowserSettings are the cookies and redirects of browser login.
type BrowserSettings struct {
	AppOrigin      string // scheme://host[:port] of APP_BASE_URL; empty: only relative return targets
	LoginRedirect  string // LOGIN_REDIRECT_URL: after login when no returnTo is given
	LogoutRedirect string // LOGOUT_REDIRECT_URL: after logout (sent to the provider, made absolute)
	SessionAge     time.Duration
	SessionCookie  string // SESSION_COOKIE_NAME
	CSRFCookie     string // CSRF_COOKIE_NAME
	CookieSecure   bool   // SESSION_COOKIE_SECURE
}

// csrfHeader is where cookie-authenticated unsafe requests carry the CSRF token.
const csrfHeader = "X-CSRFToken"

type sessionRecord struct {
	User    userRecord `json:"user"`
	CSRF    string     `json:"csrf"`
	IDToken string     `json:"id_token,omitempty"`
}

// sessionStoreID is the store key of a session cookie value: a hash, so that whoever reads the
// store cannot use what is there as a cookie.
func sessionStoreID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// browserLogin says whether sessions are on (a client id is configured).
func (g *Gateway) browserLogin() bool { return g.cfg.Login != nil && g.cfg.Sessions != nil }

// sessionUser is the caller of a request without a bearer token: the session's user, or nil
// (anonymous) for no cookie or a session that ended.
func (g *Gateway) sessionUser(r *http.Request) (*userRecord, error) {
	if !g.browserLogin() {
		return nil, nil
	}
	s, _, err := g.session(r)
	if err != nil || s == nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		if !equalSecret(r.Header.Get(csrfHeader), s.CSRF) {
			return nil, errCSRF
		}
	}
	return &s.User, nil
}

// session loads the request's session and its store id; nil when there is none.
func (g *Gateway) session(r *http.Request) (*sessionRecord, string, error) {
	c, err := r.Cookie(g.cfg.Browser.SessionCookie)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	id := sessionStoreID(c.Value)
	b, ok, err := g.cfg.Sessions.GetSession(r.Context(), id)
	if err != nil {
		return nil, "", fmt.Errorf("%w: read session: %w", errStore, err)
	}
	if !ok {
		return nil, "", nil
	}
	var s sessionRecord
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, "", fmt.Errorf("%w: decode session: %w", errStore, err)
	}
	return &s, id, nil
}

// startSession stores a new session for u and sets its cookies.
func (g *Gateway) startSession(w http.ResponseWriter, r *http.Request, u userRecord, idToken string) error {
	value := rand.Text() + rand.Text() // 256 bits
	s := sessionRecord{User: u, CSRF: rand.Text(), IDToken: idToken}
	b, _ := json.Marshal(s)
	if err := g.cfg.Sessions.PutSession(r.Context(), sessionStoreID(value), b, g.cfg.Browser.SessionAge); err != nil {
		return fmt.Errorf("%w: save session: %w", errStore, err)
	}
	age := int(g.cfg.Browser.SessionAge / time.Second)
	http.SetCookie(w, g.cookie(g.cfg.Browser.SessionCookie, value, "/", age, true))
	// Readable by the front end's script, which echoes it in X-CSRFToken.
	http.SetCookie(w, g.cookie(g.cfg.Browser.CSRFCookie, s.CSRF, "/", age, false))
	return nil
}

// clearSessionCookies makes the browser drop the session and CSRF cookies.
func (g *Gateway) clearSessionCookies(w http.ResponseWriter) {
	http.SetCookie(w, g.cookie(g.cfg.Browser.SessionCookie, "", "/", -1, true))
	http.SetCookie(w, g.cookie(g.cfg.Browser.CSRFCookie, "", "/", -1, false))
}

// cookie is a browser-login cookie: SameSite=Lax, so that it comes along on the top-level
// navigation back from the identity provider but not on cross-site subrequests.
func (g *Gateway) cookie(name, value, path string, maxAge int, httpOnly bool) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: httpOnly, Secure: g.cfg.Browser.CookieSecure, SameSite: http.SameSiteLaxMode,
	}
}

// equalSecret compares secrets in constant time.
func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
