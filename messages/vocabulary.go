package messages

// The API's names of the enums that cross the wire, each written once: the gateway renders and
// parses them, the room actor writes them into LiveKit's room metadata, and the configuration
// checks its defaults against them.

var accessLevelNames = map[AccessLevel]string{
	AccessLevel_ACCESS_LEVEL_PUBLIC:     "public",
	AccessLevel_ACCESS_LEVEL_TRUSTED:    "trusted",
	AccessLevel_ACCESS_LEVEL_RESTRICTED: "restricted",
}

var accessLevelsByName = invert(accessLevelNames)

// AccessLevelName is the API's name of an access level; "" for UNSPECIFIED.
func AccessLevelName(l AccessLevel) string { return accessLevelNames[l] }

// ParseAccessLevel is the access level the API names name; false when it names none.
func ParseAccessLevel(name string) (AccessLevel, bool) {
	l, ok := accessLevelsByName[name]
	return l, ok
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
