package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	// Time zones are validated against the database built into the binary, so that every node
	// accepts the same names whatever its image holds in /usr/share/zoneinfo.
	_ "time/tzdata"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// A user's preferences (frontend.md "Users"), stored by name beside the user's record (see
// Users.UserPreferences). Each request that needs them reads them from the store: no node keeps
// a copy that another node's change would leave stale.
const (
	prefTimezone             = "timezone"
	prefLanguage             = "language"
	prefDefaultAccessLevel   = "default_room_access_level"
	prefDefaultConfiguration = "default_room_configuration" // a messages.RoomConfiguration
)

// defaultTimezone is a user's time zone until they set one (the reference's TIME_ZONE).
const defaultTimezone = "UTC"

// userPreferences are a user's preferences, defaults filled in.
type userPreferences struct {
	Timezone string
	Language string // one of Config.LanguageCodes
	// DefaultAccessLevel is the access level of the rooms the user creates without one; "":
	// none chosen (RESOURCE_DEFAULT_ACCESS_LEVEL).
	DefaultAccessLevel string
	// DefaultConfiguration is the configuration of the rooms the user creates without one;
	// never nil (empty: none chosen).
	DefaultConfiguration *messages.RoomConfiguration
}

// languageOfLocale maps an OIDC locale claim ("fr", "fr-FR", "fr_FR", "fr-CA") to one of the
// front end's languages: the same code, else the first with the same language, else
// LANGUAGE_CODE.
func (c Config) languageOfLocale(locale string) string {
	tag := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if slices.Contains(c.LanguageCodes, tag) {
		return tag
	}
	base, _, _ := strings.Cut(tag, "-")
	for _, code := range c.LanguageCodes {
		if codeBase, _, _ := strings.Cut(code, "-"); base != "" && codeBase == base {
			return code
		}
	}
	return c.LanguageCode
}

// preferencesOf reads a user's preferences. A stored language that is no longer offered
// (LANGUAGE_CODE's list changed) counts as not chosen.
func (g *Gateway) preferencesOf(ctx context.Context, userID string) (userPreferences, error) {
	stored, err := g.cfg.Users.UserPreferences(ctx, userID)
	if err != nil {
		return userPreferences{}, err
	}
	prefs := userPreferences{Timezone: defaultTimezone, Language: g.cfg.LanguageCode,
		DefaultConfiguration: &messages.RoomConfiguration{}}
	if tz := stored[prefTimezone]; tz != "" {
		prefs.Timezone = tz
	}
	if lang := stored[prefLanguage]; slices.Contains(g.cfg.LanguageCodes, lang) {
		prefs.Language = lang
	}
	if _, ok := messages.ParseAccessLevel(stored[prefDefaultAccessLevel]); ok {
		prefs.DefaultAccessLevel = stored[prefDefaultAccessLevel]
	}
	if raw := stored[prefDefaultConfiguration]; raw != "" {
		cfg := &messages.RoomConfiguration{}
		if err := proto.Unmarshal([]byte(raw), cfg); err != nil {
			return userPreferences{}, fmt.Errorf("decode default room configuration of user %s: %w", userID, err)
		}
		prefs.DefaultConfiguration = cfg
	}
	return prefs, nil
}

// preferenceChanges validates the preferences in a PUT or PATCH of users/{id}/ and returns them
// as stored; read-only and unknown fields are ignored, as the reference does. PUT requires the
// time zone, as the reference does (the other preferences have defaults there).
func (g *Gateway) preferenceChanges(fields map[string]json.RawMessage, put bool, errs fieldErrors) map[string]string {
	changes := map[string]string{}
	if raw, present := fields[prefTimezone]; present {
		if tz, ok := notNullString(prefTimezone, raw, errs); ok {
			if validTimezone(tz) {
				changes[prefTimezone] = tz
			} else {
				errs.add(prefTimezone, "A valid timezone is required.")
			}
		}
	} else if put {
		errs.add(prefTimezone, fieldRequired)
	}
	if raw, present := fields[prefLanguage]; present {
		if lang, ok := notNullString(prefLanguage, raw, errs); ok {
			if slices.Contains(g.cfg.LanguageCodes, lang) {
				changes[prefLanguage] = lang
			} else {
				errs.add(prefLanguage, fmt.Sprintf("%q is not a valid choice.", lang))
			}
		}
	}
	if raw, present := fields[prefDefaultAccessLevel]; present {
		// null and "" both clear it (the reference's field is nullable and may be blank).
		var level *string
		err := json.Unmarshal(raw, &level)
		_, known := messages.ParseAccessLevel(ptrValue(level))
		switch {
		case err != nil:
			errs.add(prefDefaultAccessLevel, fieldNotString)
		case level == nil || *level == "" || known:
			changes[prefDefaultAccessLevel] = ptrValue(level)
		default:
			errs.add(prefDefaultAccessLevel, fmt.Sprintf("%q is not a valid choice.", *level))
		}
	}
	if raw, present := fields[prefDefaultConfiguration]; present {
		if string(raw) == "null" {
			errs.add(prefDefaultConfiguration, fieldNull)
		} else if cfg := g.roomConfiguration(prefDefaultConfiguration, raw, errs); cfg != nil {
			b, err := proto.Marshal(cfg)
			if err != nil {
				errs.add(prefDefaultConfiguration, "Not a valid configuration.")
			} else {
				changes[prefDefaultConfiguration] = string(b)
			}
		}
	}
	return changes
}

func ptrValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// notNullString reads a string field that may not be null.
func notNullString(name string, raw json.RawMessage, errs fieldErrors) (string, bool) {
	var s *string
	switch err := json.Unmarshal(raw, &s); {
	case err != nil:
		errs.add(name, fieldNotString)
	case s == nil:
		errs.add(name, fieldNull)
	default:
		return *s, true
	}
	return "", false
}

// validTimezone reports whether name is an IANA time zone name. time.LoadLocation also takes
// "" and "Local" (the machine's zone), which are not names a user can choose.
func validTimezone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// newRoomSettings are the access level and configuration of a room created with fields: those
// given, else the creator's defaults, else (access level) RESOURCE_DEFAULT_ACCESS_LEVEL. An
// empty configuration counts as none, as in the reference.
func (g *Gateway) newRoomSettings(r *http.Request, u *userRecord, fields map[string]json.RawMessage, errs fieldErrors) (messages.AccessLevel, *messages.RoomConfiguration, error) {
	level, _ := messages.ParseAccessLevel(g.cfg.DefaultAccessLevel)
	cfg := g.configurationField(fields, errs)
	rawLevel, levelGiven := fields["access_level"]
	levelGiven = levelGiven && string(rawLevel) != "null" // null counts as absent (accessLevelField)
	configurationGiven := cfg == nil || proto.Size(cfg) > 0
	if !levelGiven || !configurationGiven {
		prefs, err := g.preferencesOf(r.Context(), u.ID)
		if err != nil {
			return messages.AccessLevel_ACCESS_LEVEL_UNSPECIFIED, nil, storeFailure("read preferences of user", err)
		}
		if prefs.DefaultAccessLevel != "" {
			level, _ = messages.ParseAccessLevel(prefs.DefaultAccessLevel)
		}
		if !configurationGiven {
			cfg = prefs.DefaultConfiguration
		}
	}
	return g.accessLevelField(fields, errs, level), cfg, nil
}

// selfJSON is a user as users/me and users/{id}/ show them to themselves.
type selfJSON struct {
	userJSON
	Timezone                 string         `json:"timezone"`
	Language                 string         `json:"language"`
	DefaultRoomAccessLevel   *string        `json:"default_room_access_level"`
	DefaultRoomConfiguration map[string]any `json:"default_room_configuration"`
}

func selfView(u *userRecord, prefs userPreferences) selfJSON {
	out := selfJSON{
		userJSON: userJSON{ID: u.ID, Email: u.Email, FullName: u.FullName, ShortName: u.ShortName},
		Timezone: prefs.Timezone, Language: prefs.Language,
		DefaultRoomConfiguration: messages.ConfigurationView(prefs.DefaultConfiguration),
	}
	if prefs.DefaultAccessLevel != "" {
		out.DefaultRoomAccessLevel = &prefs.DefaultAccessLevel
	}
	return out
}
