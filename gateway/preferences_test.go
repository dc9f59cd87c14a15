package gateway_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
	gwauth "meetcoord/gateway/auth"
)

// Helpers of the user preference tests carry an "up" prefix so that they do not collide with
// helpers of other test files of the package.

// upLogin is a client of the user with these claims (a fresh subject when claims.Subject is
// empty); its first users/me registers the user.
func upLogin(t *testing.T, n *servicetest.Node, claims gwauth.Claims) *servicetest.Client {
	t.Helper()
	if claims.Subject == "" {
		claims.Subject = "prefs-" + uuid.NewString()[:8]
	}
	if claims.Email == "" {
		claims.Email = claims.Subject + "@example.org"
	}
	token, err := n.Issuer.Mint(claims, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return n.Client(token)
}

// upMe is the caller's users/me.
func upMe(t *testing.T, c *servicetest.Client) map[string]any {
	t.Helper()
	res := c.Do(http.MethodGet, "/api/v1.0/users/me", nil)
	rtStatus(t, res, http.StatusOK, "users/me")
	return res.JSON()
}

// upPreferences is the preference part of a user as the API shows it.
func upPreferences(user map[string]any) map[string]any {
	return map[string]any{
		"timezone": user["timezone"], "language": user["language"],
		"default_room_access_level":  user["default_room_access_level"],
		"default_room_configuration": user["default_room_configuration"],
	}
}

// upJSON is v as it comes back from a JSON API (numbers float64, objects map[string]any).
func upJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUsersMeShowsPreferencesWithDefaults: a new user's users/me has every field the front end
// reads; the language comes from the first login's locale claim (mapped to one of the front
// end's languages, LANGUAGE_CODE when it maps to none), the time zone is UTC and no default is
// chosen for new rooms. A later login with another locale leaves the language as it is.
func TestUsersMeShowsPreferencesWithDefaults(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"LANGUAGE_CODE": "de-de"})

	for _, tt := range []struct {
		locale, want string
	}{
		{"", "de-de"},
		{"fr", "fr-fr"},
		{"fr-FR", "fr-fr"},
		{"fr_FR", "fr-fr"},
		{"FR-fr", "fr-fr"},
		{"fr-CA", "fr-fr"},
		{"nl", "nl-nl"},
		{"nl-BE", "nl-nl"},
		{"en", "en-us"},
		{"en-GB", "en-us"},
		{"en-us", "en-us"},
		{"de-AT", "de-de"},
		{"es", "de-de"},
		{"es-ES", "de-de"},
		{"-", "de-de"},
	} {
		t.Run("locale "+strconv.Quote(tt.locale), func(t *testing.T) {
			me := upMe(t, upLogin(t, n, gwauth.Claims{FullName: "Pat Doe", ShortName: "Pat", Language: tt.locale}))
			want := map[string]any{
				"timezone": "UTC", "language": tt.want,
				"default_room_access_level": nil, "default_room_configuration": map[string]any{},
			}
			if got := upPreferences(me); !reflect.DeepEqual(got, want) {
				t.Errorf("preferences = %v, want %v", got, want)
			}
			for _, key := range []string{"id", "email", "full_name", "short_name", "default_room_access_level"} {
				if _, ok := me[key]; !ok {
					t.Errorf("users/me lacks %q: %v", key, me)
				}
			}
		})
	}

	t.Run("a later locale does not change the language", func(t *testing.T) {
		sub := "relocated-" + uuid.NewString()[:8]
		first := upLogin(t, n, gwauth.Claims{Subject: sub, Language: "nl-NL"})
		if got := upMe(t, first)["language"]; got != "nl-nl" {
			t.Fatalf("language after the first login = %v, want nl-nl", got)
		}
		later := upLogin(t, n, gwauth.Claims{Subject: sub, Language: "fr"})
		if got := upMe(t, later)["language"]; got != "nl-nl" {
			t.Errorf("language after a login with locale fr = %v, want nl-nl still", got)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		res := n.Client("").Do(http.MethodGet, "/api/v1.0/users/me", nil)
		rtStatus(t, res, http.StatusUnauthorized, "anonymous users/me")
	})
}

// TestUpdateUserPreferences: PUT (as the front end's language and time zone sync sends it) and
// PATCH (as its settings send each default) change the caller's preferences, answer the user
// and leave the others as they were; read-only fields are ignored.
func TestUpdateUserPreferences(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	c := upLogin(t, n, gwauth.Claims{FullName: "Pat Doe", ShortName: "Pat", Language: "en"})
	me := upMe(t, c)
	id := me["id"].(string)
	self := servicetest.Path("users", id)

	steps := []struct {
		name   string
		method string
		body   map[string]any
		want   map[string]any // preferences after the step
	}{
		{"put language and timezone", http.MethodPut,
			map[string]any{"timezone": "Europe/Paris", "language": "fr-fr"},
			map[string]any{"timezone": "Europe/Paris", "language": "fr-fr",
				"default_room_access_level": nil, "default_room_configuration": map[string]any{}}},
		{"patch default access level", http.MethodPatch,
			map[string]any{"default_room_access_level": "restricted"},
			map[string]any{"timezone": "Europe/Paris", "language": "fr-fr",
				"default_room_access_level": "restricted", "default_room_configuration": map[string]any{}}},
		{"patch default configuration", http.MethodPatch,
			map[string]any{"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []string{"microphone", "camera"}}},
			map[string]any{"timezone": "Europe/Paris", "language": "fr-fr", "default_room_access_level": "restricted",
				"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"camera", "microphone"}}}},
		{"patch timezone only", http.MethodPatch,
			map[string]any{"timezone": "America/Argentina/Buenos_Aires"},
			map[string]any{"timezone": "America/Argentina/Buenos_Aires", "language": "fr-fr", "default_room_access_level": "restricted",
				"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"camera", "microphone"}}}},
		{"put keeps what it does not name", http.MethodPut,
			map[string]any{"timezone": "UTC"},
			map[string]any{"timezone": "UTC", "language": "fr-fr", "default_room_access_level": "restricted",
				"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"camera", "microphone"}}}},
		{"read-only fields are ignored", http.MethodPatch,
			map[string]any{"email": "mallory@example.org", "full_name": "Mallory", "id": uuid.NewString(), "language": "nl-nl"},
			map[string]any{"timezone": "UTC", "language": "nl-nl", "default_room_access_level": "restricted",
				"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"camera", "microphone"}}}},
		{"clear the defaults", http.MethodPatch,
			map[string]any{"default_room_access_level": nil, "default_room_configuration": map[string]any{}},
			map[string]any{"timezone": "UTC", "language": "nl-nl", "default_room_access_level": nil, "default_room_configuration": map[string]any{}}},
	}
	for _, step := range steps {
		res := c.Do(step.method, self, step.body)
		rtStatus(t, res, http.StatusOK, step.name)
		answered := res.JSON()
		if got := upPreferences(answered); !reflect.DeepEqual(got, step.want) {
			t.Errorf("%s: answered preferences %v, want %v", step.name, got, step.want)
		}
		if answered["id"] != id || answered["email"] != me["email"] || answered["full_name"] != "Pat Doe" || answered["short_name"] != "Pat" {
			t.Errorf("%s: answered user %v, want the caller (%v) unchanged", step.name, answered, me)
		}
		if got := upPreferences(upMe(t, c)); !reflect.DeepEqual(got, step.want) {
			t.Errorf("%s: users/me preferences %v, want %v", step.name, got, step.want)
		}
	}
}

// TestUpdateUserPreferencesRejectsBadInput: each invalid preference is a 400 naming its field,
// and nothing of the request is applied.
func TestUpdateUserPreferencesRejectsBadInput(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	c := upLogin(t, n, gwauth.Claims{Language: "fr"})
	self := servicetest.Path("users", upMe(t, c)["id"].(string))
	before := upPreferences(upMe(t, c))

	for _, tt := range []struct {
		name   string
		method string
		body   map[string]any
		field  string
	}{
		{"unknown timezone", http.MethodPatch, map[string]any{"timezone": "Mars/Olympus_Mons"}, "timezone"},
		{"empty timezone", http.MethodPatch, map[string]any{"timezone": ""}, "timezone"},
		{"the machine's zone", http.MethodPatch, map[string]any{"timezone": "Local"}, "timezone"},
		{"timezone path", http.MethodPatch, map[string]any{"timezone": "../../etc/passwd"}, "timezone"},
		{"null timezone", http.MethodPatch, map[string]any{"timezone": nil}, "timezone"},
		{"timezone not a string", http.MethodPatch, map[string]any{"timezone": 2}, "timezone"},
		{"put without timezone", http.MethodPut, map[string]any{"language": "en-us"}, "timezone"},
		{"unknown language", http.MethodPatch, map[string]any{"language": "es-es"}, "language"},
		{"language not a front end code", http.MethodPatch, map[string]any{"language": "fr"}, "language"},
		{"null language", http.MethodPatch, map[string]any{"language": nil}, "language"},
		{"unknown access level", http.MethodPatch, map[string]any{"default_room_access_level": "secret"}, "default_room_access_level"},
		{"access level not a string", http.MethodPatch, map[string]any{"default_room_access_level": true}, "default_room_access_level"},
		{"configuration with an unknown key", http.MethodPatch, map[string]any{"default_room_configuration": map[string]any{"max_participants": 3}}, "default_room_configuration"},
		{"configuration with an unknown source", http.MethodPatch, map[string]any{"default_room_configuration": map[string]any{"can_publish_sources": []string{"hologram"}}}, "default_room_configuration"},
		{"configuration mute not a boolean", http.MethodPatch, map[string]any{"default_room_configuration": map[string]any{"everyone_can_mute": "no"}}, "default_room_configuration"},
		{"configuration not an object", http.MethodPatch, map[string]any{"default_room_configuration": "open"}, "default_room_configuration"},
		{"null configuration", http.MethodPatch, map[string]any{"default_room_configuration": nil}, "default_room_configuration"},
		{"valid fields beside an invalid one", http.MethodPut,
			map[string]any{"timezone": "Asia/Tokyo", "language": "klingon", "default_room_access_level": "trusted"}, "language"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Do(tt.method, self, tt.body)
			rtStatus(t, res, http.StatusBadRequest, tt.name)
			if msgs, ok := res.JSON()[tt.field].([]any); !ok || len(msgs) == 0 {
				t.Errorf("400 without messages for %q: %s", tt.field, res.Body)
			}
			if got := upPreferences(upMe(t, c)); !reflect.DeepEqual(got, before) {
				t.Errorf("preferences after a refused request = %v, want %v", got, before)
			}
		})
	}
}

// TestUpdateUserRefusesOthers: only oneself may be changed, as in the reference: another user's
// id is a 403, an id of nobody a 404, no credentials a 401; the other user is left as they were.
func TestUpdateUserRefusesOthers(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	mallory := upLogin(t, n, gwauth.Claims{})
	upMe(t, mallory)
	victim := upLogin(t, n, gwauth.Claims{Language: "de"})
	victimMe := upMe(t, victim)
	victimPath := servicetest.Path("users", victimMe["id"].(string))
	change := map[string]any{"timezone": "Asia/Tokyo", "default_room_access_level": "public"}

	for _, tt := range []struct {
		name   string
		c      *servicetest.Client
		method string
		path   string
		want   int
	}{
		{"another user (PATCH)", mallory, http.MethodPatch, victimPath, http.StatusForbidden},
		{"another user (PUT)", mallory, http.MethodPut, victimPath, http.StatusForbidden},
		{"nobody's id", mallory, http.MethodPatch, servicetest.Path("users", uuid.NewString()), http.StatusNotFound},
		{"not an id", mallory, http.MethodPatch, servicetest.Path("users", "someone"), http.StatusNotFound},
		{"anonymous", n.Client(""), http.MethodPatch, victimPath, http.StatusUnauthorized},
	} {
		rtStatus(t, tt.c.Do(tt.method, tt.path, change), tt.want, tt.name)
	}
	if got, want := upPreferences(upMe(t, victim)), upPreferences(victimMe); !reflect.DeepEqual(got, want) {
		t.Errorf("victim's preferences = %v, want %v unchanged", got, want)
	}
}

// TestPreferencesSurviveChangedClaims: a later token with other claims updates the user's name
// and email, never their preferences.
func TestPreferencesSurviveChangedClaims(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	sub := "renamed-" + uuid.NewString()[:8]
	before := upLogin(t, n, gwauth.Claims{Subject: sub, FullName: "Pat Doe", ShortName: "Pat", Language: "en"})
	id := upMe(t, before)["id"].(string)
	chosen := map[string]any{"timezone": "Pacific/Auckland", "language": "fr-fr", "default_room_access_level": "trusted",
		"default_room_configuration": map[string]any{"everyone_can_mute": false}}
	rtStatus(t, before.Do(http.MethodPatch, servicetest.Path("users", id), chosen), http.StatusOK, "set preferences")

	after := upLogin(t, n, gwauth.Claims{Subject: sub, Email: "pat@new.example.org", FullName: "Pat Smith", ShortName: "P.", Language: "de"})
	me := upMe(t, after)
	if me["id"] != id || me["email"] != "pat@new.example.org" || me["full_name"] != "Pat Smith" || me["short_name"] != "P." {
		t.Errorf("users/me after new claims = %v, want the new claims", me)
	}
	if got := upPreferences(me); !reflect.DeepEqual(got, upJSON(t, chosen)) {
		t.Errorf("preferences after new claims = %v, want %v", got, chosen)
	}
	// And so after a restart, when no node remembers having seen the old claims.
	n.Restart()
	if got := upPreferences(upMe(t, after)); !reflect.DeepEqual(got, upJSON(t, chosen)) {
		t.Errorf("preferences after a restart = %v, want %v", got, chosen)
	}
}

// TestNewRoomTakesCreatorDefaults: a room created without an access level or configuration (or
// with an empty one) takes its creator's defaults, else RESOURCE_DEFAULT_ACCESS_LEVEL; given
// values win.
func TestNewRoomTakesCreatorDefaults(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"RESOURCE_DEFAULT_ACCESS_LEVEL": "trusted"})
	withDefaults := upLogin(t, n, gwauth.Claims{})
	id := upMe(t, withDefaults)["id"].(string)
	defaults := map[string]any{"default_room_access_level": "restricted",
		"default_room_configuration": map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"microphone"}}}
	rtStatus(t, withDefaults.Do(http.MethodPatch, servicetest.Path("users", id), defaults), http.StatusOK, "set defaults")
	without := upLogin(t, n, gwauth.Claims{})
	upMe(t, without)

	for _, tt := range []struct {
		name       string
		creator    *servicetest.Client
		body       map[string]any
		wantLevel  string
		wantConfig map[string]any
	}{
		{"creator's defaults", withDefaults, map[string]any{},
			"restricted", map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"microphone"}}},
		{"empty configuration takes the default", withDefaults, map[string]any{"configuration": map[string]any{}},
			"restricted", map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"microphone"}}},
		{"given values win", withDefaults, map[string]any{"access_level": "public", "configuration": map[string]any{"everyone_can_mute": true}},
			"public", map[string]any{"everyone_can_mute": true}},
		{"given access level, default configuration", withDefaults, map[string]any{"access_level": "trusted"},
			"trusted", map[string]any{"everyone_can_mute": false, "can_publish_sources": []any{"microphone"}}},
		{"no defaults: the instance's", without, map[string]any{},
			"trusted", map[string]any{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["name"] = "prefs-" + uuid.NewString()[:8]
			res := tt.creator.Do(http.MethodPost, servicetest.Path("rooms"), tt.body)
			rtStatus(t, res, http.StatusCreated, "create room")
			room := res.JSON()
			if room["access_level"] != tt.wantLevel || !reflect.DeepEqual(room["configuration"], tt.wantConfig) {
				t.Errorf("room access level %v, configuration %v; want %v, %v", room["access_level"], room["configuration"], tt.wantLevel, tt.wantConfig)
			}
			got := tt.creator.Do(http.MethodGet, servicetest.Path("rooms", room["id"].(string)), nil)
			rtStatus(t, got, http.StatusOK, "retrieve room")
			if v := got.JSON(); v["access_level"] != tt.wantLevel || !reflect.DeepEqual(v["configuration"], tt.wantConfig) {
				t.Errorf("stored room access level %v, configuration %v; want %v, %v", v["access_level"], v["configuration"], tt.wantLevel, tt.wantConfig)
			}
		})
	}
}

// TestPreferencesSeenByEveryNode: a change made through one node shows at once through another
// node on the same Redis that had already seen (and cached) the user.
func TestPreferencesSeenByEveryNode(t *testing.T) {
	a := servicetest.StartNode(t, nil)
	b := servicetest.StartProcess(t, map[string]string{
		"LISTEN_ADDR": servicetest.FreeAddr(t), "CLUSTER_PORT": strconv.Itoa(servicetest.ReservePort(t)),
		"REDIS_URL": a.Env["REDIS_URL"], "OIDC_ISSUER": a.Env["OIDC_ISSUER"],
		"LIVEKIT_API_KEY": a.Env["LIVEKIT_API_KEY"], "LIVEKIT_API_SECRET": a.Env["LIVEKIT_API_SECRET"],
		"LIVEKIT_API_URL": a.Env["LIVEKIT_API_URL"], "SECRET_KEY": a.Env["SECRET_KEY"], "LOG_LEVEL": "warn",
	})
	c := upLogin(t, a, gwauth.Claims{Language: "en"})
	id := upMe(t, c)["id"].(string)
	onB := func() map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.URL+"/api/v1.0/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("users/me through the second node: %v", err)
		}
		defer res.Body.Close()
		var me map[string]any
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&me) != nil {
			t.Fatalf("users/me through the second node: status %d", res.StatusCode)
		}
		return me
	}
	if got := onB()["language"]; got != "en-us" {
		t.Fatalf("language through the second node = %v, want en-us", got)
	}

	change := map[string]any{"language": "nl-nl", "timezone": "Europe/Amsterdam", "default_room_access_level": "public"}
	rtStatus(t, c.Do(http.MethodPatch, servicetest.Path("users", id), change), http.StatusOK, "change preferences")
	me := onB()
	for k, v := range change {
		if me[k] != v {
			t.Errorf("%s through the second node = %v, want %v", k, me[k], v)
		}
	}
}
