package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/auth/oidctest"
)

// Browser login against a real (test) OpenID provider: the browser below follows no redirect by
// itself, so each hop (node -> provider -> node callback -> app) is checked on the way.

const appBase = "https://app.example.org"

var ada = gwauth.Claims{Subject: "ada-sub", Email: "Ada@Example.org", FullName: "Ada Lovelace", ShortName: "Ada", Language: "en-gb"}

// loginNode starts a node with browser login against a fresh provider that has Ada logged in.
func loginNode(t *testing.T, env map[string]string) (*servicetest.Node, *oidctest.Provider) {
	t.Helper()
	p := oidctest.Start(t, "meet-client", "client-secret")
	p.LogIn(ada)
	addr := servicetest.FreeAddr(t)
	merged := map[string]string{
		"LISTEN_ADDR":           addr,
		"OIDC_ISSUER":           p.URL,
		"OIDC_RP_CLIENT_ID":     p.ClientID,
		"OIDC_RP_CLIENT_SECRET": p.ClientSecret,
		"OIDC_REDIRECT_URI":     "http://" + addr + "/api/v1.0/callback/",
		"APP_BASE_URL":          appBase,
		"LOGOUT_REDIRECT_URL":   "/bye",
		"SESSION_COOKIE_SECURE": "false",
	}
	for k, v := range env {
		merged[k] = v
	}
	return servicetest.StartNode(t, merged), p
}

// browser keeps cookies by name (whatever their flags, which tests check on the Set-Cookie
// headers themselves) and follows no redirect.
type browser struct {
	t       *testing.T
	cookies map[string]string
	client  *http.Client
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, cookies: map[string]string{}, client: &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status   int
	location string
	setCooks []*http.Cookie
	body     string
}

func (p page) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(p.body), &m)
	return m
}

func (b *browser) do(method, target string, body string, headers ...string) page {
	b.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, reader)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return page{status: res.StatusCode, location: res.Header.Get("Location"), setCooks: res.Cookies(), body: string(data)}
}

func (b *browser) get(target string, headers ...string) page {
	b.t.Helper()
	return b.do(http.MethodGet, target, "", headers...)
}

// startLogin calls authenticate/ and the provider; it returns the callback URL the provider sent
// the browser to (not yet visited).
func (b *browser) startLogin(n *servicetest.Node, query string) string {
	b.t.Helper()
	auth := b.get(n.URL + "/api/v1.0/authenticate/" + query)
	if auth.status != http.StatusFound {
		b.t.Fatalf("authenticate: %d %s", auth.status, auth.body)
	}
	atProvider := b.get(auth.location)
	if atProvider.status != http.StatusFound {
		b.t.Fatalf("provider authorize: %d %s", atProvider.status, atProvider.body)
	}
	return atProvider.location
}

// login runs the whole flow and returns the callback's answer.
func (b *browser) login(n *servicetest.Node, query string) page {
	b.t.Helper()
	return b.get(b.startLogin(n, query))
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestBrowserLoginHappyPath(t *testing.T) {
	n, p := loginNode(t, map[string]string{"SESSION_COOKIE_AGE": "3600"})
	b := newBrowser(t)

	auth := b.get(n.URL + "/api/v1.0/authenticate/?returnTo=" + url.QueryEscape("/rooms/abc?x=1"))
	if auth.status != http.StatusFound || !strings.HasPrefix(auth.location, p.URL+"/authorize?") {
		t.Fatalf("authenticate: %d to %q, want a redirect to the provider", auth.status, auth.location)
	}
	q := must(url.Parse(auth.location)).Query()
	for name, want := range map[string]string{
		"client_id": p.ClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": n.URL + "/api/v1.0/callback/", "scope": "openid email",
	} {
		if q.Get(name) != want {
			t.Errorf("authorize %s = %q, want %q", name, q.Get(name), want)
		}
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("authorize request lacks state, nonce or an S256 challenge: %v", q)
	}

	callback := b.get(b.get(auth.location).location)
	if callback.status != http.StatusFound || callback.location != "/rooms/abc?x=1" {
		t.Fatalf("callback: %d to %q (%s), want 302 to the returnTo", callback.status, callback.location, callback.body)
	}
	session := cookieNamed(callback.setCooks, "sessionid")
	if session == nil || session.Value == "" {
		t.Fatalf("callback set no session cookie: %v", callback.setCooks)
	}

	// The cookie alone authenticates: no bearer token anywhere.
	me := b.get(n.URL + "/api/v1.0/users/me/")
	if me.status != http.StatusOK {
		t.Fatalf("users/me with the session cookie: %d %s", me.status, me.body)
	}
	got := me.json()
	if got["email"] != ada.Email || got["full_name"] != ada.FullName || got["short_name"] != ada.ShortName || got["language"] != "en-us" {
		t.Errorf("users/me = %v, want Ada's claims (locale en-gb: language en-us)", got)
	}

	// The user record holds the ID token's claims.
	raw, found, err := n.Redis.GetUser(t.Context(), got["id"].(string))
	if err != nil || !found {
		t.Fatalf("user record: found=%v err=%v", found, err)
	}
	var rec map[string]string
	_ = json.Unmarshal(raw, &rec)
	if rec["sub"] != ada.Subject || rec["email"] != ada.Email || rec["full_name"] != ada.FullName ||
		rec["short_name"] != ada.ShortName || rec["language"] != ada.Language {
		t.Errorf("stored user = %v", rec)
	}

	// The session is in Redis with the configured age, stored under a hash of the cookie.
	keys, _ := n.Redis.Client().Keys(t.Context(), "meetcoord:session:*").Result()
	if len(keys) != 1 || strings.Contains(keys[0], session.Value) {
		t.Fatalf("session keys = %v (cookie value must not be the key)", keys)
	}
	if ttl := n.Redis.Client().PTTL(t.Context(), keys[0]).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("session TTL = %v, want SESSION_COOKIE_AGE (1 h)", ttl)
	}

	// A second login by the same user updates the record (claims changed at the provider).
	p.LogIn(gwauth.Claims{Subject: ada.Subject, Email: "ada@lovelace.org", FullName: "Ada King", ShortName: "Ada", Language: "fr"})
	if again := b.login(n, ""); again.status != http.StatusFound || again.location != appBase+"/" {
		t.Fatalf("second login: %d to %q, want LOGIN_REDIRECT_URL (APP_BASE_URL/)", again.status, again.location)
	}
	if me := b.get(n.URL + "/api/v1.0/users/me/").json(); me["email"] != "ada@lovelace.org" || me["full_name"] != "Ada King" || me["id"] != got["id"] {
		t.Errorf("users/me after a second login = %v", me)
	}
	if keys, _ := n.Redis.Client().Keys(t.Context(), "meetcoord:session:*").Result(); len(keys) != 1 {
		t.Errorf("after a second login in the same browser %d sessions exist, want the old one ended", len(keys))
	}
}

func TestBrowserLoginCookieFlags(t *testing.T) {
	n, _ := loginNode(t, map[string]string{"SESSION_COOKIE_SECURE": "true", "SESSION_COOKIE_AGE": "600"})
	b := newBrowser(t)
	callbackURL := b.startLogin(n, "")
	// The flow's own cookie is scoped to the callback and HttpOnly.
	callback := b.get(callbackURL)
	if callback.status != http.StatusFound {
		t.Fatalf("callback: %d %s", callback.status, callback.body)
	}
	tests := []struct {
		name     string
		httpOnly bool
	}{
		{"sessionid", true},
		{"csrftoken", false}, // the front end's script reads it
	}
	for _, tt := range tests {
		c := cookieNamed(callback.setCooks, tt.name)
		if c == nil {
			t.Fatalf("no %s cookie in %v", tt.name, callback.setCooks)
		}
		if c.HttpOnly != tt.httpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 600 {
			t.Errorf("%s cookie = %+v, want HttpOnly=%v Secure SameSite=Lax Path=/ Max-Age=600", tt.name, c, tt.httpOnly)
		}
	}
	if c := cookieNamed(callback.setCooks, "meetcoord_login_state"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the login state cookie is not cleared by the callback: %+v", c)
	}
}

func TestBrowserLoginRefusesMismatchedState(t *testing.T) {
	n, p := loginNode(t, nil)
	b := newBrowser(t)
	callbackURL := must(url.Parse(b.startLogin(n, "")))

	forged := *callbackURL
	q := forged.Query()
	q.Set("state", "not-the-state-this-browser-was-sent-with")
	forged.RawQuery = q.Encode()
	if res := b.get(forged.String()); res.status != http.StatusBadRequest || !strings.Contains(res.json()["detail"].(string), "did not start this login") {
		t.Fatalf("callback with another state: %d %s, want 400", res.status, res.body)
	}

	// The real callback in another browser (an attacker making a victim finish their login).
	other := newBrowser(t)
	if res := other.get(callbackURL.String()); res.status != http.StatusBadRequest {
		t.Fatalf("callback in a browser that did not start the login: %d %s, want 400", res.status, res.body)
	}
	for _, br := range []*browser{b, other} {
		if me := br.get(n.URL + "/api/v1.0/users/me/"); me.status != http.StatusUnauthorized {
			t.Errorf("users/me after a refused login: %d, want 401", me.status)
		}
	}
	if len(p.Refusals()) != 0 {
		t.Errorf("a code was exchanged despite the bad state: %v", p.Refusals())
	}
}

func TestBrowserLoginPKCEMismatchIsRefusedByTheProvider(t *testing.T) {
	n, p := loginNode(t, nil)
	b := newBrowser(t)
	// A code issued for one login (one PKCE challenge) injected into another login's callback:
	// the state matches, but the provider refuses the verifier of the second login.
	first := must(url.Parse(b.startLogin(n, "")))
	second := must(url.Parse(b.startLogin(n, "")))
	injected := *second
	q := injected.Query()
	q.Set("code", first.Query().Get("code"))
	injected.RawQuery = q.Encode()

	res := b.get(injected.String())
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "refused") {
		t.Fatalf("callback with another login's code: %d %s, want 400 refused", res.status, res.body)
	}
	if refusals := p.Refusals(); len(refusals) != 1 || !strings.Contains(refusals[0], "PKCE") {
		t.Fatalf("provider refusals = %v, want one PKCE refusal", refusals)
	}
	if cookieNamed(res.setCooks, "sessionid") != nil {
		t.Error("a session cookie was set for a refused login")
	}
	if me := b.get(n.URL + "/api/v1.0/users/me/"); me.status != http.StatusUnauthorized {
		t.Errorf("users/me after a refused login: %d, want 401", me.status)
	}
}

func TestBrowserLoginReturnTarget(t *testing.T) {
	n, _ := loginNode(t, nil)
	tests := []struct {
		returnTo string
		ok       bool
	}{
		{"/rooms/abc", true},
		{appBase + "/rooms/abc?x=1", true},
		{"https://evil.example/rooms", false},
		{"//evil.example/rooms", false},
		{"/\\evil.example/rooms", false},
		{"https://app.example.org.evil.example/", false},
		{"https://user@app.example.org/", false},
		{"javascript:alert(1)", false},
	}
	for _, tt := range tests {
		b := newBrowser(t)
		res := b.get(n.URL + "/api/v1.0/authenticate/?returnTo=" + url.QueryEscape(tt.returnTo))
		switch {
		case tt.ok && res.status != http.StatusFound:
			t.Errorf("returnTo %q: %d %s, want a redirect to the provider", tt.returnTo, res.status, res.body)
		case !tt.ok && (res.status != http.StatusBadRequest || res.json()["returnTo"] == nil):
			t.Errorf("returnTo %q: %d %s, want 400 naming returnTo", tt.returnTo, res.status, res.body)
		case tt.ok:
			if done := b.get(b.get(res.location).location); done.location != tt.returnTo {
				t.Errorf("returnTo %q: login ends at %q", tt.returnTo, done.location)
			}
		}
	}
}

func TestBrowserSilentLoginDeclined(t *testing.T) {
	n, p := loginNode(t, nil)
	p.LogOut()
	b := newBrowser(t)
	// Nobody is logged in at the provider: a silent login comes back without a session.
	res := b.login(n, "?silent=true&returnTo=/here")
	if res.status != http.StatusFound || res.location != "/here" || cookieNamed(res.setCooks, "sessionid") != nil {
		t.Fatalf("declined silent login: %d to %q cookies %v, want a redirect to /here without a session", res.status, res.location, res.setCooks)
	}
	// The same answer to an interactive login is a failure.
	if res := b.login(n, ""); res.status != http.StatusBadRequest || !strings.Contains(res.body, "login_required") {
		t.Fatalf("declined login: %d %s, want 400 naming the provider's error", res.status, res.body)
	}
}

func TestBrowserSessionExpires(t *testing.T) {
	n, _ := loginNode(t, map[string]string{"SESSION_COOKIE_AGE": "1"})
	b := newBrowser(t)
	if res := b.login(n, ""); res.status != http.StatusFound {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	cookie := b.cookies["sessionid"]
	if me := b.get(n.URL + "/api/v1.0/users/me/"); me.status != http.StatusOK {
		t.Fatalf("users/me right after login: %d", me.status)
	}
	// Redis ends the session; the browser still sends the cookie (set it again in case the
	// test browser dropped it).
	servicetest.Eventually(t, 10*time.Second, "the session to expire in Redis", func() bool {
		keys, err := n.Redis.Client().Keys(t.Context(), "meetcoord:session:*").Result()
		return err == nil && len(keys) == 0
	})
	b.cookies["sessionid"] = cookie
	if me := b.get(n.URL + "/api/v1.0/users/me/"); me.status != http.StatusUnauthorized {
		t.Fatalf("users/me with an expired session: %d %s, want 401", me.status, me.body)
	}
	// An anonymous endpoint still works: an ended session is anonymous, not an error.
	if cfg := b.get(n.URL + "/api/v1.0/config/"); cfg.status != http.StatusOK {
		t.Fatalf("config/ with an expired session: %d", cfg.status)
	}
}

func TestBrowserLogout(t *testing.T) {
	n, p := loginNode(t, nil)
	b := newBrowser(t)
	if res := b.login(n, ""); res.status != http.StatusFound {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	cookie := b.cookies["sessionid"]

	out := b.get(n.URL + "/api/v1.0/logout/")
	if out.status != http.StatusFound || !strings.HasPrefix(out.location, p.URL+"/logout?") {
		t.Fatalf("logout: %d to %q, want a redirect to the provider's end_session_endpoint", out.status, out.location)
	}
	q := must(url.Parse(out.location)).Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != p.ClientID || q.Get("post_logout_redirect_uri") != appBase+"/bye" {
		t.Errorf("end session request = %v", q)
	}
	for _, name := range []string{"sessionid", "csrftoken"} {
		if c := cookieNamed(out.setCooks, name); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("logout does not clear %s: %+v", name, c)
		}
	}
	if keys, _ := n.Redis.Client().Keys(t.Context(), "meetcoord:session:*").Result(); len(keys) != 0 {
		t.Errorf("sessions left in Redis after logout: %v", keys)
	}
	// The browser goes on to the provider, which comes back to LOGOUT_REDIRECT_URL.
	if back := b.get(out.location); back.location != appBase+"/bye" || len(p.EndSessions()) != 1 {
		t.Errorf("provider logout: to %q, %d calls", back.location, len(p.EndSessions()))
	}
	// A copy of the old cookie is worth nothing.
	b.cookies["sessionid"] = cookie
	if me := b.get(n.URL + "/api/v1.0/users/me/"); me.status != http.StatusUnauthorized {
		t.Fatalf("users/me with a logged-out session: %d, want 401", me.status)
	}
	// Logging out without a session just goes to LOGOUT_REDIRECT_URL.
	if again := newBrowser(t).get(n.URL + "/api/v1.0/logout/"); again.status != http.StatusFound || again.location != "/bye" {
		t.Errorf("logout without a session: %d to %q", again.status, again.location)
	}
}

func TestBrowserSessionCSRF(t *testing.T) {
	n, p := loginNode(t, nil)
	b := newBrowser(t)
	if res := b.login(n, ""); res.status != http.StatusFound {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	token := b.cookies["csrftoken"]
	if token == "" {
		t.Fatal("no csrftoken cookie after login")
	}
	rooms := n.URL + "/api/v1.0/rooms/"
	body := `{"name":"Standup"}`
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no token", nil, http.StatusForbidden},
		{"wrong token", []string{"X-CSRFToken", "guessed"}, http.StatusForbidden},
		{"token of the session", []string{"X-CSRFToken", token}, http.StatusCreated},
	}
	for _, tt := range tests {
		res := b.do(http.MethodPost, rooms, body, tt.headers...)
		if res.status != tt.want {
			t.Errorf("%s: POST rooms/ = %d %s, want %d", tt.name, res.status, res.body, tt.want)
		}
		if tt.want == http.StatusForbidden && !strings.Contains(res.body, "CSRF") {
			t.Errorf("%s: detail %s does not say CSRF", tt.name, res.body)
		}
	}
	// The csrftoken cookie alone (cookie tossing) is not enough: the header must be the
	// session's token, whatever the cookie says.
	b.cookies["csrftoken"] = "planted"
	if res := b.do(http.MethodPost, rooms, body, "X-CSRFToken", "planted"); res.status != http.StatusForbidden {
		t.Errorf("planted csrftoken: %d, want 403", res.status)
	}
	// Safe methods need no token.
	if res := b.get(rooms); res.status != http.StatusOK || res.json()["count"] != 1.0 {
		t.Errorf("GET rooms/ with the cookie: %d %s", res.status, res.body)
	}
	// Bearer callers are not affected, even with a session cookie beside the token.
	bearer := n.Client(p.AccessToken(gwauth.Claims{Subject: "bob-sub", Email: "bob@example.org", FullName: "Bob"}))
	if res := bearer.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Bob's")}); res.Status != http.StatusCreated {
		t.Errorf("bearer POST rooms/: %d %s", res.Status, res.Body)
	}
	if res := b.do(http.MethodPost, rooms, `{"name":"`+servicetest.UniqueRoomName("Standup")+`"}`, "Authorization", "Bearer "+p.AccessToken(ada)); res.status != http.StatusCreated {
		t.Errorf("bearer POST rooms/ with a session cookie too: %d %s", res.status, res.body)
	}
}

// A session opened through one node is accepted by another node sharing the Redis (here a
// separate `meetcoord serve` process).
func TestBrowserSessionOnAnotherNode(t *testing.T) {
	n, p := loginNode(t, nil)
	b := newBrowser(t)
	if res := b.login(n, ""); res.status != http.StatusFound {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	me := b.get(n.URL + "/api/v1.0/users/me/").json()

	env := map[string]string{"LISTEN_ADDR": servicetest.FreeAddr(t), "LOG_LEVEL": "warn"}
	for _, k := range []string{"REDIS_URL", "SECRET_KEY", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_API_URL", "OIDC_ISSUER",
		"OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_REDIRECT_URI", "APP_BASE_URL", "SESSION_COOKIE_SECURE"} {
		env[k] = n.Env[k]
	}
	other := servicetest.StartProcess(t, env)
	res := b.get(other.URL + "/api/v1.0/users/me/")
	if res.status != http.StatusOK || res.json()["id"] != me["id"] {
		t.Fatalf("users/me on the other node: %d %s, want %v", res.status, res.body, me["id"])
	}
	// CSRF holds there too, with the token from the first node's login.
	if res := b.do(http.MethodPost, other.URL+"/api/v1.0/rooms/", `{"name":"x"}`); res.status != http.StatusForbidden {
		t.Errorf("POST without CSRF token on the other node: %d", res.status)
	}
	// Logging out on the other node ends the session on the first.
	cookie := b.cookies["sessionid"]
	if out := b.get(other.URL + "/api/v1.0/logout/"); out.status != http.StatusFound || !strings.HasPrefix(out.location, p.URL) {
		t.Fatalf("logout on the other node: %d to %q", out.status, out.location)
	}
	b.cookies["sessionid"] = cookie
	if res := b.get(n.URL + "/api/v1.0/users/me/"); res.status != http.StatusUnauthorized {
		t.Fatalf("users/me on the first node after logout on the other: %d, want 401", res.status)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
