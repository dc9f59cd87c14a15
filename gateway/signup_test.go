package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// Marketing contacts of new users, sent to a local server standing in for Brevo.

type brevo struct {
	*httptest.Server
	mu       sync.Mutex
	contacts []map[string]any
	headers  []http.Header
	seen     chan struct{}
}

// startBrevo serves answer after recording each contact; answer may block until the request's
// context ends (a hanging Brevo).
func startBrevo(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *brevo {
	b := &brevo{seen: make(chan struct{}, 100)}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		b.mu.Lock()
		b.contacts = append(b.contacts, body)
		b.headers = append(b.headers, r.Header.Clone())
		b.mu.Unlock()
		b.seen <- struct{}{}
		answer(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *brevo) emails() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.contacts {
		out = append(out, c["email"].(string))
	}
	return out
}

func signupEnv(b *brevo) map[string]string {
	return map[string]string{
		"SIGNUP_NEW_USER_TO_MARKETING_EMAIL": "true",
		"BREVO_API_KEY":                      "xkeysib-test",
		"BREVO_API_URL":                      b.URL + "/v3",
		"BREVO_API_CONTACT_LIST_IDS":         "3,7",
		"BREVO_API_CONTACT_ATTRIBUTES":       `{"VISIO_USER": true}`,
		"BREVO_API_TIMEOUT":                  "0.3",
	}
}

func me(t *testing.T, c *servicetest.Client) {
	t.Helper()
	if res := c.Do(http.MethodGet, servicetest.Path("users", "me"), nil); res.Status != http.StatusOK {
		t.Fatalf("users/me: %d %s", res.Status, res.Body)
	}
}

func TestSignupAddsMarketingContactOnce(t *testing.T) {
	b := startBrevo(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	n := servicetest.StartNode(t, signupEnv(b))
	ada := n.Client(n.Token("ada", "ada@example.org", "Ada Lovelace"))
	me(t, ada)
	<-b.seen
	// Known users are not sent again: not on their next request, not after a restart (a node
	// with an empty cache, as another node would be), not when their claims change.
	me(t, ada)
	n.Restart()
	me(t, ada)
	me(t, n.Client(n.Token("ada", "ada@example.org", "Ada King")))
	bob := n.Client(n.Token("bob", "bob@example.org", "Bob"))
	me(t, bob)
	n.Close() // waits for contacts in flight
	if got := b.emails(); strings.Join(got, ",") != "ada@example.org,bob@example.org" {
		t.Fatalf("contacts sent: %v, want ada then bob once each", got)
	}
	c, h := b.contacts[0], b.headers[0]
	if h.Get("api-key") != "xkeysib-test" || c["updateEnabled"] != true {
		t.Errorf("request headers %v body %v", h, c)
	}
	if ids, _ := json.Marshal(c["listIds"]); string(ids) != "[3,7]" {
		t.Errorf("listIds = %s, want [3,7]", ids)
	}
	if attrs, _ := json.Marshal(c["attributes"]); string(attrs) != `{"VISIO_USER":true}` {
		t.Errorf("attributes = %s", attrs)
	}
}

func TestSignupDoesNotWaitForAHangingProvider(t *testing.T) {
	release := make(chan struct{})
	b := startBrevo(t, func(_ http.ResponseWriter, r *http.Request) {
		select { // hangs until the test lets it go (or the node gives up)
		case <-release:
		case <-r.Context().Done():
		}
	})
	env := signupEnv(b)
	env["BREVO_API_TIMEOUT"] = "60" // the node does not give up during this test
	n := servicetest.StartNode(t, env)
	// users/me answers while Brevo holds the contact's request open.
	me(t, n.Client(n.Token("ada", "ada@example.org", "Ada")))
	<-b.seen
	if added, _ := n.Metrics().Value("meetcoord_marketing_contacts_total", "outcome", "added"); added != 0 {
		t.Fatal("the contact was added before sign-up answered")
	}
	close(release)
	servicetest.Eventually(t, 5*time.Second, "the contact to be added once released", func() bool {
		counted, _ := n.Metrics().Value("meetcoord_marketing_contacts_total", "outcome", "added")
		return counted == 1
	})
}

func TestSignupProviderTimeoutIsHonoured(t *testing.T) {
	ended := make(chan struct{}, 1)
	b := startBrevo(t, func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hangs until the node gives up
		ended <- struct{}{}
	})
	n := servicetest.StartNode(t, signupEnv(b)) // BREVO_API_TIMEOUT=0.3
	me(t, n.Client(n.Token("ada", "ada@example.org", "Ada")))
	<-b.seen
	<-ended // the node hung up on Brevo
	servicetest.Eventually(t, 5*time.Second, "the timeout to be counted", func() bool {
		counted, _ := n.Metrics().Value("meetcoord_marketing_contacts_total", "outcome", "timeout")
		return counted == 1
	})
}

func TestSignupProviderErrorsDoNotBlockSignup(t *testing.T) {
	b := startBrevo(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"code":"unauthorized"}`, http.StatusUnauthorized)
	})
	n := servicetest.StartNode(t, signupEnv(b))
	me(t, n.Client(n.Token("ada", "ada@example.org", "Ada")))
	servicetest.Eventually(t, 5*time.Second, "the failure to be counted", func() bool {
		counted, _ := n.Metrics().Value("meetcoord_marketing_contacts_total", "outcome", "failed")
		return counted == 1
	})
}

func TestSignupOffByDefault(t *testing.T) {
	b := startBrevo(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	env := signupEnv(b)
	delete(env, "SIGNUP_NEW_USER_TO_MARKETING_EMAIL")
	n := servicetest.StartNode(t, env)
	me(t, n.Client(n.Token("ada", "ada@example.org", "Ada")))
	if _, registered := n.Metrics()["meetcoord_marketing_contacts_total"]; registered {
		t.Error("marketing counter registered while disabled")
	}
	n.Close()
	if got := b.emails(); len(got) != 0 {
		t.Fatalf("contacts sent while disabled: %v", got)
	}
}

// A new user's first request through a browser login is a sign-up too.
func TestSignupThroughBrowserLogin(t *testing.T) {
	b := startBrevo(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	n, p := loginNode(t, signupEnv(b))
	p.LogIn(gwauth.Claims{Subject: "grace", Email: "grace@example.org", FullName: "Grace Hopper"})
	if res := newBrowser(t).login(n, ""); res.status != http.StatusFound {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	<-b.seen
	if got := b.emails(); len(got) != 1 || got[0] != "grace@example.org" {
		t.Fatalf("contacts: %v", got)
	}
}
