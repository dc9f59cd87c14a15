package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// Black-box tests of POST rooms/{room}/invite/ (api.md "In-meeting actions") against a real SMTP
// server in the test process: what arrives is parsed as a mail client would (net/mail,
// mime/multipart).

const (
	inviteBaseURL = "https://meet.example.org"
	inviteFrom    = "noreply@meet.example.org"
)

// inviteNode starts a node sending invitations through the SMTP server at host:port.
func inviteNode(t *testing.T, host string, port int, extra map[string]string) *servicetest.Node {
	t.Helper()
	env := map[string]string{
		"EMAIL_HOST": host, "EMAIL_PORT": strconv.Itoa(port), "EMAIL_FROM": "Meet <" + inviteFrom + ">",
		"APP_BASE_URL": inviteBaseURL + "/",
	}
	for k, v := range extra {
		env[k] = v
	}
	return servicetest.StartNode(t, env)
}

func invite(c *servicetest.Client, room string, emails any) servicetest.Response {
	return c.Do(http.MethodPost, servicetest.Path("rooms", room, "invite"), map[string]any{"emails": emails})
}

// guest is a recipient address unique to the test run.
func guest(name string) string { return name + "-" + uuid.NewString()[:8] + "@example.org" }

// mailsTo returns the parsed messages whose envelope goes to addr (case-insensitively).
func mailsTo(t *testing.T, srv *servicetest.SMTPServer, addr string) []servicetest.ParsedMail {
	t.Helper()
	var out []servicetest.ParsedMail
	for _, m := range srv.Mails() {
		if !slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, addr) }) {
			continue
		}
		if len(m.To) != 1 {
			t.Errorf("one message for several recipients %v: each invitation must go alone", m.To)
		}
		if m.From != inviteFrom {
			t.Errorf("envelope sender %q, want %q", m.From, inviteFrom)
		}
		p, err := servicetest.ParseMail(m.Data)
		if err != nil {
			t.Fatalf("message to %s: %v\n%s", addr, err, m.Data)
		}
		out = append(out, p)
	}
	return out
}

func TestInvite(t *testing.T) {
	srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{})
	n := inviteNode(t, srv.Host, srv.Port, nil)
	owner := n.NewUser("alice") // full name "User alice", no language
	room := owner.CreateRoom(map[string]any{"name": "Weekly <sync> & review", "access_level": "restricted"})
	roomID, slug := room.ID, room.Slug
	link := inviteBaseURL + "/" + slug

	t.Run("one email per distinct address, in English by default", func(t *testing.T) {
		bob, carol := guest("bob"), guest("carol")
		res := invite(owner.Client, roomID, []string{bob, carol, strings.ToUpper(bob), " " + carol + " "})
		if res.Status != http.StatusOK || res.JSON()["status"] != "success" || res.JSON()["message"] != "invitations sent" {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		for _, addr := range []string{bob, carol} {
			mails := mailsTo(t, srv, addr)
			if len(mails) != 1 {
				t.Fatalf("%d messages to %s, want 1 (duplicates collapsed)", len(mails), addr)
			}
			m := mails[0]
			if len(m.To) != 1 || m.To[0].Address != addr {
				t.Errorf("To header %v, want %s", m.To, addr)
			}
			if want := `User alice invites you to join "Weekly <sync> & review"`; m.Subject != want {
				t.Errorf("subject %q, want %q", m.Subject, want)
			}
			for _, want := range []string{"Weekly <sync> & review", "User alice", link, "Join the meeting"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text body lacks %q:\n%s", want, m.Text)
				}
			}
			for _, want := range []string{"Weekly &lt;sync&gt; &amp; review", "User alice", `href="` + link + `"`, "Join the meeting"} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML body lacks %q:\n%s", want, m.HTML)
				}
			}
			if strings.Contains(m.HTML, "<sync>") {
				t.Errorf("room name not escaped in HTML:\n%s", m.HTML)
			}
		}
	})

	t.Run("French for a French-speaking sender, by slug, email when no full name", func(t *testing.T) {
		fr := n.RegisterUser(gwauth.Claims{Subject: servicetest.Unique("amelie"), Email: "amelie@example.org", Language: "fr-FR"})
		owner.Grant(roomID, fr.ID, "administrator")
		dan := guest("dan")
		res := invite(fr.Client, slug, []string{dan})
		if res.Status != http.StatusOK {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		mails := mailsTo(t, srv, dan)
		if len(mails) != 1 {
			t.Fatalf("%d messages to %s, want 1", len(mails), dan)
		}
		m := mails[0]
		if want := "amelie@example.org vous invite à rejoindre «\u00a0Weekly <sync> & review\u00a0»"; m.Subject != want {
			t.Errorf("subject %q, want %q", m.Subject, want)
		}
		for _, body := range []string{m.Text, m.HTML} {
			for _, want := range []string{"Bonjour", "amelie@example.org", link, "Rejoindre la réunion"} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		}
	})

	t.Run("an untranslated language falls back to English", func(t *testing.T) {
		de := n.RegisterUser(gwauth.Claims{Subject: servicetest.Unique("dieter"), Email: "dieter@example.org", FullName: "Dieter Braun", Language: "de"})
		owner.Grant(roomID, de.ID, "owner")
		erin := guest("erin")
		if res := invite(de.Client, roomID, []string{erin}); res.Status != http.StatusOK {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		mails := mailsTo(t, srv, erin)
		if len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, "Dieter Braun invites you") {
			t.Fatalf("messages to %s: %+v", erin, mails)
		}
	})

	member := n.NewUser("mallory")
	owner.Grant(roomID, member.ID, "member")
	outsider := n.NewUser("oscar")
	refused := []struct {
		name   string
		client *servicetest.Client
		room   string
		body   any
		status int
		field  string // validation error expected on this field
	}{
		{"anonymous", n.Client(""), roomID, []string{guest("x")}, http.StatusUnauthorized, ""},
		{"member", member.Client, roomID, []string{guest("x")}, http.StatusForbidden, ""},
		{"no role", outsider.Client, roomID, []string{guest("x")}, http.StatusForbidden, ""},
		{"unknown room id", owner.Client, uuid.NewString(), []string{guest("x")}, http.StatusNotFound, ""},
		{"unknown slug", owner.Client, "nope-nope-nope", []string{guest("x")}, http.StatusNotFound, ""},
		{"empty list", owner.Client, roomID, []string{}, http.StatusBadRequest, "emails"},
		{"missing list", owner.Client, roomID, nil, http.StatusBadRequest, "emails"},
		{"not a list", owner.Client, roomID, guest("x"), http.StatusBadRequest, "emails"},
		{"an invalid address among valid ones", owner.Client, roomID, []string{guest("x"), "not-an-address", guest("y")}, http.StatusBadRequest, "emails"},
		{"display name", owner.Client, roomID, []string{"Bob <bob@example.org>"}, http.StatusBadRequest, "emails"},
		{"no domain dot", owner.Client, roomID, []string{"bob@localhost"}, http.StatusBadRequest, "emails"},
		{"not a string", owner.Client, roomID, []any{42}, http.StatusBadRequest, "emails"},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			before := len(srv.Mails())
			res := invite(tc.client, tc.room, tc.body)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			body := res.JSON()
			if detail, _ := body["detail"].(string); detail == "" {
				t.Errorf("no detail in %s", res.Body)
			}
			if tc.field != "" {
				if msgs, _ := body[tc.field].([]any); len(msgs) == 0 {
					t.Errorf("no error for field %q in %s", tc.field, res.Body)
				}
			}
			// The endpoint answers after its sends: nothing can arrive later.
			if after := len(srv.Mails()); after != before {
				t.Errorf("%d messages sent by a refused request", after-before)
			}
		})
	}

	t.Run("too many distinct addresses", func(t *testing.T) {
		var many []string
		for i := range 101 {
			many = append(many, fmt.Sprintf("guest%d@example.org", i))
		}
		before := len(srv.Mails())
		res := invite(owner.Client, roomID, many)
		if res.Status != http.StatusBadRequest || res.JSON()["emails"] == nil {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if after := len(srv.Mails()); after != before {
			t.Errorf("%d messages sent", after-before)
		}
	})

	t.Run("sent emails are counted", func(t *testing.T) {
		// 2 + 1 + 1 sent above.
		if got := n.Metric("meetcoord_invitation_emails_total", "result", "sent"); got != 4 {
			t.Errorf("meetcoord_invitation_emails_total{result=sent} = %v, want 4", got)
		}
	})
}

// TestInviteFailures: a mail server that is down, hangs, refuses some recipients, or no mail
// server at all. Each case has a node of its own (its own settings).
func TestInviteFailures(t *testing.T) {
	start := func(t *testing.T, host string, port int, extra map[string]string) (*servicetest.Node, servicetest.User, string) {
		t.Helper()
		n := inviteNode(t, host, port, extra)
		owner := n.NewUser("alice")
		id := owner.CreateRoom(map[string]any{"name": "Standup", "access_level": "restricted"}).ID
		return n, owner, id
	}
	failedOf := func(t *testing.T, res servicetest.Response) []string {
		t.Helper()
		var body struct {
			Failed []string `json:"failed"`
		}
		if err := json.Unmarshal(res.Body, &body); err != nil {
			t.Fatalf("body %s: %v", res.Body, err)
		}
		return body.Failed
	}

	t.Run("nothing listening: 502 listing every address", func(t *testing.T) {
		n, owner, room := start(t, "127.0.0.1", servicetest.ClosedPort(t), nil)
		a, b := guest("a"), guest("b")
		res := invite(owner.Client, room, []string{a, b})
		if res.Status != http.StatusBadGateway {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if got := failedOf(t, res); !slices.Equal(got, []string{a, b}) {
			t.Errorf("failed %v, want %v", got, []string{a, b})
		}
		if got := n.Metric("meetcoord_invitation_emails_total", "result", "failed"); got != 2 {
			t.Errorf("meetcoord_invitation_emails_total{result=failed} = %v, want 2", got)
		}
	})

	t.Run("server accepts but never answers: 502 within the timeout", func(t *testing.T) {
		host, port := servicetest.StartSilentSMTP(t)
		_, owner, room := start(t, host, port, map[string]string{"EMAIL_TIMEOUT": "0.5"})
		a, b, c := guest("a"), guest("b"), guest("c")
		// The client's own timeout (30 s) is far above EMAIL_TIMEOUT: an answer at all means
		// the endpoint gave up by itself.
		res := invite(owner.Client, room, []string{a, b, c})
		if res.Status != http.StatusBadGateway {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if got := failedOf(t, res); !slices.Equal(got, []string{a, b, c}) {
			t.Errorf("failed %v, want %v", got, []string{a, b, c})
		}
	})

	t.Run("some recipients refused: 200 listing them", func(t *testing.T) {
		srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{RejectRecipient: func(addr string) bool {
			return strings.HasPrefix(addr, "ghost-")
		}})
		_, owner, room := start(t, srv.Host, srv.Port, nil)
		ok, ghost := guest("ok"), guest("ghost")
		res := invite(owner.Client, room, []string{ok, ghost})
		if res.Status != http.StatusOK || res.JSON()["status"] != "partial" {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if got := failedOf(t, res); !slices.Equal(got, []string{ghost}) {
			t.Errorf("failed %v, want [%s]", got, ghost)
		}
		if len(mailsTo(t, srv, ok)) != 1 || len(srv.Mails()) != 1 {
			t.Errorf("messages %d, want 1 to %s", len(srv.Mails()), ok)
		}
	})

	t.Run("more addresses than the queue holds: 503, nothing sent", func(t *testing.T) {
		srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{})
		_, owner, room := start(t, srv.Host, srv.Port, map[string]string{"EMAIL_WORKERS": "1", "EMAIL_QUEUE_SIZE": "2"})
		res := invite(owner.Client, room, []string{guest("a"), guest("b"), guest("c")})
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d (Retry-After %q): %s", res.Status, res.Header.Get("Retry-After"), res.Body)
		}
		if n := len(srv.Mails()); n != 0 {
			t.Errorf("%d messages sent", n)
		}
		if res := invite(owner.Client, room, []string{guest("a"), guest("b")}); res.Status != http.StatusOK {
			t.Fatalf("a batch that fits: %d %s", res.Status, res.Body)
		}
	})

	t.Run("no EMAIL_HOST: 503", func(t *testing.T) {
		n := servicetest.StartNode(t, nil)
		owner := n.NewUser("alice")
		room := owner.CreateRoom(map[string]any{"name": "Standup", "access_level": "public"}).ID
		res := invite(owner.Client, room, []string{guest("a")})
		if res.Status != http.StatusServiceUnavailable || res.JSON()["detail"] != "Invitations are not configured." {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
	})
}

// TestInviteRateLimit: INVITATION_THROTTLE_RATES counts addresses per user. A request over it is a 429
// with Retry-After and sends nothing; requests that fail validation cost nothing; other users
// keep their own allowance.
func TestInviteRateLimit(t *testing.T) {
	srv := servicetest.StartSMTP(t, servicetest.SMTPOptions{})
	n := inviteNode(t, srv.Host, srv.Port, map[string]string{"INVITATION_THROTTLE_RATES": "3/hour"})
	owner := n.NewUser("alice")
	room := owner.CreateRoom(map[string]any{"name": "Standup", "access_level": "restricted"}).ID
	admin := n.NewUser("bob")
	owner.Grant(room, admin.ID, "administrator")

	sent := func(t *testing.T, u servicetest.User, addrs ...string) {
		t.Helper()
		if res := invite(u.Client, room, addrs); res.Status != http.StatusOK {
			t.Fatalf("invite %v: %d %s", addrs, res.Status, res.Body)
		}
		for _, addr := range addrs {
			if got := len(mailsTo(t, srv, addr)); got != 1 {
				t.Errorf("%d messages to %s, want 1", got, addr)
			}
		}
	}

	// Three addresses, one invalid: a 400 that spends none of the three.
	if res := invite(owner.Client, room, []string{guest("x"), "not-an-address", guest("y")}); res.Status != http.StatusBadRequest {
		t.Fatalf("invalid request: %d %s", res.Status, res.Body)
	}
	sent(t, owner, guest("a"), guest("b"))

	c, d := guest("c"), guest("d")
	before := len(srv.Mails())
	res := invite(owner.Client, room, []string{c, d})
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("over the rate: %d %s, want 429", res.Status, res.Body)
	}
	if retry, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || retry < 1 || retry > 3600 {
		t.Errorf("Retry-After %q, want seconds within the hour", res.Header.Get("Retry-After"))
	}
	if detail, _ := res.JSON()["detail"].(string); detail == "" {
		t.Errorf("no detail in %s", res.Body)
	}
	if after := len(srv.Mails()); after != before || len(mailsTo(t, srv, c)) != 0 || len(mailsTo(t, srv, d)) != 0 {
		t.Errorf("%d messages sent by a throttled request", after-before)
	}

	// The refused request spent nothing: the one address left still goes.
	sent(t, owner, guest("e"))
	if res := invite(owner.Client, room, []string{guest("f")}); res.Status != http.StatusTooManyRequests {
		t.Fatalf("allowance spent: %d %s, want 429", res.Status, res.Body)
	}
	// Validation still comes first once the allowance is spent.
	if res := invite(owner.Client, room, []string{"not-an-address"}); res.Status != http.StatusBadRequest {
		t.Fatalf("invalid request over the rate: %d %s, want 400", res.Status, res.Body)
	}

	// Per user, not per room.
	sent(t, admin, guest("g"), guest("h"))

	if got := n.Metric("meetcoord_invitation_emails_total", "result", "throttled"); got != 3 {
		t.Errorf("meetcoord_invitation_emails_total{result=throttled} = %v, want 3 (2 + 1 addresses)", got)
	}
}
