package gateway

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// usersMe is the authenticated user, with their preferences.
func (g *Gateway) usersMe(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	prefs, err := g.preferencesOf(r.Context(), u.ID)
	if err != nil {
		g.storeFailed(w, "read preferences of user", err)
		return
	}
	writeJSON(w, http.StatusOK, selfView(u, prefs))
}

// updateUser changes the caller's preferences (PUT: timezone required; PATCH: any subset) and
// returns the user. Another user's id is refused as the reference does: 403 when that user
// exists, 404 otherwise.
func (g *Gateway) updateUser(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	if id := mux.Vars(r)["user"]; id != u.ID {
		g.refuseOtherUser(w, r, id)
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	changes := g.preferenceChanges(fields, r.Method == http.MethodPut, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	if err := g.cfg.Users.SetUserPreferences(r.Context(), u.ID, changes); err != nil {
		g.storeFailed(w, "set preferences of user", err)
		return
	}
	prefs, err := g.preferencesOf(r.Context(), u.ID)
	if err != nil {
		g.storeFailed(w, "read preferences of user", err)
		return
	}
	writeJSON(w, http.StatusOK, selfView(u, prefs))
}

// refuseOtherUser answers a change of someone else's user: 403 if they exist, else 404.
func (g *Gateway) refuseOtherUser(w http.ResponseWriter, r *http.Request, id string) {
	if _, err := uuid.Parse(id); err != nil {
		writeError(w, http.StatusNotFound, "Not found.")
		return
	}
	_, found, err := g.cfg.Users.GetUser(r.Context(), id)
	switch {
	case err != nil:
		g.storeFailed(w, "read user", err)
	case found:
		writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
	default:
		writeError(w, http.StatusNotFound, "Not found.")
	}
}

// frontendConfig is what the front end needs to know of the service's settings.
func (g *Gateway) frontendConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.cfg.FrontendConfig)
}

func decodeSummary(b []byte) (*messages.RoomSummary, error) {
	s := &messages.RoomSummary{}
	return s, proto.Unmarshal(b, s)
}
