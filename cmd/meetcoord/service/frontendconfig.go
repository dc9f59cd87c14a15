package service

import "meetcoord/cmd/meetcoord/config"

// frontendConfig is GET config/ (api.md, frontend.md): what the reference front end reads, with
// the types its ApiConfig declares.
func frontendConfig(cfg config.Config) map[string]any {
	modes := []string{}
	if cfg.RecordingEnabled {
		modes = []string{"screen_recording", "transcript"}
	}
	telephony := map[string]any{"enabled": false}
	if d := cfg.DialIn; d != nil {
		telephony = map[string]any{"enabled": true, "default_country": d.Country, "international_phone_number": d.International}
	}
	f := cfg.Frontend
	return map[string]any{
		"LANGUAGE_CODE": cfg.LanguageCode,
		"recording": map[string]any{
			"is_enabled": cfg.RecordingEnabled, "available_modes": modes,
			"expiration_days": zeroAsNull(cfg.RecordingExpirationDays), "max_duration": zeroAsNull(cfg.RecordingMaxDuration),
		},
		"telephony":        telephony,
		"subtitle":         map[string]any{"enabled": cfg.SubtitleEnabled},
		"diagnostics":      map[string]any{"connection_test_enabled": false},
		"background_image": map[string]any{"upload_is_enabled": false},
		"livekit": map[string]any{
			"url": cfg.LiveKitPublicURL, "force_wss_protocol": false,
			"enable_firefox_proxy_workaround": false, "default_sources": cfg.LiveKitDefaultSources,
		},
		"resource": map[string]any{"default_access_level": cfg.DefaultAccessLevel},
		"authenticated_users_can_edit_display_name": cfg.CanEditDisplayName,

		"custom_css_url":                f.CustomCSSURL,
		"analytics":                     f.Analytics,
		"support":                       f.Support,
		"feedback":                      f.Feedback,
		"silence_livekit_debug_logs":    f.SilenceLiveKitDebugLogs,
		"is_silent_login_enabled":       f.SilentLoginEnabled,
		"idle_disconnect_warning_delay": f.IdleDisconnectWarningDelay,
		"documentation_url":             f.DocumentationURL,
		"external_home_url":             f.ExternalHomeURL,
		"use_french_gov_footer":         f.UseFrenchGovFooter,
		"use_proconnect_button":         f.UseProConnectButton,
		"manifest_link":                 f.ManifestLink,
		"transcription_destination":     f.TranscriptionDestination,
		"max_participants_for_sound":    f.MaxParticipantsForSound,
		"auto_mute_on_join_threshold":   f.AutoMuteOnJoinThreshold,
	}
}

// zeroAsNull: settings whose 0 means "unset" are null in GET config/.
func zeroAsNull(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}
