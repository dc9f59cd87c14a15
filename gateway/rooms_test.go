package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// Helpers of the rooms and accesses tests carry an "rt" prefix so that they do not collide with
// helpers of other test files of the package.

const rtNotAuthenticated = "Authentication credentials were not provided."

// rtShortRequests bounds how long a request waits for a room grain (default 10 s), for tests that
// ask a room right after it stopped itself (deleted or unknown room), so that a lost request
// fails fast: see TestRoomRequestsRightAfterDeleteOrMiss.
func rtShortRequests() map[string]string { return map[string]string{"ROOM_REQUEST_TIMEOUT": "3"} }

// rtRegister registers the user with subject sub, email <sub>@example.org and full name
// "<Sub> Tester".
func rtRegister(t *testing.T, n *servicetest.Node, sub string) servicetest.User {
	t.Helper()
	return n.RegisterUser(servicetest.UserClaims(sub, sub+"@example.org", strings.ToUpper(sub[:1])+sub[1:]+" Tester"))
}

// rtStatus fails the test unless the response has the wanted status.
func rtStatus(t *testing.T, res servicetest.Response, want int, what string) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, res.Status, want, res.Body)
	}
}

// rtRaw sends a body as is (for malformed JSON), with an optional bearer token.
func rtRaw(t *testing.T, n *servicetest.Node, method, path, body, token string) servicetest.Response {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return servicetest.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// rtErrorBody checks that an error reply is JSON with a "detail" string and returns it decoded.
func rtErrorBody(t *testing.T, res servicetest.Response, what string) map[string]any {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q, want application/json; body %s", what, ct, res.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v; body %s", what, err, res.Body)
	}
	if d, ok := body["detail"].(string); !ok || d == "" {
		t.Fatalf("%s: no \"detail\" string in %s", what, res.Body)
	}
	return body
}

// rtFieldError checks a validation reply: 400 with a non-empty list of messages for field.
func rtFieldError(t *testing.T, res servicetest.Response, field, what string) {
	t.Helper()
	rtStatus(t, res, http.StatusBadRequest, what)
	body := rtErrorBody(t, res, what)
	list, ok := body[field].([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("%s: want messages for field %q, got %s", what, field, res.Body)
	}
	for _, m := range list {
		if s, ok := m.(string); !ok || s == "" {
			t.Fatalf("%s: field %q messages must be strings, got %s", what, field, res.Body)
		}
	}
}

func rtString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func rtObject(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func rtList(m map[string]any, key string) []map[string]any {
	raw, _ := m[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, v := range raw {
		o, _ := v.(map[string]any)
		out = append(out, o)
	}
	return out
}

// rtRoomList is GET rooms/ (with an optional query) decoded.
func rtRoomList(t *testing.T, c *servicetest.Client, query string) map[string]any {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("rooms")+query, nil)
	rtStatus(t, res, http.StatusOK, "list rooms")
	return res.JSON()
}

// rtListedIDs is the ids of the rooms listed, in order.
func rtListedIDs(list map[string]any) []string {
	var ids []string
	for _, r := range rtList(list, "results") {
		ids = append(ids, rtString(r, "id"))
	}
	return ids
}

// rtMetadata decodes the LiveKit room metadata last set on a room.
func rtMetadata(n *servicetest.Node, roomID string) (map[string]any, bool) {
	raw, ok := n.LiveKit.Metadata(roomID)
	if !ok {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil, false
	}
	return m, true
}

func rtStrings(v any) []string {
	raw, _ := v.([]any)
	var out []string
	for _, s := range raw {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

func rtSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// 1. users/me
func TestUsersMe(t *testing.T) {
	n := servicetest.StartNode(t, nil)

	t.Run("valid token", func(t *testing.T) {
		c := n.Client(n.Token("alice-sub", "alice@example.org", "Alice Martin"))
		res := c.Do(http.MethodGet, servicetest.Path("users", "me"), nil)
		rtStatus(t, res, http.StatusOK, "users/me")
		me := res.JSON()
		for _, key := range []string{"id", "email", "full_name", "short_name", "language"} {
			if _, ok := me[key]; !ok {
				t.Errorf("users/me lacks %q: %s", key, res.Body)
			}
		}
		if _, err := uuid.Parse(rtString(me, "id")); err != nil {
			t.Errorf("id is not a UUID: %s", res.Body)
		}
		if me["email"] != "alice@example.org" || me["full_name"] != "Alice Martin" || me["short_name"] != "Alice" {
			t.Errorf("users/me = %s", res.Body)
		}
		// The same subject is the same user on every call (and without trailing slash).
		again := c.Do(http.MethodGet, "/api/v1.0/users/me", nil)
		rtStatus(t, again, http.StatusOK, "users/me without slash")
		if again.JSON()["id"] != me["id"] {
			t.Errorf("id changed between calls: %v then %v", me["id"], again.JSON()["id"])
		}
		other := n.Client(n.Token("bob-sub", "bob@example.org", "Bob Durand")).Do(http.MethodGet, servicetest.Path("users", "me"), nil)
		if other.JSON()["id"] == me["id"] {
			t.Errorf("two subjects share the id %v", me["id"])
		}
	})

	foreignSameIssuer, err := gwauth.LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "other.pem"), n.Issuer.IssuerURL())
	if err != nil {
		t.Fatal(err)
	}
	foreignOtherIssuer, err := gwauth.LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "other2.pem"), "http://127.0.0.1:1/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	mint := func(iss *gwauth.DevIssuer) string {
		tok, err := iss.Mint(gwauth.Claims{Subject: "mallory", Email: "mallory@example.org"}, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name       string
		token      string
		wantDetail string
	}{
		{"no token", "", rtNotAuthenticated},
		{"garbage token", "not-a-jwt", ""},
		{"garbage three-part token", "aaa.bbb.ccc", ""},
		{"signed by another key for the same issuer", mint(foreignSameIssuer), ""},
		{"minted by another issuer", mint(foreignOtherIssuer), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := n.Client(tc.token).Do(http.MethodGet, servicetest.Path("users", "me"), nil)
			rtStatus(t, res, http.StatusUnauthorized, "users/me")
			body := rtErrorBody(t, res, "users/me")
			if tc.wantDetail != "" && body["detail"] != tc.wantDetail {
				t.Errorf("detail = %v, want %q", body["detail"], tc.wantDetail)
			}
		})
	}
}

// 2. config/
func TestConfigEndpoint(t *testing.T) {
	check := func(t *testing.T, n *servicetest.Node, wantURL, wantLevel string) {
		t.Helper()
		res := n.Client("").Do(http.MethodGet, servicetest.Path("config"), nil)
		rtStatus(t, res, http.StatusOK, "config as anonymous")
		cfg := res.JSON()
		for _, key := range []string{"recording", "telephony", "subtitle", "livekit", "resource"} {
			if rtObject(cfg, key) == nil {
				t.Errorf("config lacks object %q: %s", key, res.Body)
			}
		}
		if _, ok := cfg["authenticated_users_can_edit_display_name"].(bool); !ok {
			t.Errorf("config lacks authenticated_users_can_edit_display_name: %s", res.Body)
		}
		for key, sub := range map[string][]string{
			"recording": {"is_enabled", "available_modes", "expiration_days", "max_duration"},
			"telephony": {"enabled"},
			"subtitle":  {"enabled"},
			"livekit":   {"url", "force_wss_protocol", "enable_firefox_proxy_workaround", "default_sources"},
			"resource":  {"default_access_level"},
		} {
			for _, s := range sub {
				if _, ok := rtObject(cfg, key)[s]; !ok {
					t.Errorf("config.%s lacks %q: %s", key, s, res.Body)
				}
			}
		}
		if got := rtString(rtObject(cfg, "livekit"), "url"); got != wantURL {
			t.Errorf("livekit.url = %q, want %q", got, wantURL)
		}
		if got := rtString(rtObject(cfg, "resource"), "default_access_level"); got != wantLevel {
			t.Errorf("resource.default_access_level = %q, want %q", got, wantLevel)
		}
		// Authenticated callers get the same thing.
		authed := n.Client(n.Token("cfg-user", "cfg@example.org", "Cfg User")).Do(http.MethodGet, "/api/v1.0/config", nil)
		rtStatus(t, authed, http.StatusOK, "config as user without slash")
		// A room created without access_level gets the configured default.
		room := n.Client(n.Token("cfg-user", "cfg@example.org", "Cfg User")).CreateRoom(map[string]any{"name": "Default level"}).JSON
		if room["access_level"] != wantLevel {
			t.Errorf("default access_level of a new room = %v, want %q", room["access_level"], wantLevel)
		}
	}
	t.Run("defaults", func(t *testing.T) {
		n := servicetest.StartNode(t, nil) // LIVEKIT_API_URL http://127.0.0.1:1
		check(t, n, "ws://127.0.0.1:1", "public")
		res := n.Client("").Do(http.MethodGet, servicetest.Path("config"), nil)
		sources := rtStrings(rtObject(res.JSON(), "livekit")["default_sources"])
		if !rtSameSet(sources, []string{"camera", "microphone", "screen_share", "screen_share_audio"}) {
			t.Errorf("livekit.default_sources = %v", sources)
		}
	})
	t.Run("https LiveKit and trusted default", func(t *testing.T) {
		n := servicetest.StartNode(t, map[string]string{
			"LIVEKIT_API_URL":               "https://livekit.example.org:7443",
			"RESOURCE_DEFAULT_ACCESS_LEVEL": "trusted",
		})
		check(t, n, "wss://livekit.example.org:7443", "trusted")
	})
}

// 3. Room creation and its validation.
func TestRoomCreate(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	created := 0

	t.Run("defaults", func(t *testing.T) {
		room := alice.CreateRoom(map[string]any{"name": "Standup"}).JSON
		created++
		if room["slug"] != "standup" {
			t.Errorf("slug %q, want the name slugified: standup", room["slug"])
		}
		if room["name"] != "Standup" || room["access_level"] != "public" || room["is_administrable"] != true {
			t.Errorf("room = %v", room)
		}
		if cfg, ok := room["configuration"].(map[string]any); !ok || len(cfg) != 0 {
			t.Errorf("configuration = %v, want {}", room["configuration"])
		}
		accesses := rtList(room, "accesses")
		if len(accesses) != 1 || rtString(rtObject(accesses[0], "user"), "id") != alice.ID || accesses[0]["role"] != "owner" {
			t.Errorf("accesses = %v, want alice as owner", room["accesses"])
		}
		if rtString(rtObject(accesses[0], "user"), "email") != alice.Email {
			t.Errorf("owner access user = %v", accesses[0]["user"])
		}
		if lk := rtObject(room, "livekit"); rtString(lk, "room") != rtString(room, "id") || rtString(lk, "token") == "" {
			t.Errorf("owner should get a LiveKit config for the room: %v", room["livekit"])
		}
	})

	t.Run("access level and configuration", func(t *testing.T) {
		room := alice.CreateRoom(map[string]any{
			"name": "Board", "access_level": "restricted",
			"configuration": map[string]any{"can_publish_sources": []string{"microphone", "camera"}, "everyone_can_mute": true},
		}).JSON
		created++
		if room["access_level"] != "restricted" {
			t.Errorf("access_level = %v", room["access_level"])
		}
		cfg := rtObject(room, "configuration")
		if !rtSameSet(rtStrings(cfg["can_publish_sources"]), []string{"camera", "microphone"}) || cfg["everyone_can_mute"] != true {
			t.Errorf("configuration = %v", room["configuration"])
		}
	})

	t.Run("slugs are the names slugified", func(t *testing.T) {
		for i := range 5 {
			room := alice.CreateRoom(map[string]any{"name": "Room " + string(rune('A'+i))}).JSON
			created++
			if want := "room-" + string(rune('a'+i)); rtString(room, "slug") != want {
				t.Errorf("slug %q, want %q", room["slug"], want)
			}
		}
	})

	invalid := []struct {
		name  string
		body  any
		field string
	}{
		{"missing name", map[string]any{"access_level": "public"}, "name"},
		{"null name", map[string]any{"name": nil}, "name"},
		{"blank name", map[string]any{"name": ""}, "name"},
		{"name not a string", map[string]any{"name": 42}, "name"},
		{"name too long", map[string]any{"name": strings.Repeat("x", 501)}, "name"},
		{"bad access level", map[string]any{"name": "R", "access_level": "secret"}, "access_level"},
		{"configuration unknown key", map[string]any{"name": "R", "configuration": map[string]any{"foo": 1}}, "configuration"},
		{"configuration not an object", map[string]any{"name": "R", "configuration": "camera"}, "configuration"},
		{"unknown source", map[string]any{"name": "R", "configuration": map[string]any{"can_publish_sources": []string{"camera", "hologram"}}}, "configuration"},
		{"sources not a list", map[string]any{"name": "R", "configuration": map[string]any{"can_publish_sources": "camera"}}, "configuration"},
		{"everyone_can_mute not bool", map[string]any{"name": "R", "configuration": map[string]any{"everyone_can_mute": "yes"}}, "configuration"},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			res := alice.Do(http.MethodPost, servicetest.Path("rooms"), tc.body)
			rtFieldError(t, res, tc.field, tc.name)
		})
	}

	for _, body := range []string{`{"name": `, `["name"]`, `"name"`, `null`} {
		t.Run("malformed body "+body, func(t *testing.T) {
			res := rtRaw(t, n, http.MethodPost, servicetest.Path("rooms"), body, alice.Token)
			rtStatus(t, res, http.StatusBadRequest, "malformed body")
			rtErrorBody(t, res, "malformed body")
		})
	}

	t.Run("anonymous", func(t *testing.T) {
		res := n.Client("").Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Nope"})
		rtStatus(t, res, http.StatusUnauthorized, "anonymous create")
		if body := rtErrorBody(t, res, "anonymous create"); body["detail"] != rtNotAuthenticated {
			t.Errorf("detail = %v", body["detail"])
		}
	})

	t.Run("refused creations made no room", func(t *testing.T) {
		if got := rtRoomList(t, alice.Client, "")["count"]; got != float64(created) {
			t.Errorf("alice has %v rooms, want %d", got, created)
		}
	})
}

// 4. Retrieve by id and by slug.
func TestRoomRetrieve(t *testing.T) {
	n := servicetest.StartNode(t, rtShortRequests())
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	anon := n.Client("")
	room := alice.CreateRoom(map[string]any{"name": "Retro", "access_level": "restricted"}).JSON
	id, slug := rtString(room, "id"), rtString(room, "slug")
	public := alice.CreateRoom(map[string]any{"name": "Open"}).JSON

	for _, path := range []string{
		servicetest.Path("rooms", id),
		servicetest.Path("rooms", slug),
		"/api/v1.0/rooms/" + id,
		"/api/v1.0/rooms/" + slug,
		servicetest.Path("rooms", strings.ToUpper(id)),
	} {
		t.Run("owner GET "+path, func(t *testing.T) {
			res := alice.Do(http.MethodGet, path, nil)
			rtStatus(t, res, http.StatusOK, "retrieve")
			got := res.JSON()
			if got["id"] != id || got["slug"] != slug || got["name"] != "Retro" || got["access_level"] != "restricted" {
				t.Errorf("retrieved %s", res.Body)
			}
			if got["is_administrable"] != true || len(rtList(got, "accesses")) != 1 {
				t.Errorf("owner should see accesses and is_administrable: %s", res.Body)
			}
		})
	}

	t.Run("caller without role on a restricted room", func(t *testing.T) {
		for who, c := range map[string]*servicetest.Client{"anonymous": anon, "bob": bob.Client} {
			res := c.Do(http.MethodGet, servicetest.Path("rooms", slug), nil)
			rtStatus(t, res, http.StatusOK, who+" retrieve")
			got := res.JSON()
			if got["id"] != id || got["is_administrable"] != false {
				t.Errorf("%s: %s", who, res.Body)
			}
			if _, ok := got["accesses"]; ok {
				t.Errorf("%s must not see accesses: %s", who, res.Body)
			}
			if _, ok := got["livekit"]; ok {
				t.Errorf("%s must not get a LiveKit config for a restricted room: %s", who, res.Body)
			}
			if got["pin_code"] != nil {
				t.Errorf("%s must not see the pin: %s", who, res.Body)
			}
		}
	})

	t.Run("anonymous on a public room joins directly", func(t *testing.T) {
		res := anon.Do(http.MethodGet, servicetest.Path("rooms", rtString(public, "id")), nil)
		rtStatus(t, res, http.StatusOK, "anonymous retrieve public")
		if lk := rtObject(res.JSON(), "livekit"); rtString(lk, "token") == "" || rtString(lk, "room") != rtString(public, "id") {
			t.Errorf("public room should give a LiveKit config: %s", res.Body)
		}
	})

	for _, tc := range []struct{ name, segment string }{
		{"unknown id", uuid.NewString()},
		{"unknown slug", "zzz-zzzz-zzz"},
		{"garbage segment", "not a slug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []*servicetest.Client{alice.Client, anon} {
				res := c.Do(http.MethodGet, servicetest.Path("rooms", tc.segment), nil)
				rtStatus(t, res, http.StatusNotFound, tc.name)
				rtErrorBody(t, res, tc.name)
			}
		})
	}
}

// 5. Who may update and delete a room; LiveKit metadata follows updates.
func TestRoomUpdateDeletePermissions(t *testing.T) {
	n := servicetest.StartNode(t, rtShortRequests())
	alice := rtRegister(t, n, "alice") // owner
	carol := rtRegister(t, n, "carol") // administrator
	dave := rtRegister(t, n, "dave")   // member
	bob := rtRegister(t, n, "bob")     // no role
	anon := n.Client("")

	names := map[string]string{} // room id -> its (unique: a name is a slug) name
	newRoom := func(t *testing.T) (id, slug string) {
		t.Helper()
		name := servicetest.UniqueRoomName("Matrix")
		room := alice.CreateRoom(map[string]any{"name": name, "access_level": "trusted"}).JSON
		names[rtString(room, "id")] = name
		id = rtString(room, "id")
		alice.Grant(id, carol.ID, "administrator")
		alice.Grant(id, dave.ID, "member")
		return id, rtString(room, "slug")
	}

	cases := []struct {
		name               string
		caller             *servicetest.Client
		patch, put, delete int
		updatesApply       bool
	}{
		{"anonymous", anon, 401, 401, 401, false},
		{"authenticated without role", bob.Client, 403, 403, 403, false},
		{"member", dave.Client, 403, 403, 403, false},
		{"administrator", carol.Client, 200, 200, 403, true},
		{"owner", alice.Client, 200, 200, 204, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, slug := newRoom(t)
			res := tc.caller.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "Patched"})
			rtStatus(t, res, tc.patch, "PATCH")
			if tc.patch != http.StatusOK {
				rtErrorBody(t, res, "PATCH")
			} else if res.JSON()["name"] != "Patched" {
				t.Errorf("PATCH reply: %s", res.Body)
			}
			res = tc.caller.Do(http.MethodPut, servicetest.Path("rooms", slug), map[string]any{"name": "Put", "access_level": "restricted"})
			rtStatus(t, res, tc.put, "PUT")
			if tc.put != http.StatusOK {
				rtErrorBody(t, res, "PUT")
			}
			got := alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil).JSON()
			wantName, wantLevel := names[id], "trusted"
			if tc.updatesApply {
				wantName, wantLevel = "Put", "restricted"
			}
			if got["name"] != wantName || got["access_level"] != wantLevel {
				t.Errorf("after updates: name %v level %v, want %s %s", got["name"], got["access_level"], wantName, wantLevel)
			}

			res = tc.caller.Do(http.MethodDelete, servicetest.Path("rooms", id), nil)
			rtStatus(t, res, tc.delete, "DELETE")
			if tc.delete != http.StatusNoContent {
				rtErrorBody(t, res, "DELETE")
				rtStatus(t, alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil), http.StatusOK, "GET after refused delete")
				return
			}
			for _, path := range []string{servicetest.Path("rooms", id), servicetest.Path("rooms", slug)} {
				res := alice.Do(http.MethodGet, path, nil)
				rtStatus(t, res, http.StatusNotFound, "GET after delete "+path)
				rtErrorBody(t, res, "GET after delete")
			}
			for who, c := range map[string]*servicetest.Client{"owner": alice.Client, "administrator": carol.Client, "member": dave.Client} {
				if slices.Contains(rtListedIDs(rtRoomList(t, c, "?page_size=100")), id) {
					t.Errorf("deleted room still in the %s's list", who)
				}
			}
			rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "Ghost"}), http.StatusNotFound, "PATCH after delete")
		})
	}

	t.Run("validation", func(t *testing.T) {
		id, _ := newRoom(t)
		rtFieldError(t, alice.Do(http.MethodPut, servicetest.Path("rooms", id), map[string]any{"access_level": "public"}), "name", "PUT without name")
		rtFieldError(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": ""}), "name", "PATCH blank name")
		rtFieldError(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"access_level": "everyone"}), "access_level", "PATCH bad level")
		rtFieldError(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"configuration": map[string]any{"bar": true}}), "configuration", "PATCH unknown configuration key")
		// PATCH with only some fields keeps the others.
		res := alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"access_level": "public"})
		rtStatus(t, res, http.StatusOK, "PATCH level only")
		if got := res.JSON(); got["name"] != names[id] || got["access_level"] != "public" {
			t.Errorf("PATCH level only: %s", res.Body)
		}
		rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", uuid.NewString()), map[string]any{"name": "x"}), http.StatusNotFound, "PATCH unknown room")
		rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("rooms", "zzz-zzzz-zzz"), nil), http.StatusNotFound, "DELETE unknown slug")
	})

	t.Run("LiveKit metadata follows access level and configuration", func(t *testing.T) {
		id, _ := newRoom(t)
		rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "Only the name"}), http.StatusOK, "rename")
		time.Sleep(200 * time.Millisecond)
		if m, ok := n.LiveKit.Metadata(id); ok {
			t.Errorf("renaming pushed LiveKit metadata %s", m)
		}

		rtStatus(t, carol.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"access_level": "restricted"}), http.StatusOK, "change level")
		servicetest.Eventually(t, 5*time.Second, "metadata with the new access level", func() bool {
			m, ok := rtMetadata(n, id)
			return ok && m["access_level"] == "restricted"
		})

		rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{
			"configuration": map[string]any{"can_publish_sources": []string{"camera"}, "everyone_can_mute": true},
		}), http.StatusOK, "change configuration")
		servicetest.Eventually(t, 5*time.Second, "metadata with the new configuration", func() bool {
			m, ok := rtMetadata(n, id)
			cfg := rtObject(m, "configuration")
			return ok && m["access_level"] == "restricted" && cfg["everyone_can_mute"] == true &&
				slices.Equal(rtStrings(cfg["can_publish_sources"]), []string{"camera"})
		})
		before, _ := n.LiveKit.Metadata(id)
		rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "Renamed again"}), http.StatusOK, "rename again")
		time.Sleep(100 * time.Millisecond)
		if after, _ := n.LiveKit.Metadata(id); after != before {
			t.Errorf("renaming changed the metadata: %s -> %s", before, after)
		}
	})
}

// 6. Listing the caller's rooms.
func TestRoomList(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	carol := rtRegister(t, n, "carol")

	create := func(c *servicetest.Client, name string) string {
		n.Clock.Advance(time.Second) // creation times must differ for "newest first"
		return c.CreateRoom(map[string]any{"name": name}).ID
	}
	a1 := create(alice.Client, "A1")
	a2 := create(alice.Client, "A2")
	a3 := create(alice.Client, "A3")
	b1 := create(bob.Client, "B1")
	b2 := create(bob.Client, "B2")
	bob.Grant(b1, alice.ID, "member")

	t.Run("only rooms with a role, newest first", func(t *testing.T) {
		list := rtRoomList(t, alice.Client, "")
		if list["count"] != float64(4) {
			t.Errorf("count = %v, want 4", list["count"])
		}
		if got, want := rtListedIDs(list), []string{b1, a3, a2, a1}; !slices.Equal(got, want) {
			t.Errorf("alice's rooms = %v, want %v", got, want)
		}
		for _, r := range rtList(list, "results") {
			if len(r) != 4 || r["name"] == nil || r["access_level"] != "public" || rtString(r, "slug") != strings.ToLower(rtString(r, "name")) {
				t.Errorf("list item %v: want exactly id, name, slug, access_level", r)
			}
		}
		if got, want := rtListedIDs(rtRoomList(t, bob.Client, "")), []string{b2, b1}; !slices.Equal(got, want) {
			t.Errorf("bob's rooms = %v, want %v", got, want)
		}
		if list := rtRoomList(t, carol.Client, ""); list["count"] != float64(0) || len(rtList(list, "results")) != 0 {
			t.Errorf("carol has no role anywhere: %v", list)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		page1 := rtRoomList(t, alice.Client, "?page_size=2")
		if page1["count"] != float64(4) || page1["previous"] != nil {
			t.Errorf("page 1: %v", page1)
		}
		if got := rtListedIDs(page1); !slices.Equal(got, []string{b1, a3}) {
			t.Errorf("page 1 = %v", got)
		}
		next, _ := page1["next"].(string)
		if !strings.Contains(next, "page=2") {
			t.Fatalf("page 1 next = %v", page1["next"])
		}
		if i := strings.Index(next, "/api/"); i > 0 {
			next = next[i:] // absolute link: keep the path and query
		}
		res := alice.Do(http.MethodGet, next, nil)
		rtStatus(t, res, http.StatusOK, "follow next")
		page2 := res.JSON()
		if got := rtListedIDs(page2); !slices.Equal(got, []string{a2, a1}) {
			t.Errorf("page 2 = %v", got)
		}
		if page2["count"] != float64(4) || page2["next"] != nil || page2["previous"] == nil {
			t.Errorf("page 2 links: next %v previous %v", page2["next"], page2["previous"])
		}
		page := rtRoomList(t, alice.Client, "?page=2&page_size=3")
		if got := rtListedIDs(page); !slices.Equal(got, []string{a1}) || page["next"] != nil || page["previous"] == nil {
			t.Errorf("page 2 of 3: %v", page)
		}
	})

	t.Run("anonymous gets an empty list", func(t *testing.T) {
		list := rtRoomList(t, n.Client(""), "")
		results, ok := list["results"].([]any)
		if list["count"] != float64(0) || !ok || len(results) != 0 || list["next"] != nil || list["previous"] != nil {
			t.Errorf("anonymous list = %v", list)
		}
	})

	t.Run("rename is reflected", func(t *testing.T) {
		rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", a2), map[string]any{"name": "A2 renamed", "access_level": "restricted"}), http.StatusOK, "rename")
		rtStatus(t, bob.Do(http.MethodPatch, servicetest.Path("rooms", b1), map[string]any{"name": "B1 renamed"}), http.StatusOK, "rename shared room")
		names := map[string]string{}
		levels := map[string]string{}
		for _, r := range rtList(rtRoomList(t, alice.Client, ""), "results") {
			names[rtString(r, "id")] = rtString(r, "name")
			levels[rtString(r, "id")] = rtString(r, "access_level")
		}
		if names[a2] != "A2 renamed" || levels[a2] != "restricted" || names[b1] != "B1 renamed" {
			t.Errorf("alice's list after renames: %v %v", names, levels)
		}
		// Renaming does not change the order.
		if got := rtListedIDs(rtRoomList(t, alice.Client, "")); !slices.Equal(got, []string{b1, a3, a2, a1}) {
			t.Errorf("order after rename = %v", got)
		}
	})
}

// 7. Creation callback of calendar integrations.
func TestRoomCreationCallback(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	anon := n.Client("")
	room := alice.CreateRoom(map[string]any{"name": "Calendar", "callback_id": "cb-1", "access_level": "restricted"}).JSON

	t.Run("known callback id", func(t *testing.T) {
		for _, c := range []*servicetest.Client{anon, alice.Client} {
			res := c.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), map[string]any{"callback_id": "cb-1"})
			rtStatus(t, res, http.StatusOK, "creation callback")
			body := res.JSON()
			got := rtObject(body, "room")
			if body["status"] != "success" || got == nil {
				t.Fatalf("callback reply %s", res.Body)
			}
			if got["id"] != room["id"] || got["slug"] != room["slug"] || got["name"] != "Calendar" || got["access_level"] != "restricted" {
				t.Errorf("callback room %v, want %v", got, room)
			}
		}
		// Without trailing slash as well.
		res := anon.Do(http.MethodPost, "/api/v1.0/rooms/creation-callback", map[string]any{"callback_id": "cb-1"})
		rtStatus(t, res, http.StatusOK, "creation callback without slash")
	})

	t.Run("unknown callback id", func(t *testing.T) {
		res := anon.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), map[string]any{"callback_id": "cb-unknown"})
		rtStatus(t, res, http.StatusOK, "unknown callback")
		body := res.JSON()
		if r, present := body["room"]; body["status"] != "success" || !present || r != nil {
			t.Errorf("unknown callback reply %s, want room null", res.Body)
		}
	})

	t.Run("validation", func(t *testing.T) {
		rtFieldError(t, anon.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), map[string]any{}), "callback_id", "missing callback_id")
		rtFieldError(t, anon.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), map[string]any{"callback_id": 7}), "callback_id", "callback_id not a string")
	})
}

// 7b. The creation callback is rate limited per client. A node of its own: two live nodes in one
// process race on protoactor's global gRPC logger (remote.Start calls grpclog.SetLoggerV2).
func TestRoomCreationCallbackRateLimit(t *testing.T) {
	limited := servicetest.StartNode(t, map[string]string{"CREATION_CALLBACK_THROTTLE_RATES": "2/minute"})
	caller := limited.Client("")
	body := map[string]any{"callback_id": "cb-x"}
	for i := range 2 {
		rtStatus(t, caller.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), body), http.StatusOK, "call within the rate "+string(rune('1'+i)))
	}
	res := caller.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), body)
	rtStatus(t, res, http.StatusTooManyRequests, "third call")
	rtErrorBody(t, res, "third call")
	// The limit is per client: an authenticated user has an allowance of their own.
	user := limited.Client(limited.Token("erin", "erin@example.org", "Erin Blanc"))
	rtStatus(t, user.Do(http.MethodPost, servicetest.Path("rooms", "creation-callback"), body), http.StatusOK, "another client")
}

// 8. State survives a restart against the same Redis.
func TestRoomStateSurvivesRestart(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	room := alice.CreateRoom(map[string]any{"name": "Before", "access_level": "restricted",
		"configuration": map[string]any{"everyone_can_mute": true}}).JSON
	id, slug := rtString(room, "id"), rtString(room, "slug")
	accessID := alice.Grant(id, bob.ID, "member")
	rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "Renamed"}), http.StatusOK, "rename")

	// snapshot is what a caller sees of the room, without the freshly minted LiveKit token.
	snapshot := func() (room, aliceList, bobList, bobAccesses string) {
		t.Helper()
		res := alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil)
		rtStatus(t, res, http.StatusOK, "GET room")
		r := res.JSON()
		delete(r, "livekit")
		b, _ := json.Marshal(r)
		al, _ := json.Marshal(rtRoomList(t, alice.Client, ""))
		bl, _ := json.Marshal(rtRoomList(t, bob.Client, ""))
		res = bob.Do(http.MethodGet, servicetest.Path("resource-accesses")+"?resource="+id, nil)
		rtStatus(t, res, http.StatusOK, "bob's accesses")
		return string(b), string(al), string(bl), string(res.Body)
	}
	r1, al1, bl1, ba1 := snapshot()
	if !strings.Contains(r1, `"Renamed"`) || !strings.Contains(r1, accessID) {
		t.Fatalf("before restart: %s", r1)
	}

	n.Restart()

	r2, al2, bl2, ba2 := snapshot()
	for _, c := range []struct{ what, before, after string }{
		{"room", r1, r2}, {"alice's list", al1, al2}, {"bob's list", bl1, bl2}, {"bob's accesses", ba1, ba2},
	} {
		if c.before != c.after {
			t.Errorf("%s changed across restart:\nbefore %s\nafter  %s", c.what, c.before, c.after)
		}
	}
	res := bob.Do(http.MethodGet, servicetest.Path("rooms", slug), nil)
	rtStatus(t, res, http.StatusOK, "slug after restart")
	if res.JSON()["id"] != id || res.JSON()["name"] != "Renamed" {
		t.Errorf("slug resolves to %s", res.Body)
	}
	// The restarted node keeps working on the stored state (fencing epoch taken over).
	rtStatus(t, alice.Do(http.MethodPatch, servicetest.Path("rooms", id), map[string]any{"name": "After"}), http.StatusOK, "rename after restart")
	if got := alice.Do(http.MethodGet, servicetest.Path("rooms", slug), nil).JSON()["name"]; got != "After" {
		t.Errorf("name after restart and rename = %v", got)
	}
	rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("resource-accesses", accessID), nil), http.StatusNoContent, "remove access after restart")
}

// 9. Idempotency-Key.
func TestRoomIdempotency(t *testing.T) {
	n := servicetest.StartNode(t, rtShortRequests())
	alice := rtRegister(t, n, "alice")
	carol := rtRegister(t, n, "carol")
	room := alice.CreateRoom(map[string]any{"name": "Original"}).JSON
	id := rtString(room, "id")
	alice.Grant(id, carol.ID, "administrator")
	path := servicetest.Path("rooms", id)

	t.Run("same key answers the first reply", func(t *testing.T) {
		first := alice.Do(http.MethodPatch, path, map[string]any{"name": "First"}, "Idempotency-Key", "key-1")
		rtStatus(t, first, http.StatusOK, "first PATCH")
		second := alice.Do(http.MethodPatch, path, map[string]any{"name": "Second"}, "Idempotency-Key", "key-1")
		rtStatus(t, second, http.StatusOK, "repeated PATCH")
		if second.JSON()["name"] != "First" {
			t.Errorf("repeated PATCH answered %s, want the first reply", second.Body)
		}
		if got := alice.Do(http.MethodGet, path, nil).JSON()["name"]; got != "First" {
			t.Errorf("room name = %v, want First", got)
		}
	})

	t.Run("a repeat answers the first reply after another change", func(t *testing.T) {
		first := alice.Do(http.MethodPatch, path, map[string]any{"access_level": "restricted"}, "Idempotency-Key", "key-2")
		rtStatus(t, first, http.StatusOK, "first PATCH")
		rtStatus(t, alice.Do(http.MethodPatch, path, map[string]any{"access_level": "trusted"}), http.StatusOK, "another PATCH")
		repeat := alice.Do(http.MethodPatch, path, map[string]any{"access_level": "restricted"}, "Idempotency-Key", "key-2")
		rtStatus(t, repeat, http.StatusOK, "repeated PATCH")
		if repeat.JSON()["access_level"] != "restricted" {
			t.Errorf("repeated PATCH answered %s, want the first reply (restricted), not the room as it is now", repeat.Body)
		}
	})

	t.Run("without the header both apply", func(t *testing.T) {
		rtStatus(t, alice.Do(http.MethodPatch, path, map[string]any{"name": "Third"}), http.StatusOK, "PATCH 3")
		res := alice.Do(http.MethodPatch, path, map[string]any{"name": "Fourth"})
		rtStatus(t, res, http.StatusOK, "PATCH 4")
		if res.JSON()["name"] != "Fourth" {
			t.Errorf("PATCH 4 = %s", res.Body)
		}
		if got := alice.Do(http.MethodGet, path, nil).JSON()["name"]; got != "Fourth" {
			t.Errorf("room name = %v, want Fourth", got)
		}
	})

	t.Run("keys are scoped to the caller", func(t *testing.T) {
		res := carol.Do(http.MethodPatch, path, map[string]any{"name": "Carol's"}, "Idempotency-Key", "key-1")
		rtStatus(t, res, http.StatusOK, "carol PATCH with alice's key")
		if res.JSON()["name"] != "Carol's" {
			t.Errorf("another caller's key was answered from alice's memory: %s", res.Body)
		}
	})

	t.Run("retried delete gets the first answer", func(t *testing.T) {
		other := alice.CreateRoom(map[string]any{"name": "Doomed"}).ID
		p := servicetest.Path("rooms", other)
		rtStatus(t, alice.Do(http.MethodDelete, p, nil, "Idempotency-Key", "del-1"), http.StatusNoContent, "delete")
		rtStatus(t, alice.Do(http.MethodDelete, p, nil, "Idempotency-Key", "del-1"), http.StatusNoContent, "retried delete")
		rtStatus(t, alice.Do(http.MethodDelete, p, nil), http.StatusNotFound, "new delete")
	})

	// rooms.md "Idempotence": a retried POST rooms/ with the same Idempotency-Key must not create
	// a second room.
	t.Run("retried create makes one room", func(t *testing.T) {
		before := rtRoomList(t, alice.Client, "")["count"].(float64)
		body := map[string]any{"name": "Once"}
		first := alice.Do(http.MethodPost, servicetest.Path("rooms"), body, "Idempotency-Key", "create-1")
		rtStatus(t, first, http.StatusCreated, "create")
		second := alice.Do(http.MethodPost, servicetest.Path("rooms"), body, "Idempotency-Key", "create-1")
		if second.Status != http.StatusCreated || second.JSON()["id"] != first.JSON()["id"] {
			t.Errorf("retried create: %d %s, want 201 with the first room %v", second.Status, second.Body, first.JSON()["id"])
		}
		if after := rtRoomList(t, alice.Client, "")["count"].(float64); after != before+1 {
			t.Errorf("alice has %v rooms after a retried create, want %v", after, before+1)
		}
	})
}

// 10. Operations endpoints.
func TestHealthEndpoints(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	c := n.Client("")
	res := c.Do(http.MethodGet, "/healthz", nil)
	rtStatus(t, res, http.StatusOK, "healthz")
	res = c.Do(http.MethodGet, "/readyz", nil)
	rtStatus(t, res, http.StatusOK, "readyz")
	if res.JSON()["status"] != "ready" {
		t.Errorf("readyz = %s", res.Body)
	}
	c.Do(http.MethodGet, servicetest.Path("config"), nil)
	res = c.Do(http.MethodGet, "/metrics", nil)
	rtStatus(t, res, http.StatusOK, "metrics")
	if !strings.Contains(string(res.Body), "meetcoord_http_request_duration_seconds") {
		t.Errorf("metrics lack meetcoord_http_request_duration_seconds")
	}
}

// 11. Every error is JSON with a "detail" string (and field lists for validation).
func TestErrorBodies(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice := rtRegister(t, n, "alice")
	bob := rtRegister(t, n, "bob")
	room := alice.CreateRoom(map[string]any{"name": "Errors"}).ID

	cases := []struct {
		name         string
		method, path string
		body         string
		token        string
		status       int
	}{
		{"unknown API path", http.MethodGet, "/api/v1.0/nope/", "", "", 404},
		{"unknown API path without slash", http.MethodGet, "/api/v1.0/nope", "", alice.Token, 404},
		{"unknown path below a room", http.MethodGet, servicetest.Path("rooms", room, "nope"), "", alice.Token, 404},
		{"wrong method on rooms/", http.MethodDelete, servicetest.Path("rooms"), "", alice.Token, 405},
		{"wrong method on users/me/", http.MethodPost, servicetest.Path("users", "me"), "{}", alice.Token, 405},
		{"wrong method on config", http.MethodPut, "/api/v1.0/config", "{}", "", 405},
		{"wrong method on an access", http.MethodPost, servicetest.Path("resource-accesses", uuid.NewString()), "{}", alice.Token, 405},
		{"unknown room", http.MethodGet, servicetest.Path("rooms", uuid.NewString()), "", "", 404},
		{"no credentials", http.MethodGet, servicetest.Path("users", "me"), "", "", 401},
		{"bad token", http.MethodGet, servicetest.Path("rooms"), "", "garbage", 401},
		{"no role", http.MethodDelete, servicetest.Path("rooms", room), "", bob.Token, 403},
		{"malformed JSON", http.MethodPatch, servicetest.Path("rooms", room), "{oops", alice.Token, 400},
		{"validation", http.MethodPost, servicetest.Path("rooms"), `{"name": ""}`, alice.Token, 400},
		{"bad page", http.MethodGet, servicetest.Path("rooms") + "?page=0", "", alice.Token, 400},
		// page*size overflowed and panicked the handler (a dropped connection) before pages were bounded.
		{"overflowing page, anonymous", http.MethodGet, servicetest.Path("rooms") + "?page=461168601842738792", "", "", 400},
		{"overflowing page of recordings", http.MethodGet, servicetest.Path("recordings") + "?page=461168601842738792&page_size=20", "", alice.Token, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := rtRaw(t, n, tc.method, tc.path, tc.body, tc.token)
			rtStatus(t, res, tc.status, tc.name)
			rtErrorBody(t, res, tc.name)
		})
	}
}

// A deleted or unknown room answers 404 at once, however many callers ask it together: the grain
// stops itself after a delete or a miss, and requests that reach the stopping activation must be
// neither lost (503 after ROOM_REQUEST_TIMEOUT) nor dead-lettered (immediate 503).
func TestRoomRequestsRightAfterDeleteOrMiss(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"ROOM_REQUEST_TIMEOUT": "2"})
	alice := rtRegister(t, n, "alice")
	const callers = 6
	askTogether := func(what, id string) {
		t.Helper()
		type outcome struct {
			res     servicetest.Response
			elapsed time.Duration
		}
		results := make(chan outcome, callers)
		for range callers {
			go func() {
				start := time.Now()
				res := alice.Do(http.MethodGet, servicetest.Path("rooms", id), nil)
				results <- outcome{res, time.Since(start)}
			}()
		}
		for range callers {
			o := <-results
			if o.res.Status != http.StatusNotFound {
				t.Errorf("%s: GET answered %d after %v %s, want 404", what, o.res.Status, o.elapsed.Round(time.Millisecond), o.res.Body)
			}
		}
	}
	for i := range 3 {
		id := alice.CreateRoom(map[string]any{"name": "Short-lived"}).ID
		rtStatus(t, alice.Do(http.MethodDelete, servicetest.Path("rooms", id), nil), http.StatusNoContent, "delete")
		askTogether("deleted room "+string(rune('1'+i)), id)
		askTogether("unknown room "+string(rune('1'+i)), uuid.NewString())
		if t.Failed() {
			return
		}
	}
}
