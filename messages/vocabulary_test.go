package messages

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
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

	roles := map[Role]string{
		Role_ROLE_MEMBER:        "member",
		Role_ROLE_ADMINISTRATOR: "administrator",
		Role_ROLE_OWNER:         "owner",
	}
	for value := range Role_name {
		role := Role(value)
		name := RoleName(role)
		if role == Role_ROLE_UNSPECIFIED {
			if name != "" {
				t.Errorf("UNSPECIFIED is named %q", name)
			}
			continue
		}
		if name != roles[role] {
			t.Errorf("%v is named %q, want %q", role, name, roles[role])
		}
		if back, ok := ParseRole(name); !ok || back != role {
			t.Errorf("%q parses to %v, %v; want %v", name, back, ok, role)
		}
	}

	recordingStatuses := map[RecordingStatus]string{
		RecordingStatus_RECORDING_STATUS_INITIATED:              "initiated",
		RecordingStatus_RECORDING_STATUS_ACTIVE:                 "active",
		RecordingStatus_RECORDING_STATUS_STOPPED:                "stopped",
		RecordingStatus_RECORDING_STATUS_SAVED:                  "saved",
		RecordingStatus_RECORDING_STATUS_ABORTED:                "aborted",
		RecordingStatus_RECORDING_STATUS_FAILED_TO_START:        "failed_to_start",
		RecordingStatus_RECORDING_STATUS_FAILED_TO_STOP:         "failed_to_stop",
		RecordingStatus_RECORDING_STATUS_NOTIFICATION_SUCCEEDED: "notification_succeeded",
	}
	for value := range RecordingStatus_name {
		status := RecordingStatus(value)
		name := RecordingStatusName(status)
		if status == RecordingStatus_RECORDING_STATUS_UNSPECIFIED {
			if name != "" {
				t.Errorf("UNSPECIFIED is named %q", name)
			}
			continue
		}
		if name != recordingStatuses[status] {
			t.Errorf("%v is named %q, want %q", status, name, recordingStatuses[status])
		}
		if back, ok := ParseRecordingStatus(name); !ok || back != status {
			t.Errorf("%q parses to %v, %v; want %v", name, back, ok, status)
		}
	}

	for _, unknown := range []string{"", "Public", "private", "ACCESS_LEVEL_PUBLIC"} {
		if _, ok := ParseAccessLevel(unknown); ok {
			t.Errorf("access level %q parses", unknown)
		}
	}
	if _, ok := ParseRecordingStatus("RECORDING_STATUS_SAVED"); ok {
		t.Error("the enum's own name parses as a recording status")
	}
}

// TestRecordingStatusFields: a recording stored before the enum field (its status by name only)
// reads as that status; a status set now is written both ways, so a node of the previous
// version reads it.
func TestRecordingStatusFields(t *testing.T) {
	old := &Recording{Id: "r", Status: "saved"}
	if got := old.CurrentStatus(); got != RecordingStatus_RECORDING_STATUS_SAVED {
		t.Fatalf("pre-enum recording: %v, want SAVED", got)
	}
	rec := &Recording{Id: "r"}
	rec.SetStatus(RecordingStatus_RECORDING_STATUS_ACTIVE)
	raw, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	back := &Recording{}
	if err := proto.Unmarshal(raw, back); err != nil {
		t.Fatal(err)
	}
	if back.GetStatus() != "active" || back.GetRecordingStatus() != RecordingStatus_RECORDING_STATUS_ACTIVE {
		t.Fatalf("stored as %q / %v, want active both ways", back.GetStatus(), back.GetRecordingStatus())
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
