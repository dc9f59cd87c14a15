package messages

// The API's names of the enums that cross the wire, each written once: the gateway renders and
// parses them, the room actor writes them into LiveKit's room metadata, and the configuration
// checks its defaults against them.

var accessLevelNames = map[AccessLevel]string{
	AccessLevel_ACCESS_LEVEL_PUBLIC:     "public",
	AccessLevel_ACCESS_LEVEL_TRUSTED:    "trusted",
	AccessLevel_ACCESS_LEVEL_RESTRICTED: "restricted",
}

var roleNames = map[Role]string{
	Role_ROLE_MEMBER:        "member",
	Role_ROLE_ADMINISTRATOR: "administrator",
	Role_ROLE_OWNER:         "owner",
}

var recordingStatusNames = map[RecordingStatus]string{
	RecordingStatus_RECORDING_STATUS_INITIATED:              "initiated",
	RecordingStatus_RECORDING_STATUS_ACTIVE:                 "active",
	RecordingStatus_RECORDING_STATUS_STOPPED:                "stopped",
	RecordingStatus_RECORDING_STATUS_SAVED:                  "saved",
	RecordingStatus_RECORDING_STATUS_ABORTED:                "aborted",
	RecordingStatus_RECORDING_STATUS_FAILED_TO_START:        "failed_to_start",
	RecordingStatus_RECORDING_STATUS_FAILED_TO_STOP:         "failed_to_stop",
	RecordingStatus_RECORDING_STATUS_NOTIFICATION_SUCCEEDED: "notification_succeeded",
}

var (
	accessLevelsByName    = invert(accessLevelNames)
	rolesByName           = invert(roleNames)
	recordingStatusByName = invert(recordingStatusNames)
)

// AccessLevelName is the API's name of an access level; "" for UNSPECIFIED.
func AccessLevelName(l AccessLevel) string { return accessLevelNames[l] }

// ParseAccessLevel is the access level the API names name; false when it names none.
func ParseAccessLevel(name string) (AccessLevel, bool) {
	l, ok := accessLevelsByName[name]
	return l, ok
}

// RoleName is the API's name of a role; "" for UNSPECIFIED.
func RoleName(r Role) string { return roleNames[r] }

// ParseRole is the role the API names name; false when it names none.
func ParseRole(name string) (Role, bool) {
	r, ok := rolesByName[name]
	return r, ok
}

// RecordingStatusName is the API's name of a recording status; "" for UNSPECIFIED.
func RecordingStatusName(s RecordingStatus) string { return recordingStatusNames[s] }

// ParseRecordingStatus is the recording status the API names name; false when it names none.
func ParseRecordingStatus(name string) (RecordingStatus, bool) {
	s, ok := recordingStatusByName[name]
	return s, ok
}

// CurrentStatus is the recording's status, read from the name alone in recordings stored before
// the enum field existed.
func (x *Recording) CurrentStatus() RecordingStatus {
	if s := x.GetRecordingStatus(); s != RecordingStatus_RECORDING_STATUS_UNSPECIFIED {
		return s
	}
	s, _ := ParseRecordingStatus(x.GetStatus())
	return s
}

// SetStatus changes the recording's status. It writes the name too, for one version, so that a
// node of the previous version (rolling upgrade, rollback) reads the recordings this one stores.
func (x *Recording) SetStatus(s RecordingStatus) {
	x.RecordingStatus = s
	x.Status = RecordingStatusName(s)
}

// ConfigurationView is a room's configuration as the API shows it (the room's JSON) and as the
// room tells LiveKit's clients (its room metadata): only the settings that are set.
func ConfigurationView(c *RoomConfiguration) map[string]any {
	out := map[string]any{}
	if c.GetCanPublishSources() != nil {
		out["can_publish_sources"] = append([]string{}, c.GetCanPublishSources().GetSources()...)
	}
	if c != nil && c.EveryoneCanMute != nil {
		out["everyone_can_mute"] = c.GetEveryoneCanMute()
	}
	return out
}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}
