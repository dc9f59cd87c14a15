package gateway

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"meetcoord/messages"
)

// listAccesses: of one room (?resource=) or of every room of the caller. Privileged callers see
// all accesses of a room, others their own.
func (g *Gateway) listAccesses(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	var roomIDs []string
	if resource := r.URL.Query().Get("resource"); resource != "" {
		id, err := uuid.Parse(resource)
		if err != nil {
			fieldErrors{"resource": {"Must be a valid UUID."}}.write(w)
			return
		}
		roomIDs = []string{id.String()}
	} else {
		raw, err := g.cfg.Directory.RoomsOfUser(r.Context(), u.ID)
		if err != nil {
			g.storeFailed(w, "list rooms of user", err)
			return
		}
		for _, b := range raw {
			if s, err := decodeSummary(b); err == nil {
				roomIDs = append(roomIDs, s.GetId())
			}
		}
	}
	results := []accessJSON{}
	for _, id := range roomIDs {
		reply, err := g.cfg.Rooms.Ask(r.Context(), id, &messages.ListAccesses{Caller: callerMessage(u)})
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "The room is unavailable, try again.")
			return
		}
		for _, a := range reply.GetAccesses().GetAccesses() {
			results = append(results, accessView(a, id))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": nil, "previous": nil, "results": results})
}

// createAccess gives a user a role on a room.
func (g *Gateway) createAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	userID := g.uuidField(fields, "user", errs)
	roomID := g.uuidField(fields, "resource", errs)
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	target, found, err := g.users.get(r.Context(), userID)
	if err != nil {
		g.storeFailed(w, "read user", err)
		return
	}
	if !found {
		fieldErrors{"user": {"Invalid pk \"" + userID + "\" - object does not exist."}}.write(w)
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.CreateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), User: target.message(), Role: role,
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusCreated, accessView(reply.GetAccess(), roomID))
}

// updateAccess changes the role of an access.
func (g *Gateway) updateAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	accessID, roomID, ok := g.accessRoom(w, r)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	role := g.roleField(fields, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	reply, ok := g.ask(w, r, roomID, &messages.UpdateAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID, Role: role,
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, accessView(reply.GetAccess(), roomID))
}

// deleteAccess takes a role away.
func (g *Gateway) deleteAccess(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	accessID, roomID, ok := g.accessRoom(w, r)
	if !ok {
		return
	}
	if _, ok := g.ask(w, r, roomID, &messages.DeleteAccess{
		RequestId: requestID(r, u), Caller: callerMessage(u), AccessId: accessID,
	}); !ok {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accessRoom resolves {access} to the room that holds it, from the access index.
func (g *Gateway) accessRoom(w http.ResponseWriter, r *http.Request) (accessID, roomID string, ok bool) {
	parsed, err := uuid.Parse(mux.Vars(r)["access"])
	if err != nil {
		writeError(w, http.StatusNotFound, "No ResourceAccess matches the given query.")
		return "", "", false
	}
	roomID, found, err := g.cfg.Directory.RoomIDByAccess(r.Context(), parsed.String())
	if err != nil {
		g.storeFailed(w, "resolve resource access", err)
		return "", "", false
	}
	if !found {
		writeError(w, http.StatusNotFound, "No ResourceAccess matches the given query.")
		return "", "", false
	}
	return parsed.String(), roomID, true
}

func (g *Gateway) uuidField(fields map[string]jsonRaw, name string, errs fieldErrors) string {
	s, present := stringField(fields, name, errs)
	if !present {
		if errs[name] == nil {
			errs.add(name, "This field is required.")
		}
		return ""
	}
	id, err := uuid.Parse(s)
	if err != nil {
		errs.add(name, "Must be a valid UUID.")
		return ""
	}
	return id.String()
}

func (g *Gateway) roleField(fields map[string]jsonRaw, errs fieldErrors) messages.Role {
	s, present := stringField(fields, "role", errs)
	if !present {
		if errs["role"] == nil {
			errs.add("role", "This field is required.")
		}
		return messages.Role_ROLE_UNSPECIFIED
	}
	role, ok := roles[s]
	if !ok {
		errs.add("role", "\""+s+"\" is not a valid choice.")
	}
	return role
}
