package gateway

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// usersMe is the authenticated user, with their preferences.
func (g *Gateway) usersMe(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	prefs, err := g.preferencesOf(r.Context(), u.ID)
	if err != nil {
		return storeFailure("read preferences of user", err)
	}
	writeJSON(w, http.StatusOK, selfView(u, prefs))
	return nil
}

// updateUser changes the caller's preferences (PUT: timezone required; PATCH: any subset) and
// returns the user. Another user's id is refused as the reference does: 403 when that user
// exists, 404 otherwise.
func (g *Gateway) updateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	if id := mux.Vars(r)["user"]; id != u.ID {
		return g.refuseOtherUser(r, id)
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	changes := g.preferenceChanges(fields, r.Method == http.MethodPut, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	if err := g.cfg.Users.SetUserPreferences(r.Context(), u.ID, changes); err != nil {
		return storeFailure("set preferences of user", err)
	}
	prefs, err := g.preferencesOf(r.Context(), u.ID)
	if err != nil {
		return storeFailure("read preferences of user", err)
	}
	writeJSON(w, http.StatusOK, selfView(u, prefs))
	return nil
}

// refuseOtherUser answers a change of someone else's user: 403 if they exist, else 404.
func (g *Gateway) refuseOtherUser(r *http.Request, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return errNotFound
	}
	_, found, err := g.cfg.Users.GetUser(r.Context(), id)
	switch {
	case err != nil:
		return storeFailure("read user", err)
	case found:
		return errForbidden
	default:
		return errNotFound
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
