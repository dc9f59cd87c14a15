package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"meetcoord/gateway/oidclogin"
)

// Browser login, as the reference product's front end drives it: authenticate/ sends the browser
// to the identity provider, callback/ comes back with a code and opens a session, logout/ ends it
// here and at the provider.

// loginFlowTTL is how long a user may spend at the identity provider's login page.
const loginFlowTTL = 10 * time.Minute

// loginCookie binds a login flow to the browser that started it: the callback's state must be
// the one this browser was sent with (no login CSRF: nobody can make a victim finish their login).
const loginCookie = "meetcoord_login_state"

const callbackPath = "/api/v1.0/callback/"

// pendingLogin is a login flow in the store, under its state.
type pendingLogin struct {
	Flow     oidclogin.Flow `json:"flow"`
	ReturnTo string         `json:"return_to"`
	Silent   bool           `json:"silent"`
}

func newLoginMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meetcoord_browser_logins_total",
		Help: "Browser login callbacks, by outcome.",
	}, []string{"outcome"})
	reg.MustRegister(c)
	return c
}

// authenticateBrowser starts a login: ?returnTo= (or ?next=) is where to go afterwards, on the
// app's own origin; ?silent=true asks the provider not to show a login page.
func (g *Gateway) authenticateBrowser(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	raw := q.Get("returnTo")
	if raw == "" {
		raw = q.Get("next")
	}
	returnTo, ok := g.returnTarget(raw, g.cfg.Browser.LoginRedirect)
	if !ok {
		return invalidField("returnTo", "Must be a path or a URL of this application.")
	}
	flow := oidclogin.NewFlow()
	silent := q.Get("silent") == "true"
	target, err := g.cfg.Login.AuthCodeURL(r.Context(), flow, silent)
	if err != nil {
		return errProviderUnavailable.because(err)
	}
	b, _ := json.Marshal(pendingLogin{Flow: flow, ReturnTo: returnTo, Silent: silent})
	if err := g.cfg.Sessions.PutLoginFlow(r.Context(), flow.State, b, loginFlowTTL); err != nil {
		return storeFailure("save login flow", err)
	}
	http.SetCookie(w, g.cookie(loginCookie, flow.State, callbackPath, int(loginFlowTTL/time.Second), true))
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// loginCallback finishes a login: it checks the state, exchanges the code (with the PKCE
// verifier), creates or updates the user from the ID token and opens a session. Its failures
// are counted by outcome (handleCounting with the login metrics).
func (g *Gateway) loginCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := q.Get("state")
	cookie, _ := r.Cookie(loginCookie)
	http.SetCookie(w, g.cookie(loginCookie, "", callbackPath, -1, true))
	if state == "" || cookie == nil || !equalSecret(cookie.Value, state) {
		return errLoginNotStartedHere
	}
	b, found, err := g.cfg.Sessions.TakeLoginFlow(r.Context(), state)
	if err != nil {
		return storeFailure("take login flow", err)
	}
	var pending pendingLogin
	if !found || json.Unmarshal(b, &pending) != nil {
		return errLoginUnknown
	}
	if e := q.Get("error"); e != "" {
		if pending.Silent {
			// A silent login that the provider cannot do without a page is not a failure: the
			// front end goes on as an anonymous user.
			g.loginMetrics.WithLabelValues("silent_declined").Inc()
			http.Redirect(w, r, pending.ReturnTo, http.StatusFound)
			return nil
		}
		return loginProviderError(e)
	}
	code := q.Get("code")
	if code == "" {
		return errLoginNoCode
	}
	id, err := g.cfg.Login.Exchange(r.Context(), code, pending.Flow)
	switch {
	case errors.Is(err, oidclogin.ErrRefused):
		return errLoginRefused.because(err)
	case err != nil:
		return errProviderUnavailable.counted("provider_unavailable").because(err)
	}
	u, err := g.users.identify(r.Context(), id.Claims)
	if err != nil {
		return storeFailure("save user", err)
	}
	// A fresh session id on every login (never the one the browser came with: no fixation); the
	// session the browser had, if any, ends.
	if old, oldID, err := g.session(r); err == nil && old != nil {
		_ = g.cfg.Sessions.DeleteSession(r.Context(), oldID)
	}
	if err := g.startSession(w, r, u, id.IDToken); err != nil {
		return storeFailure("save session", err)
	}
	g.loginMetrics.WithLabelValues("success").Inc()
	http.Redirect(w, r, pending.ReturnTo, http.StatusFound)
	return nil
}

// logoutBrowser ends the session here, then at the provider when it supports RP-initiated
// logout (the browser is sent to its end_session_endpoint, which sends it back to
// LOGOUT_REDIRECT_URL).
func (g *Gateway) logoutBrowser(w http.ResponseWriter, r *http.Request) error {
	s, id, err := g.session(r)
	if err != nil {
		return storeFailure("read session", err)
	}
	if s != nil {
		// The session must be gone before the browser is told so: a failed delete is a 503,
		// not a logout that leaves a live session behind.
		if err := g.cfg.Sessions.DeleteSession(r.Context(), id); err != nil {
			return storeFailure("delete session", err)
		}
	}
	g.clearSessionCookies(w)
	back := g.absolute(g.cfg.Browser.LogoutRedirect)
	if s != nil {
		if target, ok := g.cfg.Login.EndSessionURL(r.Context(), s.IDToken, back); ok {
			http.Redirect(w, r, target, http.StatusFound)
			return nil
		}
	}
	http.Redirect(w, r, g.cfg.Browser.LogoutRedirect, http.StatusFound)
	return nil
}

// returnTarget validates where to send the browser after login: a path on this origin, or an
// absolute URL on the application's origin (APP_BASE_URL). Anything else could send a freshly
// logged-in user to a look-alike site (open redirect).
func (g *Gateway) returnTarget(raw, def string) (string, bool) {
	if raw == "" {
		return def, true
	}
	// Browsers read "\" as "/" and drop tabs and newlines: "/\evil.example" is another host.
	if strings.ContainsAny(raw, "\\\t\r\n") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		return raw, true
	}
	origin := g.cfg.Browser.AppOrigin
	if origin != "" && u.User == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Scheme+"://"+u.Host == origin {
		return raw, true
	}
	return "", false
}

// absolute makes a path absolute on the application's origin (the provider needs an absolute
// post-logout URL); without APP_BASE_URL a path cannot be, and is left out.
func (g *Gateway) absolute(target string) string {
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") {
		if g.cfg.Browser.AppOrigin == "" {
			return ""
		}
		return g.cfg.Browser.AppOrigin + target
	}
	return target
}
