// Package oidctest is a minimal OpenID Connect provider for tests of browser login: discovery,
// JWKS, an authorization endpoint that approves a configured user at once, a token endpoint that
// checks what a real provider checks (client credentials, one-time code, redirect URI and the
// PKCE verifier against the S256 challenge), and RP-initiated logout. It also mints access tokens
// for the same user, so that bearer and browser callers share one issuer in a test.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"meetcoord/gateway/auth"
)

// Provider is a running test identity provider.
type Provider struct {
	URL          string // issuer, e.g. http://127.0.0.1:port
	ClientID     string
	ClientSecret string

	t      testing.TB
	key    *rsa.PrivateKey
	server *httptest.Server

	mu          sync.Mutex
	user        *auth.Claims // who the authorization endpoint approves; nil: nobody is logged in
	grants      map[string]grant
	endSessions []url.Values
	refusals    []string
}

type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	user        auth.Claims
}

// Start serves a provider for one registered client; end_session_endpoint is advertised.
func Start(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, t: t, key: key, grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /logout", p.endSession)
	p.server = httptest.NewServer(mux)
	p.URL = p.server.URL
	t.Cleanup(p.server.Close)
	return p
}

// LogIn makes the authorization endpoint approve this user (as if they had typed their password).
func (p *Provider) LogIn(c auth.Claims) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = &c
}

// LogOut makes the authorization endpoint answer login_required (nobody is logged in).
func (p *Provider) LogOut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = nil
}

// EndSessions returns the query of every call to the end_session endpoint so far.
func (p *Provider) EndSessions() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.endSessions...)
}

// Refusals returns the token endpoint's refusals so far (OAuth error descriptions).
func (p *Provider) Refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refusals...)
}

// AccessToken mints a bearer token for c, signed with the provider's key (no audience).
func (p *Provider) AccessToken(c auth.Claims) string {
	p.t.Helper()
	return p.sign(c, "", "")
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"end_session_endpoint":                  p.URL + "/logout",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: "test", Algorithm: "RS256", Use: "sig"},
	}})
}

// authorize approves the logged-in user at once and redirects back with a code and the state.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != p.ClientID || redirectURI == "" {
		http.Error(w, "unknown client or missing redirect_uri", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	answer := back.Query()
	answer.Set("state", q.Get("state"))
	p.mu.Lock()
	user := p.user
	p.mu.Unlock()
	switch {
	case q.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		answer.Set("error", "invalid_request")
		answer.Set("error_description", "PKCE with S256 is required")
	case user == nil:
		answer.Set("error", "login_required")
	default:
		code := rand.Text()
		p.mu.Lock()
		p.grants[code] = grant{redirectURI: redirectURI, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), user: *user}
		p.mu.Unlock()
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code, checking everything a real provider checks.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.refuse(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: form-urlencoded before Basic encoding.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		p.refuse(w, http.StatusUnauthorized, "invalid_client", "bad client credentials")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		p.refuse(w, http.StatusBadRequest, "unsupported_grant_type", r.PostForm.Get("grant_type"))
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, ok := p.grants[code]
	delete(p.grants, code) // a code is good once, even when the exchange fails
	p.mu.Unlock()
	switch {
	case !ok:
		p.refuse(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		p.refuse(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	case s256(r.PostForm.Get("code_verifier")) != g.challenge:
		p.refuse(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": p.sign(g.user, "", ""),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     p.sign(g.user, p.ClientID, g.nonce),
	})
}

func (p *Provider) refuse(w http.ResponseWriter, status int, code, description string) {
	p.mu.Lock()
	p.refusals = append(p.refusals, code+": "+description)
	p.mu.Unlock()
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// endSession records the logout and sends the browser back where the client asked.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.endSessions = append(p.endSessions, r.URL.Query())
	p.user = nil
	p.mu.Unlock()
	if back := r.URL.Query().Get("post_logout_redirect_uri"); back != "" {
		http.Redirect(w, r, back, http.StatusFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) sign(c auth.Claims, audience, nonce string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: "test"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Errorf("oidctest: signer: %v", err) // not Fatal: this runs on the server's goroutine
		return ""
	}
	now := time.Now()
	std := jwt.Claims{Issuer: p.URL, Subject: c.Subject, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	if audience != "" {
		std.Audience = jwt.Audience{audience}
	}
	profile := map[string]any{}
	for k, v := range map[string]string{"email": c.Email, "name": c.FullName, "given_name": c.ShortName, "locale": c.Language, "nonce": nonce} {
		if v != "" {
			profile[k] = v
		}
	}
	tok, err := jwt.Signed(signer).Claims(std).Claims(profile).Serialize()
	if err != nil {
		p.t.Errorf("oidctest: sign: %v", err)
	}
	return tok
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
