package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
)

// Searching people to invite: GET users/?q=<email or email prefix>&room=<room id or slug>.
// Only privileged members (owner, administrator) of the given room may search, and only by
// email: an exact address or a prefix of at least userSearchMinLength characters, at most
// userSearchLimit results. A missing or shorter query is a 400, never a list of everyone.

const (
	userSearchMinLength = 3
	userSearchLimit     = 10
)

func (g *Gateway) searchUsers(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	room := strings.TrimSpace(r.URL.Query().Get("room"))
	errs := fieldErrors{}
	if utf8.RuneCountInString(q) < userSearchMinLength {
		errs.add("q", "Enter an email address or at least 3 of its first characters.")
	}
	if room == "" {
		errs.add("room", "This field is required: the room people are invited to.")
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	roomID, err := g.roomID(mux.SetURLVars(r, map[string]string{"room": room}))
	if err != nil {
		return err
	}
	if _, err := g.administeredRoom(r, u, roomID); err != nil {
		return err
	}
	raw, err := g.cfg.Users.SearchUsersByEmail(r.Context(), q, userSearchLimit)
	if err != nil {
		return storeFailure("search users", err)
	}
	out := []userJSON{}
	for _, b := range raw {
		var rec userRecord
		if json.Unmarshal(b, &rec) == nil {
			out = append(out, userJSON{ID: rec.ID, Email: rec.Email, FullName: rec.FullName, ShortName: rec.ShortName})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
