package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/auth/application"
)

const (
	extSecret   = "external-api-test-secret-of-at-least-32-bytes"
	extIssuer   = "meetcoord-test"
	extAudience = "calendar-integrations"
	extBaseURL  = "https://meet.example.org"
)

// externalNode starts a node with the external API on, and the registry of its applications
// (the same Redis the node reads).
func externalNode(t *testing.T, env map[string]string) (*servicetest.Node, *application.Registry) {
	t.Helper()
	merged := map[string]string{
		"EXTERNAL_API_ENABLED": "true", "APPLICATION_JWT_SECRET_KEY": extSecret,
		"APPLICATION_JWT_ISSUER": extIssuer, "APPLICATION_JWT_AUDIENCE": extAudience, "APP_BASE_URL": extBaseURL,
		"APPLICATION_TOKEN_THROTTLE_RATES": "100000/second",
	}
	for k, v := range env {
		merged[k] = v
	}
	n := servicetest.StartNode(t, merged)
	return n, application.NewRegistry(n.Redis)
}

// newApp registers an application and returns its client id and secret.
func newApp(t *testing.T, reg *application.Registry, scopes []string, domains ...string) (string, string) {
	t.Helper()
	a, secret, err := reg.Create(context.Background(), "Calendar "+uuid.NewString()[:6], scopes, domains)
	if err != nil {
		t.Fatal(err)
	}
	return a.ClientID, secret
}

func extPath(segments ...string) string {
	return "/external-api/v1.0/" + strings.Join(segments, "/") + "/"
}

// postToken calls the token endpoint with a JSON or form body.
func postToken(t *testing.T, n *servicetest.Node, fields map[string]string, form bool) servicetest.Response {
	t.Helper()
	var body io.Reader
	contentType := "application/json"
	if form {
		values := url.Values{}
		for k, v := range fields {
			values.Set(k, v)
		}
		body, contentType = strings.NewReader(values.Encode()), "application/x-www-form-urlencoded"
	} else {
		b, _ := json.Marshal(fields)
		body = strings.NewReader(string(b))
	}
	res, err := http.Post(n.URL+extPath("application", "token"), contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return servicetest.Response{Status: res.StatusCode, Header: res.Header, Body: data}
}

func tokenFields(clientID, secret, email string) map[string]string {
	return map[string]string{"client_id": clientID, "client_secret": secret, "grant_type": "client_credentials", "scope": email}
}

// appToken gets a delegated token, failing the test otherwise.
func appToken(t *testing.T, n *servicetest.Node, clientID, secret, email string) string {
	t.Helper()
	res := postToken(t, n, tokenFields(clientID, secret, email), false)
	if res.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", email, res.Status, res.Body)
	}
	token, _ := res.JSON()["access_token"].(string)
	return token
}

func detail(r servicetest.Response) string {
	d, _ := r.JSON()["detail"].(string)
	return d
}

func TestExternalAPIOffIsNotFound(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := n.NewUser("alice")
	for _, res := range []servicetest.Response{
		postToken(t, n, tokenFields(uuid.NewString(), "x", alice.Email), false),
		n.Client("anything").Do(http.MethodGet, extPath("rooms"), nil),
		n.Client("anything").Do(http.MethodPost, extPath("rooms"), map[string]any{}),
	} {
		if res.Status != http.StatusNotFound {
			t.Errorf("external API off: %d %s, want 404", res.Status, res.Body)
		}
	}
}

func TestApplicationToken(t *testing.T) {
	n, reg := externalNode(t, nil)
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	inactiveID, inactiveSecret := newApp(t, reg, application.AllScopes, "example.org")
	if err := reg.SetActive(context.Background(), inactiveID, false); err != nil {
		t.Fatal(err)
	}
	otherID, otherSecret := newApp(t, reg, application.AllScopes, "other.org")

	with := func(k, v string) map[string]string {
		f := tokenFields(clientID, secret, alice.Email)
		f[k] = v
		return f
	}
	tests := []struct {
		name       string
		fields     map[string]string
		form       bool
		status     int
		wantDetail string
		wantField  string // validation error on this field
	}{
		{"good credentials, JSON", tokenFields(clientID, secret, alice.Email), false, 200, "", ""},
		{"good credentials, form", tokenFields(clientID, secret, alice.Email), true, 200, "", ""},
		{"email in another case", with("scope", strings.ToUpper(alice.Email)), false, 200, "", ""},
		{"wrong secret", with("client_secret", secret+"x"), false, 401, "Invalid credentials.", ""},
		{"wrong secret, form", with("client_secret", "guess"), true, 401, "Invalid credentials.", ""},
		{"unknown client", with("client_id", uuid.NewString()), false, 401, "Invalid credentials.", ""},
		{"inactive application", tokenFields(inactiveID, inactiveSecret, alice.Email), false, 401, "Application is inactive.", ""},
		{"domain not allowed", tokenFields(otherID, otherSecret, alice.Email), false, 403, "This application is not authorized for this email domain.", ""},
		{"unknown user", with("scope", "nobody@example.org"), false, 404, "User not found.", ""},
		{"wrong grant type", with("grant_type", "password"), false, 400, "", "grant_type"},
		{"wrong grant type, form", with("grant_type", "authorization_code"), true, 400, "", "grant_type"},
		{"scope not an email", with("scope", "rooms:list"), false, 400, "", "scope"},
		{"client id not a UUID", with("client_id", "calendar"), false, 400, "", "client_id"},
		{"missing secret", with("client_secret", ""), true, 400, "", "client_secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := postToken(t, n, tt.fields, tt.form)
			if res.Status != tt.status {
				t.Fatalf("status %d %s, want %d", res.Status, res.Body, tt.status)
			}
			if tt.wantDetail != "" && detail(res) != tt.wantDetail {
				t.Errorf("detail %q, want %q", detail(res), tt.wantDetail)
			}
			if tt.wantField != "" {
				if _, ok := res.JSON()[tt.wantField].([]any); !ok {
					t.Errorf("no validation error on %s: %s", tt.wantField, res.Body)
				}
			}
			if tt.status != http.StatusOK {
				return
			}
			body := res.JSON()
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) ||
				body["scope"] != "rooms:list rooms:create rooms:retrieve" {
				t.Errorf("token response %s", res.Body)
			}
			claims := jwt.MapClaims{}
			if _, err := jwt.ParseWithClaims(body["access_token"].(string), claims,
				func(*jwt.Token) (any, error) { return []byte(extSecret), nil },
				jwt.WithValidMethods([]string{"HS256"})); err != nil {
				t.Fatalf("token does not verify with the configured secret: %v", err)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if claims["iss"] != extIssuer || claims["aud"] != extAudience || claims["user_id"] != alice.ID ||
				claims["client_id"] != clientID || claims["delegated"] != true ||
				claims["scope"] != "rooms:list rooms:create rooms:retrieve" || exp.Sub(iat.Time) != time.Hour {
				t.Errorf("claims %v", claims)
			}
		})
	}
}

// The token endpoint is rate limited per client id (and address): failures count, other applications are
// not affected.
func TestApplicationTokenRateLimit(t *testing.T) {
	n, reg := externalNode(t, map[string]string{"APPLICATION_TOKEN_THROTTLE_RATES": "3/minute"})
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	otherID, otherSecret := newApp(t, reg, application.AllScopes, "example.org")
	for i, want := range []int{401, 200, 200, 429, 429} {
		s := secret
		if i == 0 {
			s = "wrong"
		}
		if res := postToken(t, n, tokenFields(clientID, s, alice.Email), i%2 == 0); res.Status != want {
			t.Fatalf("request %d: %d %s, want %d", i+1, res.Status, res.Body, want)
		}
	}
	if res := postToken(t, n, tokenFields(otherID, otherSecret, alice.Email), false); res.Status != http.StatusOK {
		t.Fatalf("another application: %d %s", res.Status, res.Body)
	}
}

// TestApplicationTokenFormBodyBounded: a form body is read as every API body is (readBody),
// bounded in size, and answered in the API's JSON shape.
func TestApplicationTokenFormBodyBounded(t *testing.T) {
	n, _ := externalNode(t, nil)
	body := "client_id=" + strings.Repeat("a", 1<<20)
	res, err := http.Post(n.URL+extPath("application", "token"), "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	got := servicetest.Response{Status: res.StatusCode, Header: res.Header, Body: data}
	if got.Status != http.StatusRequestEntityTooLarge || detail(got) != "Request body too large." {
		t.Fatalf("%d %s, want 413 Request body too large.", got.Status, got.Body)
	}
}

// Each endpoint needs its own scope: a token without it is a 403, with it the call succeeds.
func TestExternalScopes(t *testing.T) {
	n, reg := externalNode(t, nil)
	alice := n.NewUser("alice")
	roomID := alice.CreateRoom(map[string]any{"name": "Planning", "access_level": "restricted"}).ID
	endpoints := []struct {
		scope  string
		method string
		path   string
		body   any
		ok     int
	}{
		{application.ScopeRoomsList, http.MethodGet, extPath("rooms"), nil, http.StatusOK},
		{application.ScopeRoomsCreate, http.MethodPost, extPath("rooms"), map[string]any{}, http.StatusCreated},
		{application.ScopeRoomsRetrieve, http.MethodGet, extPath("rooms", roomID), nil, http.StatusOK},
	}
	for _, granted := range application.AllScopes {
		clientID, secret := newApp(t, reg, []string{granted}, "example.org")
		c := n.Client(appToken(t, n, clientID, secret, alice.Email))
		for _, e := range endpoints {
			want := http.StatusForbidden
			if e.scope == granted {
				want = e.ok
			}
			res := c.Do(e.method, e.path, e.body)
			if res.Status != want {
				t.Errorf("%s %s with scope %s: %d %s, want %d", e.method, e.path, granted, res.Status, res.Body, want)
			}
			if want == http.StatusForbidden && detail(res) != "Insufficient permissions." {
				t.Errorf("403 detail %q", detail(res))
			}
		}
	}
}

// signed makes a token as another party would: claims, method and key chosen by the test.
func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExternalTokenErrors(t *testing.T) {
	n, reg := externalNode(t, nil)
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	valid := appToken(t, n, clientID, secret, alice.Email)
	now := time.Now()
	claims := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": extIssuer, "aud": extAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"user_id": alice.ID, "client_id": clientID, "delegated": true, "scope": "rooms:list"}
		c[k] = v
		return c
	}
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), alice.ID, uuid.NewString(), 1)
	tests := []struct {
		name   string
		token  string
		detail string
	}{
		{"expired", signed(t, jwt.SigningMethodHS256, []byte(extSecret), claims("exp", now.Add(-time.Minute).Unix())), "Token expired."},
		{"wrong audience", signed(t, jwt.SigningMethodHS256, []byte(extSecret), claims("aud", "someone-else")), "Invalid token."},
		{"wrong issuer", signed(t, jwt.SigningMethodHS256, []byte(extSecret), claims("iss", "someone-else")), "Invalid token."},
		{"not delegated", signed(t, jwt.SigningMethodHS256, []byte(extSecret), claims("delegated", false)), "Invalid token."},
		{"tampered", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2], "Token decode error."},
		{"other secret", signed(t, jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"), claims("x", 1)), "Token decode error."},
		{"wrong algorithm", signed(t, jwt.SigningMethodHS512, []byte(extSecret), claims("x", 1)), "Token decode error."},
		{"malformed", "not.a.jwt", "Token decode error."},
		{"user token", alice.Token, "Token decode error."},
		{"none", "", "Authentication credentials were not provided."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := n.Client(tt.token).Do(http.MethodGet, extPath("rooms"), nil)
			if res.Status != http.StatusUnauthorized || detail(res) != tt.detail {
				t.Fatalf("%d %s, want 401 %q", res.Status, res.Body, tt.detail)
			}
		})
	}
	if res := n.Client(valid).Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusOK {
		t.Fatalf("the issued token: %d %s", res.Status, res.Body)
	}
}

// Disabling an application cuts off the tokens it already holds; enabling it restores them.
func TestDisabledApplicationTokensRefused(t *testing.T) {
	n, reg := externalNode(t, nil)
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	c := n.Client(appToken(t, n, clientID, secret, alice.Email))
	if res := c.Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusOK {
		t.Fatalf("before disabling: %d %s", res.Status, res.Body)
	}
	ctx := context.Background()
	if err := reg.SetActive(ctx, clientID, false); err != nil {
		t.Fatal(err)
	}
	for _, res := range []servicetest.Response{
		c.Do(http.MethodGet, extPath("rooms"), nil),
		c.Do(http.MethodPost, extPath("rooms"), map[string]any{}),
	} {
		if res.Status != http.StatusUnauthorized || detail(res) != "Application is disabled." {
			t.Fatalf("disabled application's token: %d %s", res.Status, res.Body)
		}
	}
	if err := reg.SetActive(ctx, clientID, true); err != nil {
		t.Fatal(err)
	}
	if res := c.Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusOK {
		t.Fatalf("enabled again: %d %s", res.Status, res.Body)
	}
}

// Rotating an application's secret (after a leak) cuts off the tokens obtained with the old one;
// a token obtained with the new secret works.
func TestRotatedSecretRefusesOlderTokens(t *testing.T) {
	n, reg := externalNode(t, nil)
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	old := n.Client(appToken(t, n, clientID, secret, alice.Email))
	if res := old.Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusOK {
		t.Fatalf("before rotation: %d %s", res.Status, res.Body)
	}
	newSecret, err := reg.RotateSecret(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	if res := old.Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusUnauthorized ||
		detail(res) != "Token issued before the application's secret was rotated." {
		t.Fatalf("token of the old secret: %d %s", res.Status, res.Body)
	}
	if res := postToken(t, n, tokenFields(clientID, secret, alice.Email), false); res.Status != http.StatusUnauthorized {
		t.Fatalf("old secret at the token endpoint: %d %s", res.Status, res.Body)
	}
	fresh := n.Client(appToken(t, n, clientID, newSecret, alice.Email))
	if res := fresh.Do(http.MethodGet, extPath("rooms"), nil); res.Status != http.StatusOK {
		t.Fatalf("token of the new secret: %d %s", res.Status, res.Body)
	}
}

// A room created through the external API is the delegated user's: owned by them, with the
// external API's access level, listed and shown by the normal API with their own token.
func TestExternalRoomOwnedByDelegatedUser(t *testing.T) {
	n, reg := externalNode(t, map[string]string{"EXTERNAL_API_DEFAULT_ACCESS_LEVEL": "restricted"})
	alice := n.NewUser("alice")
	bob := n.NewUser("bob")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	app := n.Client(appToken(t, n, clientID, secret, alice.Email))

	res := app.Do(http.MethodPost, extPath("rooms"), map[string]any{"configuration": map[string]any{"everyone_can_mute": true}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	room := res.JSON()
	id, _ := room["id"].(string)
	slug, _ := room["slug"].(string)
	name, _ := room["name"].(string)
	if !regexp.MustCompile(`^[a-z]{3}-[a-z]{4}-[a-z]{3}$`).MatchString(name) || room["access_level"] != "restricted" ||
		room["url"] != extBaseURL+"/"+slug || room["telephony"] != nil ||
		room["configuration"].(map[string]any)["everyone_can_mute"] != true {
		t.Fatalf("created room %s", res.Body)
	}

	listed := alice.Do(http.MethodGet, servicetest.Path("rooms"), nil)
	if listed.Status != http.StatusOK || !strings.Contains(string(listed.Body), id) {
		t.Fatalf("alice's rooms through the normal API: %d %s", listed.Status, listed.Body)
	}
	shown := alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil)
	var view struct {
		IsAdministrable bool `json:"is_administrable"`
		Accesses        []struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Role string `json:"role"`
		} `json:"accesses"`
	}
	_ = json.Unmarshal(shown.Body, &view)
	if shown.Status != http.StatusOK || !view.IsAdministrable || len(view.Accesses) != 1 ||
		view.Accesses[0].User.ID != alice.ID || view.Accesses[0].Role != "owner" {
		t.Fatalf("the room through the normal API: %d %s", shown.Status, shown.Body)
	}
	if res := bob.Do(http.MethodGet, servicetest.Path("rooms"), nil); strings.Contains(string(res.Body), id) {
		t.Fatalf("bob lists alice's room: %s", res.Body)
	}

	list := app.Do(http.MethodGet, extPath("rooms"), nil)
	results, _ := list.JSON()["results"].([]any)
	if list.Status != http.StatusOK || list.JSON()["count"] != float64(1) || len(results) != 1 ||
		results[0].(map[string]any)["url"] != extBaseURL+"/"+slug {
		t.Fatalf("external list: %d %s", list.Status, list.Body)
	}
	for _, ref := range []string{id, slug} {
		got := app.Do(http.MethodGet, extPath("rooms", ref), nil)
		if got.Status != http.StatusOK || got.JSON()["id"] != id || got.JSON()["url"] != extBaseURL+"/"+slug {
			t.Fatalf("external retrieve by %s: %d %s", ref, got.Status, got.Body)
		}
	}
	if res := app.Do(http.MethodGet, extPath("rooms", uuid.NewString()), nil); res.Status != http.StatusNotFound {
		t.Fatalf("unknown room: %d %s", res.Status, res.Body)
	}
	if res := app.Do(http.MethodPost, extPath("rooms"), map[string]any{"name": "", "configuration": map[string]any{"color": "red"}}); res.Status != http.StatusBadRequest ||
		res.JSON()["name"] == nil || res.JSON()["configuration"] == nil {
		t.Fatalf("invalid body: %d %s", res.Status, res.Body)
	}
	if res := app.Do(http.MethodPost, extPath("rooms"), map[string]any{"name": "Weekly sync"}); res.Status != http.StatusCreated ||
		res.JSON()["name"] != "Weekly sync" {
		t.Fatalf("named room: %d %s", res.Status, res.Body)
	}
}

// With telephony on, rooms come with the dial-in number and their PIN.
func TestExternalRoomTelephony(t *testing.T) {
	n, reg := externalNode(t, map[string]string{"ROOM_TELEPHONY_ENABLED": "true", "ROOM_TELEPHONY_PHONE_NUMBER": "+33 1 23 45 67 89"})
	alice := n.NewUser("alice")
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	app := n.Client(appToken(t, n, clientID, secret, alice.Email))
	res := app.Do(http.MethodPost, extPath("rooms"), map[string]any{})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	tel, _ := res.JSON()["telephony"].(map[string]any)
	pin, _ := tel["pin_code"].(string)
	if tel["enabled"] != true || tel["phone_number"] != "+33 1 23 45 67 89" || tel["default_country"] != "FR" ||
		!regexp.MustCompile(`^[0-9]{10}$`).MatchString(pin) {
		t.Fatalf("telephony %s", res.Body)
	}
	list := app.Do(http.MethodGet, extPath("rooms"), nil)
	if !strings.Contains(string(list.Body), `"pin_code":"`+pin+`"`) {
		t.Fatalf("the list lacks the PIN: %s", list.Body)
	}
}

// With APPLICATION_ALLOW_USER_CREATION an unknown address becomes a provisional user who owns
// the rooms the application creates.
func TestProvisionalUser(t *testing.T) {
	n, reg := externalNode(t, map[string]string{"APPLICATION_ALLOW_USER_CREATION": "true"})
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	token := appToken(t, n, clientID, secret, "new.person@example.org")
	again := appToken(t, n, clientID, secret, "New.Person@example.org")
	var first, second jwt.MapClaims = jwt.MapClaims{}, jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(token, first)
	_, _, _ = jwt.NewParser().ParseUnverified(again, second)
	if first["user_id"] == "" || first["user_id"] != second["user_id"] {
		t.Fatalf("provisional user ids %v and %v", first["user_id"], second["user_id"])
	}
	app := n.Client(token)
	if res := app.Do(http.MethodPost, extPath("rooms"), map[string]any{}); res.Status != http.StatusCreated {
		t.Fatalf("create for the provisional user: %d %s", res.Status, res.Body)
	}
	if res := app.Do(http.MethodGet, extPath("rooms"), nil); res.JSON()["count"] != float64(1) {
		t.Fatalf("provisional user's rooms: %s", res.Body)
	}
	if res := postToken(t, n, tokenFields(clientID, secret, "someone@other.org"), false); res.Status != http.StatusForbidden {
		t.Fatalf("creation does not bypass the domain check: %d %s", res.Status, res.Body)
	}
}

// The person behind a provisional user logs in: their first login with that email makes them
// that user, so the rooms the application created for them are theirs. Nobody else logging in
// later with the same email gets them, nor does a token whose email is unverified.
func TestProvisionalUserClaimedAtLogin(t *testing.T) {
	n, reg := externalNode(t, map[string]string{"APPLICATION_ALLOW_USER_CREATION": "true"})
	clientID, secret := newApp(t, reg, application.AllScopes, "example.org")
	provisionalID := func(token string) string {
		claims := jwt.MapClaims{}
		_, _, _ = jwt.NewParser().ParseUnverified(token, claims)
		id, _ := claims["user_id"].(string)
		return id
	}
	createFor := func(email string) (string, string) {
		token := appToken(t, n, clientID, secret, email)
		res := n.Client(token).Do(http.MethodPost, extPath("rooms"), map[string]any{"name": "Planned for " + email})
		if res.Status != http.StatusCreated {
			t.Fatalf("create for %s: %d %s", email, res.Status, res.Body)
		}
		return provisionalID(token), res.JSON()["id"].(string)
	}
	login := func(claims gwauth.Claims) (*servicetest.Client, string) {
		token, err := n.Issuer.Mint(claims, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := n.Client(token)
		me := c.Do(http.MethodGet, servicetest.Path("users", "me"), nil)
		if me.Status != http.StatusOK {
			t.Fatalf("users/me of %s: %d %s", claims.Subject, me.Status, me.Body)
		}
		return c, me.JSON()["id"].(string)
	}
	rooms := func(c *servicetest.Client) string {
		res := c.Do(http.MethodGet, servicetest.Path("rooms"), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("rooms: %d %s", res.Status, res.Body)
		}
		return string(res.Body)
	}

	userID, roomID := createFor("pat.planned@example.org")
	pat, patID := login(gwauth.Claims{Subject: "pat-at-idp", Email: "Pat.Planned@example.org", FullName: "Pat Planned"})
	if patID != userID || !strings.Contains(rooms(pat), roomID) {
		t.Fatalf("first login is user %s (provisional %s), rooms %s", patID, userID, rooms(pat))
	}
	if room := pat.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil); room.JSON()["is_administrable"] != true {
		t.Fatalf("pat does not administer the room made for them: %s", room.Body)
	}
	if _, again := login(gwauth.Claims{Subject: "pat-at-idp", Email: "pat.planned@example.org", FullName: "Pat P."}); again != userID {
		t.Fatalf("next login is user %s, want %s", again, userID)
	}
	other, otherID := login(gwauth.Claims{Subject: "someone-else", Email: "pat.planned@example.org"})
	if otherID == userID || strings.Contains(rooms(other), roomID) {
		t.Fatalf("a second subject with the same email got the claimed user (%s) or its room", otherID)
	}
	if later := provisionalID(appToken(t, n, clientID, secret, "pat.planned@example.org")); later != userID {
		t.Fatalf("the application now acts for %s, want the claimed user %s, not the later login", later, userID)
	}

	// Rae claims her provisional user, then her address changes at the provider: a token for her
	// old address must not re-create (overwrite) her user nor act for her.
	raeID, raeRoom := createFor("rae.planned@example.org")
	if _, id := login(gwauth.Claims{Subject: "rae-at-idp", Email: "rae.planned@example.org", FullName: "Rae"}); id != raeID {
		t.Fatalf("rae's first login is %s, want %s", id, raeID)
	}
	rae, _ := login(gwauth.Claims{Subject: "rae-at-idp", Email: "rae@moved.example.org", FullName: "Rae"})
	if res := postToken(t, n, tokenFields(clientID, secret, "rae.planned@example.org"), false); res.Status != http.StatusNotFound {
		t.Fatalf("token for rae's old address: %d %s, want 404", res.Status, res.Body)
	}
	if me := rae.Do(http.MethodGet, servicetest.Path("users", "me"), nil).JSON(); me["id"] != raeID || me["email"] != "rae@moved.example.org" || me["full_name"] != "Rae" {
		t.Fatalf("rae's record after the token request: %v", me)
	}
	if !strings.Contains(rooms(rae), raeRoom) {
		t.Fatalf("rae lost the room made for her")
	}

	unverifiedID, unverifiedRoom := createFor("quinn.planned@example.org")
	quinn, quinnID := login(gwauth.Claims{Subject: "quinn-at-idp", Email: "quinn.planned@example.org", EmailUnverified: true})
	if quinnID == unverifiedID || strings.Contains(rooms(quinn), unverifiedRoom) {
		t.Fatalf("an unverified email claimed the provisional user %s", unverifiedID)
	}
}
