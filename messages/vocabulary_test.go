package messages

import (
	"fmt"
	"testing"
)

// TestVocabularyNames: every value of each enum the API names has one name that parses back to
// it, UNSPECIFIED has none, and the names are the API's (a renamed one would change the wire).
func TestVocabularyNames(t *testing.T) {
	accessLevels := map[AccessLevel]string{
		AccessLevel_ACCESS_LEVEL_PUBLIC:     "public",
		AccessLevel_ACCESS_LEVEL_TRUSTED:    "trusted",
		AccessLevel_ACCESS_LEVEL_RESTRICTED: "restricted",
	}
	for value := range AccessLevel_name {
		level := AccessLevel(value)
		name := AccessLevelName(level)
		if level == AccessLevel_ACCESS_LEVEL_UNSPECIFIED {
			if name != "" {
				t.Errorf("UNSPECIFIED is named %q", name)
			}
			continue
		}
		if name != accessLevels[level] {
			t.Errorf("%v is named %q, want %q", level, name, accessLevels[level])
		}
		if back, ok := ParseAccessLevel(name); !ok || back != level {
			t.Errorf("%q parses to %v, %v; want %v", name, back, ok, level)
		}
	}

	for _, unknown := range []string{"", "Public", "private", "ACCESS_LEVEL_PUBLIC"} {
		if _, ok := ParseAccessLevel(unknown); ok {
			t.Errorf("access level %q parses", unknown)
		}
	}
}

// TestConfigurationView: only the settings that are set appear; an absent configuration is {}.
func TestConfigurationView(t *testing.T) {
	mute := false
	tests := []struct {
		name string
		in   *RoomConfiguration
		want string
	}{
		{"absent", nil, `map[]`},
		{"empty", &RoomConfiguration{}, `map[]`},
		{"empty source list", &RoomConfiguration{CanPublishSources: &SourceList{}}, `map[can_publish_sources:[]]`},
		{"both", &RoomConfiguration{CanPublishSources: &SourceList{Sources: []string{"camera"}}, EveryoneCanMute: &mute},
			`map[can_publish_sources:[camera] everyone_can_mute:false]`},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(ConfigurationView(tt.in)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
