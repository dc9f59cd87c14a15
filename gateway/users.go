package gateway

import (
	"net/http"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// usersMe is the authenticated user's record.
func (g *Gateway) usersMe(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "full_name": u.FullName, "short_name": u.ShortName, "language": u.Language,
	})
}

// frontendConfig is what the front end needs to know of the service's settings.
func (g *Gateway) frontendConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.cfg.FrontendConfig)
}

func decodeSummary(b []byte) (*messages.RoomSummary, error) {
	s := &messages.RoomSummary{}
	return s, proto.Unmarshal(b, s)
}
