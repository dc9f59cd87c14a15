package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DevClient is the one relying party the development issuer logs browsers in for: the node's
// own browser login (dev mode only). Codes go only to its redirect URI.
type DevClient struct {
	ID          string
	Secret      string
	RedirectURI string
}

// Bounds of the development login: a code is exchanged within seconds by the node itself, so a
// short life and a small table are enough, and a page reloaded in a loop cannot grow memory.
const (
	devCodeTTL        = time.Minute
	devMaxPendingCode = 1000
	devMaxField       = 255
)

// devLogin is the authorization-code flow of the development issuer: a form asking a name and
// an email (no password: whoever reaches a dev node is trusted), a one-time code bound to the
// redirect URI and the PKCE challenge, and the token endpoint that trades it for an ID token.
type devLogin struct {
	issuer *DevIssuer
	client DevClient

	mu    sync.Mutex
	codes map[string]devGrant
}

type devGrant struct {
	challenge string
	nonce     string
	user      Claims
	expires   time.Time
}

// EnableLogin turns on the development login page for client. Without it the authorization and
// token endpoints answer 501, as `meetcoord dev-token` is then the only way to a token.
func (d *DevIssuer) EnableLogin(client DevClient) {
	d.login = &devLogin{issuer: d, client: client, codes: map[string]devGrant{}}
}

//go:embed dev_login.html
var devLoginPage string

var devLoginTemplate = template.Must(template.New("login").Parse(devLoginPage))

type devLoginForm struct {
	Params url.Values // the authorization request, carried through the form
	Name   string
	Email  string
	Error  string
}

// authorize shows the form (GET) or, once it is filled in (POST), redirects back to the client
// with a code. prompt=none is answered login_required at once: the issuer keeps no session, so
// a silent login never logs anyone in and logging out sticks.
func (l *devLogin) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	params := r.Form
	if params.Get("client_id") != l.client.ID || params.Get("redirect_uri") != l.client.RedirectURI {
		// Never redirect to an address that is not the registered one.
		http.Error(w, "unknown client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(l.client.RedirectURI)
	if err != nil {
		http.Error(w, "bad registered redirect_uri", http.StatusInternalServerError)
		return
	}
	answer := back.Query()
	answer.Set("state", params.Get("state"))
	redirect := func() {
		back.RawQuery = answer.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	switch {
	case params.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
		redirect()
		return
	case params.Get("code_challenge_method") != "S256" || params.Get("code_challenge") == "":
		answer.Set("error", "invalid_request")
		answer.Set("error_description", "PKCE with S256 is required")
		redirect()
		return
	case params.Get("prompt") == "none":
		answer.Set("error", "login_required")
		redirect()
		return
	}
	form := devLoginForm{Params: carried(params)}
	if r.Method != http.MethodPost {
		l.show(w, form)
		return
	}
	form.Name = strings.TrimSpace(r.PostForm.Get("name"))
	form.Email = strings.TrimSpace(r.PostForm.Get("email"))
	if msg := checkDevUser(form.Name, form.Email); msg != "" {
		form.Error = msg
		l.show(w, form)
		return
	}
	code := rand.Text()
	grant := devGrant{
		challenge: params.Get("code_challenge"),
		nonce:     params.Get("nonce"),
		user:      devUser(form.Name, form.Email),
		expires:   time.Now().Add(devCodeTTL),
	}
	if !l.remember(code, grant) {
		answer.Set("error", "temporarily_unavailable")
		redirect()
		return
	}
	answer.Set("code", code)
	redirect()
}

// carried is the authorization request minus what the form itself sends.
func carried(params url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		if v := params.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

func (l *devLogin) show(w http.ResponseWriter, form devLoginForm) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("X-Frame-Options", "DENY")
	if form.Error != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	if err := devLoginTemplate.Execute(w, form); err != nil {
		slog.Error("auth: render the development login page", slog.Any("error", err))
	}
}

func checkDevUser(name, email string) string {
	switch {
	case name == "" || email == "":
		return "A name and an email are both required."
	case utf8.RuneCountInString(name) > devMaxField || len(email) > devMaxField:
		return "A name or an email is at most 255 characters."
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return "The email is not a valid address."
	}
	return ""
}

// devUser is who logs in: the subject is derived from the email, so that logging in again with
// the same email is the same user (with their rooms), whatever the name typed.
func devUser(name, email string) Claims {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	short, _, _ := strings.Cut(name, " ")
	return Claims{Subject: "dev-" + hex.EncodeToString(sum[:12]), Email: email, FullName: name, ShortName: short}
}

// remember stores a code, dropping expired ones first; false when the table is full.
func (l *devLogin) remember(code string, g devGrant) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for c, old := range l.codes {
		if now.After(old.expires) {
			delete(l.codes, c)
		}
	}
	if len(l.codes) >= devMaxPendingCode {
		return false
	}
	l.codes[code] = g
	return true
}

// token trades a code for tokens, checking what a real provider checks: client credentials,
// a one-time unexpired code, the redirect URI and the PKCE verifier.
func (l *devLogin) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		refuse(w, http.StatusBadRequest, "invalid_request", "unreadable form")
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
	if id != l.client.ID || subtle.ConstantTimeCompare([]byte(secret), []byte(l.client.Secret)) != 1 {
		refuse(w, http.StatusUnauthorized, "invalid_client", "bad client credentials")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		refuse(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := r.PostForm.Get("code")
	l.mu.Lock()
	g, ok := l.codes[code]
	delete(l.codes, code) // good once, even when the exchange fails
	l.mu.Unlock()
	switch {
	case !ok || time.Now().After(g.expires):
		refuse(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case r.PostForm.Get("redirect_uri") != l.client.RedirectURI:
		refuse(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	case pkceS256(r.PostForm.Get("code_verifier")) != g.challenge:
		refuse(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	const ttl = time.Hour
	access, err := l.issuer.Mint(g.user, "", ttl)
	if err != nil {
		slog.Error("auth: development login: sign a token", slog.Any("error", err))
		refuse(w, http.StatusInternalServerError, "server_error", "cannot sign the token")
		return
	}
	idToken, err := l.issuer.mintIDToken(g.user, l.client.ID, g.nonce, ttl)
	if err != nil {
		slog.Error("auth: development login: sign a token", slog.Any("error", err))
		refuse(w, http.StatusInternalServerError, "server_error", "cannot sign the token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(ttl.Seconds()), "id_token": idToken,
	})
}

func refuse(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
