package service

import (
	"encoding/json"
	"reflect"
	"testing"

	"meetcoord/cmd/meetcoord/config"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestFrontendConfig: GET config/ as the reference front end reads it, from the defaults and
// from the variables that change it.
func TestFrontendConfig(t *testing.T) {
	load := func(t *testing.T, env map[string]string) map[string]any {
		t.Helper()
		c, err := config.Load(envOf(env), true)
		if err != nil {
			t.Fatal(err)
		}
		// Through JSON, as the front end gets it.
		b, err := json.Marshal(frontendConfig(c))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(t *testing.T, got map[string]any, want map[string]any) {
		t.Helper()
		for key, w := range want {
			if g, ok := got[key]; !ok || !reflect.DeepEqual(g, w) {
				t.Errorf("%s = %#v (present %v), want %#v", key, g, ok, w)
			}
		}
	}
	t.Run("defaults", func(t *testing.T) {
		got := load(t, map[string]string{})
		check(t, got, map[string]any{
			"LANGUAGE_CODE":                 "en-us",
			"telephony":                     map[string]any{"enabled": false},
			"diagnostics":                   map[string]any{"connection_test_enabled": false},
			"background_image":              map[string]any{"upload_is_enabled": false},
			"custom_css_url":                nil,
			"analytics":                     map[string]any{},
			"support":                       map[string]any{},
			"feedback":                      map[string]any{},
			"silence_livekit_debug_logs":    false,
			"is_silent_login_enabled":       true,
			"idle_disconnect_warning_delay": nil,
			"documentation_url":             nil,
			"external_home_url":             nil,
			"use_french_gov_footer":         false,
			"use_proconnect_button":         false,
			"manifest_link":                 nil,
			"transcription_destination":     nil,
			"max_participants_for_sound":    float64(5),
			"auto_mute_on_join_threshold":   float64(50),
		})
		rec, _ := got["recording"].(map[string]any)
		if v, ok := rec["expiration_days"]; !ok || v != nil {
			t.Errorf("recording.expiration_days = %v (present %v), want null", v, ok)
		}
		if v, ok := rec["max_duration"]; !ok || v != nil {
			t.Errorf("recording.max_duration = %v (present %v), want null", v, ok)
		}
	})
	t.Run("set", func(t *testing.T) {
		got := load(t, map[string]string{
			"LANGUAGE_CODE":                          "fr-fr",
			"ROOM_TELEPHONY_ENABLED":                 "true",
			"ROOM_TELEPHONY_PHONE_NUMBER":            "01 00 00 00 00",
			"ROOM_TELEPHONY_DEFAULT_COUNTRY":         "FR",
			"RECORDING_EXPIRATION_DAYS":              "7",
			"RECORDING_MAX_DURATION":                 "3600000",
			"FRONTEND_CUSTOM_CSS_URL":                "/custom.css",
			"FRONTEND_ANALYTICS":                     `{"id": "phc_1", "host": "https://eu.posthog.com"}`,
			"FRONTEND_SUPPORT":                       `{"id": "crisp-1"}`,
			"FRONTEND_FEEDBACK":                      `{"url": "https://feedback.example.org"}`,
			"FRONTEND_SILENCE_LIVEKIT_DEBUG":         "true",
			"FRONTEND_IS_SILENT_LOGIN_ENABLED":       "false",
			"FRONTEND_IDLE_DISCONNECT_WARNING_DELAY": "120",
			"FRONTEND_DOCUMENTATION_URL":             "https://docs.example.org",
			"FRONTEND_EXTERNAL_HOME_URL":             "https://example.org",
			"FRONTEND_USE_FRENCH_GOV_FOOTER":         "true",
			"FRONTEND_USE_PROCONNECT_BUTTON":         "true",
			"FRONTEND_MANIFEST_LINK":                 "/manifest.webmanifest",
			"FRONTEND_TRANSCRIPTION_DESTINATION":     "https://docs.example.org/transcripts",
			"FRONTEND_MAX_PARTICIPANTS_FOR_SOUND":    "8",
			"FRONTEND_AUTO_MUTE_ON_JOIN_THRESHOLD":   "20",
		})
		check(t, got, map[string]any{
			"LANGUAGE_CODE":                 "fr-fr",
			"telephony":                     map[string]any{"enabled": true, "default_country": "FR", "international_phone_number": "+33 1 00 00 00 00"},
			"recording":                     map[string]any{"is_enabled": false, "available_modes": []any{}, "expiration_days": float64(7), "max_duration": float64(3600000)},
			"custom_css_url":                "/custom.css",
			"analytics":                     map[string]any{"id": "phc_1", "host": "https://eu.posthog.com"},
			"support":                       map[string]any{"id": "crisp-1"},
			"feedback":                      map[string]any{"url": "https://feedback.example.org"},
			"silence_livekit_debug_logs":    true,
			"is_silent_login_enabled":       false,
			"idle_disconnect_warning_delay": float64(120),
			"documentation_url":             "https://docs.example.org",
			"external_home_url":             "https://example.org",
			"use_french_gov_footer":         true,
			"use_proconnect_button":         true,
			"manifest_link":                 "/manifest.webmanifest",
			"transcription_destination":     "https://docs.example.org/transcripts",
			"max_participants_for_sound":    float64(8),
			"auto_mute_on_join_threshold":   float64(20),
		})
		if _, ok := got["telephony"].(map[string]any)["phone_number"]; ok {
			t.Error("telephony has phone_number; the front end reads international_phone_number")
		}
	})
	t.Run("telephony on without a number shows none", func(t *testing.T) {
		check(t, load(t, map[string]string{"ROOM_TELEPHONY_ENABLED": "true"}), map[string]any{"telephony": map[string]any{"enabled": false}})
	})
}
