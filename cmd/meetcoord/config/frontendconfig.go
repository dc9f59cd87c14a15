package config

import (
	"fmt"
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// FrontendSettings are the FRONTEND_* variables: what the reference product passes through to
// its front end in GET config/, with the reference's names, types and defaults. nil pointers
// are the reference's None (JSON null).
type FrontendSettings struct {
	CustomCSSURL               *string
	Analytics                  map[string]any
	Support                    map[string]any
	Feedback                   map[string]any
	SilenceLiveKitDebugLogs    bool
	SilentLoginEnabled         bool
	IdleDisconnectWarningDelay *int // seconds; nil: the front end never disconnects idle users
	DocumentationURL           *string
	ExternalHomeURL            *string
	UseFrenchGovFooter         bool
	UseProConnectButton        bool
	ManifestLink               *string
	TranscriptionDestination   *string
	MaxParticipantsForSound    int
	AutoMuteOnJoinThreshold    int
}

func loadFrontend(e *env) FrontendSettings {
	return FrontendSettings{
		CustomCSSURL:               e.optionalStr("FRONTEND_CUSTOM_CSS_URL"),
		Analytics:                  e.object("FRONTEND_ANALYTICS", "{}"),
		Support:                    e.object("FRONTEND_SUPPORT", "{}"),
		Feedback:                   e.object("FRONTEND_FEEDBACK", "{}"),
		SilenceLiveKitDebugLogs:    e.boolean("FRONTEND_SILENCE_LIVEKIT_DEBUG", false),
		SilentLoginEnabled:         e.boolean("FRONTEND_IS_SILENT_LOGIN_ENABLED", true),
		IdleDisconnectWarningDelay: e.optionalInteger("FRONTEND_IDLE_DISCONNECT_WARNING_DELAY"),
		DocumentationURL:           e.optionalStr("FRONTEND_DOCUMENTATION_URL"),
		ExternalHomeURL:            e.optionalStr("FRONTEND_EXTERNAL_HOME_URL"),
		UseFrenchGovFooter:         e.boolean("FRONTEND_USE_FRENCH_GOV_FOOTER", false),
		UseProConnectButton:        e.boolean("FRONTEND_USE_PROCONNECT_BUTTON", false),
		ManifestLink:               e.optionalStr("FRONTEND_MANIFEST_LINK"),
		TranscriptionDestination:   e.optionalStr("FRONTEND_TRANSCRIPTION_DESTINATION"),
		MaxParticipantsForSound:    e.integer("FRONTEND_MAX_PARTICIPANTS_FOR_SOUND", 5),
		AutoMuteOnJoinThreshold:    e.integer("FRONTEND_AUTO_MUTE_ON_JOIN_THRESHOLD", 50),
	}
}

// DialIn is the dial-in number as the front end shows it.
type DialIn struct {
	International string // e.g. "+33 1 00 00 00 00"
	Country       string // the number's region, e.g. "FR"
}

// dialIn formats ROOM_TELEPHONY_PHONE_NUMBER (read in ROOM_TELEPHONY_DEFAULT_COUNTRY when it has
// no country code). Without telephony or a number there is nothing to show; a number that does
// not parse is a configuration error, so that a wrong number is found at start-up rather than
// by the people trying to call it.
func dialIn(e *env, c Config) *DialIn {
	if !c.TelephonyEnabled || c.TelephonyPhoneNumber == "" {
		return nil
	}
	number, err := phonenumbers.Parse(c.TelephonyPhoneNumber, c.TelephonyDefaultCountry)
	if err != nil {
		e.fail("ROOM_TELEPHONY_PHONE_NUMBER", fmt.Sprintf("%q is not a phone number (read with ROOM_TELEPHONY_DEFAULT_COUNTRY %q): %v",
			c.TelephonyPhoneNumber, c.TelephonyDefaultCountry, err))
		return nil
	}
	return &DialIn{
		International: phonenumbers.Format(number, phonenumbers.INTERNATIONAL),
		Country:       phonenumbers.GetRegionCodeForNumber(number),
	}
}

// optionalStr reads a variable whose absence is meaningful (the reference's None).
func (e *env) optionalStr(name string) *string {
	if v := e.str(name, ""); v != "" {
		return &v
	}
	return nil
}

// optionalInteger reads a non-negative integer whose absence is meaningful.
func (e *env) optionalInteger(name string) *int {
	v := e.str(name, "")
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.fail(name, fmt.Sprintf("%q is not a non-negative integer", v))
		return nil
	}
	return &n
}
