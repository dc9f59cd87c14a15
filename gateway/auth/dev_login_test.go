package auth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"meetcoord/gateway/auth"
	"meetcoord/gateway/oidclogin"
)

// devLoginFixture is a development issuer with its login page on, mounted as the service mounts
// it, and the node's own relying party (oidclogin) registered with it.
type devLoginFixture struct {
	server   *httptest.Server
	client   *oidclogin.Client
	callback string
}

func startDevLogin(t *testing.T) devLoginFixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "key.pem"), base+"/dev-oidc")
	if err != nil {
		t.Fatal(err)
	}
	callback := base + "/api/v1.0/callback/"
	issuer.EnableLogin(auth.DevClient{ID: "meetcoord-dev", Secret: "s3cret", RedirectURI: callback})
	mux := http.NewServeMux()
	mux.Handle("/dev-oidc/", http.StripPrefix("/dev-oidc", issuer.Handler()))
	srv.Config.Handler = mux
	srv.Start()
	client := oidclogin.New(oidclogin.Config{
		Issuer: issuer.IssuerURL(), ClientID: "meetcoord-dev", ClientSecret: "s3cret",
		RedirectURL: callback, Scopes: []string{"openid", "email"},
	})
	return devLoginFixture{server: srv, client: client, callback: callback}
}

// noRedirects is a browser that shows each redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func fetch(t *testing.T, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// fillIn posts the login form of authURL as a person would: the hidden fields of the page as
// they are, plus a name and an email.
func fillIn(t *testing.T, authURL, name, email string) *http.Response {
	t.Helper()
	page, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	form := page.Query()
	form.Set("name", name)
	form.Set("email", email)
	resp, _ := fetch(t, http.MethodPost, page.Scheme+"://"+page.Host+page.Path, form)
	return resp
}

func TestDevLoginLogsABrowserIn(t *testing.T) {
	f := startDevLogin(t)
	flow := oidclogin.NewFlow()
	authURL, err := f.client.AuthCodeURL(t.Context(), flow, false)
	if err != nil {
		t.Fatal(err)
	}

	resp, page := fetch(t, http.MethodGet, authURL, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`name="name"`, `name="email"`, `name="state" value="` + flow.State + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s", want)
		}
	}

	resp = fillIn(t, authURL, "Ada Lovelace", "ada@example.com")
	back, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("after the form: %d, Location %v", resp.StatusCode, err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != f.callback || back.Query().Get("state") != flow.State {
		t.Fatalf("redirected to %s, want the callback with the state", back)
	}
	code := back.Query().Get("code")
	id, err := f.client.Exchange(t.Context(), code, flow)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if id.Claims.Email != "ada@example.com" || id.Claims.FullName != "Ada Lovelace" || id.Claims.ShortName != "Ada" || id.Claims.Subject == "" {
		t.Errorf("identity = %+v", id.Claims)
	}

	// The same email is the same user; a code is good once.
	flow2 := oidclogin.NewFlow()
	authURL2, _ := f.client.AuthCodeURL(t.Context(), flow2, false)
	back2, _ := fillIn(t, authURL2, "Ada L.", "Ada@Example.com").Location()
	again, err := f.client.Exchange(t.Context(), back2.Query().Get("code"), flow2)
	if err != nil || again.Claims.Subject != id.Claims.Subject {
		t.Errorf("second login: %v, subject %q, want %q", err, again.Claims.Subject, id.Claims.Subject)
	}
	if _, err := f.client.Exchange(t.Context(), code, flow); !errors.Is(err, oidclogin.ErrRefused) {
		t.Errorf("reused code: %v, want refused", err)
	}
}

func TestDevLoginRefusals(t *testing.T) {
	f := startDevLogin(t)
	flow := oidclogin.NewFlow()
	authURL, err := f.client.AuthCodeURL(t.Context(), flow, false)
	if err != nil {
		t.Fatal(err)
	}
	silentURL, _ := f.client.AuthCodeURL(t.Context(), flow, true)

	t.Run("silent login is declined at once", func(t *testing.T) {
		resp, _ := fetch(t, http.MethodGet, silentURL, nil)
		back, err := resp.Location()
		if err != nil || back.Query().Get("error") != "login_required" || back.Query().Get("code") != "" {
			t.Fatalf("prompt=none: %d %v", resp.StatusCode, back)
		}
	})
	t.Run("another redirect URI gets no redirect", func(t *testing.T) {
		u, _ := url.Parse(authURL)
		q := u.Query()
		q.Set("redirect_uri", "https://evil.example/callback")
		u.RawQuery = q.Encode()
		resp, _ := fetch(t, http.MethodGet, u.String(), nil)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("foreign redirect_uri: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	for _, tc := range []struct{ name, user, email string }{
		{"no email", "Ada", ""},
		{"no name", "", "ada@example.com"},
		{"not an email", "Ada", "ada"},
		{"name too long", strings.Repeat("a", 256), "ada@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := fillIn(t, authURL, tc.user, tc.email)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want the form again with an error", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		back, _ := fillIn(t, authURL, "Ada", "ada@example.com").Location()
		other := flow
		other.Verifier = oidclogin.NewFlow().Verifier
		if _, err := f.client.Exchange(t.Context(), back.Query().Get("code"), other); !errors.Is(err, oidclogin.ErrRefused) {
			t.Fatalf("exchange with another verifier: %v, want refused", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		back, _ := fillIn(t, authURL, "Ada", "ada@example.com").Location()
		u, _ := url.Parse(f.callback)
		impostor := oidclogin.New(oidclogin.Config{
			Issuer: "http://" + u.Host + "/dev-oidc", ClientID: "meetcoord-dev", ClientSecret: "guess",
			RedirectURL: f.callback, Scopes: []string{"openid"},
		})
		if _, err := impostor.Exchange(t.Context(), back.Query().Get("code"), flow); !errors.Is(err, oidclogin.ErrRefused) {
			t.Fatalf("exchange with a wrong secret: %v, want refused", err)
		}
	})
}
