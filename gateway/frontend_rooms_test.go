package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// The reference front end names a new room after the address it will open (frontend.md
// "Rooms"): POST rooms/ {name: "abc-defg-hij"}, then anyone opening /abc-defg-hij finds it.

// TestRoomSlugChosenByClient: the slug is the name slugified; it finds the room for everyone,
// whatever the case or accents of the address; a taken slug, a slug that reads as an id and an
// empty slug are refused on `name` and create nothing.
func TestRoomSlugChosenByClient(t *testing.T) {
	n := servicetest.StartNode(t, nil)
	alice, bob := n.NewUser("alice"), n.NewUser("bob")

	res := alice.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "abc-defg-hij"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id, _ := res.JSON()["id"].(string)
	if res.JSON()["slug"] != "abc-defg-hij" || res.JSON()["name"] != "abc-defg-hij" {
		t.Fatalf("created room %s, want slug and name abc-defg-hij", res.Body)
	}
	accented := alice.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Réunion d'équipe"})
	if accented.Status != http.StatusCreated || accented.JSON()["slug"] != "reunion-dequipe" || accented.JSON()["name"] != "Réunion d'équipe" {
		t.Fatalf("create with accents: %d %s, want slug reunion-dequipe", accented.Status, accented.Body)
	}
	accentedID, _ := accented.JSON()["id"].(string)

	for _, tc := range []struct{ segment, want string }{
		{"abc-defg-hij", id},
		{"ABC-Defg-HIJ", id},
		{"abc defg hij", id},
		{"Réunion-D'Équipe", accentedID},
		{"reunion-dequipe", accentedID},
	} {
		t.Run("another user opens "+tc.segment, func(t *testing.T) {
			res := bob.Do(http.MethodGet, "/api/v1.0/rooms/"+url.PathEscape(tc.segment)+"/", nil)
			if res.Status != http.StatusOK || res.JSON()["id"] != tc.want {
				t.Fatalf("GET rooms/%s/: %d %s, want room %s", tc.segment, res.Status, res.Body, tc.want)
			}
		})
	}

	refused := []struct{ why, name string }{
		{"taken slug", "abc-defg-hij"},
		{"taken slug, written differently", "  ABC Defg--hij_ "},
		{"a room id", uuid.NewString()},
		{"a room id in capitals without hyphens", strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))},
		{"no letters or digits", "!!! ???"},
		{"nothing ASCII", "会议"},
		{"address too long", strings.Repeat("a", 101)},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.why, func(t *testing.T) {
			res := bob.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": tc.name})
			if res.Status != http.StatusBadRequest {
				t.Fatalf("create %q: %d %s, want 400", tc.name, res.Status, res.Body)
			}
			if msgs, _ := res.JSON()["name"].([]any); len(msgs) == 0 {
				t.Fatalf("create %q: no error on name in %s", tc.name, res.Body)
			}
		})
	}
	t.Run("refused creations made no room", func(t *testing.T) {
		if res := bob.Do(http.MethodGet, servicetest.Path("rooms"), nil); res.Status != http.StatusOK || res.JSON()["count"] != float64(0) {
			t.Fatalf("bob's rooms: %d %s, want none", res.Status, res.Body)
		}
	})

	t.Run("concurrent creations of one slug: exactly one wins", func(t *testing.T) {
		const racers = 6
		users := make([]servicetest.User, racers)
		for i := range users {
			users[i] = n.NewUser("racer")
		}
		statuses := make([]int, racers)
		var wg sync.WaitGroup
		for i := range users {
			wg.Go(func() {
				statuses[i] = users[i].Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "Race Room"}).Status
			})
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusBadRequest:
			default:
				t.Errorf("status %d, want 201 or 400", s)
			}
		}
		if created != 1 {
			t.Fatalf("statuses %v: %d creations succeeded, want exactly 1", statuses, created)
		}
		if res := bob.Do(http.MethodGet, servicetest.Path("rooms", "race-room"), nil); res.Status != http.StatusOK {
			t.Fatalf("GET rooms/race-room/: %d %s", res.Status, res.Body)
		}
	})

	t.Run("a deleted room's slug is free again", func(t *testing.T) {
		if res := alice.Do(http.MethodDelete, servicetest.Path("rooms", id), nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		res := bob.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": "abc-defg-hij"})
		if res.Status != http.StatusCreated || res.JSON()["id"] == id {
			t.Fatalf("create after delete: %d %s, want a new room", res.Status, res.Body)
		}
	})
}

// TestRoomCreateUsername: POST rooms/?username= puts that name in the creator's LiveKit token,
// where the reference product lets users choose their display name; otherwise the token carries
// the user's full name, as everywhere else. An empty ?username= (what the reference front end
// sends when the person chose no name) means the full name too.
func TestRoomCreateUsername(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		username string
		wantName string
	}{
		{"names editable", map[string]string{"AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "true"}, "Jeanne & Co", "Jeanne & Co"},
		{"names not editable", nil, "Jeanne & Co", "User alice"},
		{"names editable, none chosen", map[string]string{"AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "true"}, "", "User alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := servicetest.StartNode(t, tc.env)
			alice := n.NewUser("alice")
			res := alice.Do(http.MethodPost, servicetest.Path("rooms")+"?username="+url.QueryEscape(tc.username), map[string]any{"name": "standup"})
			if res.Status != http.StatusCreated {
				t.Fatalf("create: %d %s", res.Status, res.Body)
			}
			lk, _ := res.JSON()["livekit"].(map[string]any)
			token, _ := lk["token"].(string)
			if lk["room"] != res.JSON()["id"] || token == "" || lk["url"] == nil {
				t.Fatalf("creation answer has no LiveKit config for the room: %s", res.Body)
			}
			if got := lobbyClaims(t, n, token).Name; got != tc.wantName {
				t.Errorf("name in the creator's token = %q, want %q", got, tc.wantName)
			}
		})
	}
}

// TestMuteByParticipantByDefault: in a room created without configuration, a LiveKit participant
// of the room (no role, token only) mutes another; once everyone_can_mute is false it gets a 403
// and nothing is muted.
func TestMuteByParticipantByDefault(t *testing.T) {
	e := modStart(t)
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	peers := e.joinAnonymous(t, roomID, true, "MutedByDefault", "KeptUnmuted")
	mutedByDefault, keptUnmuted := peers[0], peers[1]
	participant := e.n.Client(e.liveKitToken(t, e.n.Client(""), roomID, "Muter"))
	mute := func(p *modPeer) servicetest.Response {
		return modPost(participant, roomID, "mute-participant", map[string]any{"participant_identity": p.identity, "track_sid": p.trackSID})
	}

	modSuccess(t, mute(mutedByDefault), "mute by a participant, everyone_can_mute absent")
	servicetest.Eventually(t, modWithin, "track muted by a participant", func() bool {
		return e.trackMuted(t, roomID, mutedByDefault.identity, mutedByDefault.trackSID)
	})

	modStatus(t, owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"configuration": map[string]any{"everyone_can_mute": false}}),
		http.StatusOK, "disable everyone_can_mute")
	modStatus(t, mute(keptUnmuted), http.StatusForbidden, "mute by a participant, everyone_can_mute false")
	if e.trackMuted(t, roomID, keptUnmuted.identity, keptUnmuted.trackSID) {
		t.Error("track muted by a refused call")
	}
}

// TestConfigForReferenceFrontEnd: GET config/ holds what the reference front end reads
// (frontend.md "GET config/"), with the reference's defaults and with the variables set.
func TestConfigForReferenceFrontEnd(t *testing.T) {
	get := func(t *testing.T, n *servicetest.Node) map[string]any {
		t.Helper()
		res := n.Client("").Do(http.MethodGet, servicetest.Path("config"), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("config: %d %s", res.Status, res.Body)
		}
		return res.JSON()
	}
	t.Run("defaults", func(t *testing.T) {
		cfg := get(t, servicetest.StartNode(t, nil))
		want := map[string]any{
			"LANGUAGE_CODE": "en-us", "is_silent_login_enabled": true, "silence_livekit_debug_logs": false,
			"max_participants_for_sound": float64(5), "auto_mute_on_join_threshold": float64(50),
			"use_french_gov_footer": false, "use_proconnect_button": false,
			"custom_css_url": nil, "idle_disconnect_warning_delay": nil, "documentation_url": nil,
			"external_home_url": nil, "manifest_link": nil, "transcription_destination": nil,
		}
		for key, w := range want {
			if got, ok := cfg[key]; !ok || got != w {
				t.Errorf("%s = %#v (present %v), want %#v", key, got, ok, w)
			}
		}
		for _, key := range []string{"analytics", "support", "feedback"} {
			if obj, ok := cfg[key].(map[string]any); !ok || len(obj) != 0 {
				t.Errorf("%s = %#v, want {}", key, cfg[key])
			}
		}
		if tel, _ := cfg["telephony"].(map[string]any); len(tel) != 1 || tel["enabled"] != false {
			t.Errorf("telephony = %v, want {enabled: false}", cfg["telephony"])
		}
		if d, _ := cfg["diagnostics"].(map[string]any); d["connection_test_enabled"] != false {
			t.Errorf("diagnostics = %v", cfg["diagnostics"])
		}
		if b, _ := cfg["background_image"].(map[string]any); b["upload_is_enabled"] != false {
			t.Errorf("background_image = %v", cfg["background_image"])
		}
	})
	t.Run("set", func(t *testing.T) {
		cfg := get(t, servicetest.StartNode(t, map[string]string{
			"LANGUAGE_CODE":                        "fr-fr",
			"ROOM_TELEPHONY_ENABLED":               "true",
			"ROOM_TELEPHONY_PHONE_NUMBER":          "+33100000000",
			"RECORDING_EXPIRATION_DAYS":            "30",
			"FRONTEND_FEEDBACK":                    `{"url": "https://feedback.example.org"}`,
			"FRONTEND_IS_SILENT_LOGIN_ENABLED":     "false",
			"FRONTEND_MAX_PARTICIPANTS_FOR_SOUND":  "3",
			"FRONTEND_AUTO_MUTE_ON_JOIN_THRESHOLD": "10",
			"FRONTEND_DOCUMENTATION_URL":           "https://docs.example.org",
		}))
		tel, _ := cfg["telephony"].(map[string]any)
		if tel["enabled"] != true || tel["international_phone_number"] != "+33 1 00 00 00 00" || tel["default_country"] != "FR" {
			t.Errorf("telephony = %v, want enabled with +33 1 00 00 00 00 in FR", cfg["telephony"])
		}
		if _, ok := tel["phone_number"]; ok {
			t.Errorf("telephony has phone_number: %v", tel)
		}
		if rec, _ := cfg["recording"].(map[string]any); rec["expiration_days"] != float64(30) {
			t.Errorf("recording = %v, want expiration_days 30", cfg["recording"])
		}
		if fb, _ := cfg["feedback"].(map[string]any); fb["url"] != "https://feedback.example.org" {
			t.Errorf("feedback = %v", cfg["feedback"])
		}
		for key, w := range map[string]any{"LANGUAGE_CODE": "fr-fr", "is_silent_login_enabled": false, "max_participants_for_sound": float64(3),
			"auto_mute_on_join_threshold": float64(10), "documentation_url": "https://docs.example.org"} {
			if cfg[key] != w {
				t.Errorf("%s = %#v, want %#v", key, cfg[key], w)
			}
		}
	})
}
