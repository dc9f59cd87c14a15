package gateway

import (
	"meetcoord/messages"
)

// JSON shapes of the API, built from the rooms' protobuf replies.

var entryStatusNames = map[messages.EntryStatus]string{
	messages.EntryStatus_ENTRY_STATUS_WAITING:  "waiting",
	messages.EntryStatus_ENTRY_STATUS_ACCEPTED: "accepted",
	messages.EntryStatus_ENTRY_STATUS_DENIED:   "denied",
}

type userJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FullName  string `json:"full_name"`
	ShortName string `json:"short_name"`
}

type accessJSON struct {
	ID       string   `json:"id"`
	User     userJSON `json:"user"`
	Resource string   `json:"resource,omitempty"`
	Role     string   `json:"role"`
}

type livekitJSON struct {
	URL   string `json:"url"`
	Room  string `json:"room"`
	Token string `json:"token"`
}

type roomJSON struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Slug            string         `json:"slug"`
	AccessLevel     string         `json:"access_level"`
	Configuration   map[string]any `json:"configuration"`
	PinCode         *string        `json:"pin_code"`
	IsAdministrable bool           `json:"is_administrable"`
	Accesses        []accessJSON   `json:"accesses,omitempty"`
	LiveKit         *livekitJSON   `json:"livekit,omitempty"`
}

type roomSummaryJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	AccessLevel string `json:"access_level"`
}

type entryJSON struct {
	ID       string       `json:"id"`
	Status   string       `json:"status"`
	Username string       `json:"username"`
	Color    string       `json:"color"`
	LiveKit  *livekitJSON `json:"livekit"`
}

func liveKitView(l *messages.LiveKitAccess) *livekitJSON {
	if l == nil {
		return nil
	}
	return &livekitJSON{URL: l.GetUrl(), Room: l.GetRoom(), Token: l.GetToken()}
}

func accessView(a *messages.Access, roomID string) accessJSON {
	u := a.GetUser()
	return accessJSON{
		ID:       a.GetId(),
		User:     userJSON{ID: u.GetId(), Email: u.GetEmail(), FullName: u.GetFullName(), ShortName: u.GetShortName()},
		Resource: roomID,
		Role:     messages.RoleName(a.GetRole()),
	}
}

func roomView(v *messages.RoomView) roomJSON {
	out := roomJSON{
		ID:              v.GetId(),
		Name:            v.GetName(),
		Slug:            v.GetSlug(),
		AccessLevel:     messages.AccessLevelName(v.GetAccessLevel()),
		Configuration:   messages.ConfigurationView(v.GetConfiguration()),
		IsAdministrable: v.GetIsAdministrable(),
		LiveKit:         liveKitView(v.GetLivekit()),
	}
	if pin := v.GetPinCode(); pin != "" {
		out.PinCode = &pin
	}
	for _, a := range v.GetAccesses() {
		out.Accesses = append(out.Accesses, accessView(a, v.GetId()))
	}
	return out
}

func entryView(e *messages.EntryView) entryJSON {
	return entryJSON{
		ID:       e.GetParticipantId(),
		Status:   entryStatusNames[e.GetStatus()],
		Username: e.GetUsername(),
		Color:    e.GetColor(),
		LiveKit:  liveKitView(e.GetLivekit()),
	}
}
