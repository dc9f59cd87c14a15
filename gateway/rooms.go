package gateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"meetcoord/gateway/slug"
	"meetcoord/messages"
)

const (
	defaultPageSize = 20
	maxPageSize     = 100
	// maxPage bounds ?page=: far beyond any real list, and small enough that page*size cannot
	// overflow.
	maxPage       = 1_000_000
	maxNameLength = 500
)

// listRooms: the rooms where the caller holds a role, from the index the room actors keep.
func (g *Gateway) listRooms(w http.ResponseWriter, r *http.Request) error {
	u, err := g.caller(r)
	if err != nil {
		return err
	}
	rooms, err := g.roomsOf(r, u)
	if err != nil {
		return err
	}
	page, size, err := pagination(r)
	if err != nil {
		return err
	}
	results := []roomSummaryJSON{}
	for _, s := range pageOf(rooms, page, size) {
		results = append(results, roomSummaryJSON{ID: s.GetId(), Name: s.GetName(), Slug: s.GetSlug(), AccessLevel: messages.AccessLevelName(s.GetAccessLevel())})
	}
	writePage(w, r, len(rooms), page, size, results)
	return nil
}

// roomsOf reads the rooms where u (nil: anonymous, no rooms) holds a role, newest first as the
// reference product lists them.
func (g *Gateway) roomsOf(r *http.Request, u *userRecord) ([]*messages.RoomSummary, error) {
	var rooms []*messages.RoomSummary
	if u != nil {
		raw, err := g.cfg.Directory.RoomsOfUser(r.Context(), u.ID)
		if err != nil {
			return nil, storeFailure("list rooms of user", err)
		}
		for _, b := range raw {
			s := &messages.RoomSummary{}
			if proto.Unmarshal(b, s) == nil {
				rooms = append(rooms, s)
			}
		}
	}
	slices.SortFunc(rooms, func(a, b *messages.RoomSummary) int {
		return cmp.Or(cmp.Compare(b.GetCreatedUnixMs(), a.GetCreatedUnixMs()), cmp.Compare(a.GetId(), b.GetId()))
	})
	return rooms, nil
}

// createRoom makes a room owned by the caller.
func (g *Gateway) createRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	if err := g.allow(r, g.roomCreationLimit, "user:"+u.ID); err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	msg := &messages.CreateRoom{RequestId: requestID(r, u), Caller: callerMessage(u)}
	name, present := stringField(fields, "name", errs)
	switch {
	case !present && errs["name"] == nil:
		errs.add("name", fieldRequired)
	case present:
		msg.Name = g.validName(name, errs)
		msg.Slug = chosenSlug(msg.Name, errs)
	}
	msg.Username = queryUsername(r, errs)
	if msg.AccessLevel, msg.Configuration, err = g.newRoomSettings(r, u, fields, errs); err != nil {
		return err
	}
	if cb, present := stringField(fields, "callback_id", errs); present {
		msg.CallbackId = validCallbackID(cb, errs)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, newRoomID(r, msg.RequestId), msg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, roomView(reply.GetRoom()))
	return nil
}

// retrieveRoom shows the room as the caller may see it.
func (g *Gateway) retrieveRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.caller(r)
	if err != nil {
		return err
	}
	id, err := g.roomID(r)
	if err != nil {
		return err
	}
	// A caller who may join directly without a role (public room) joins as the participant of
	// their lobby secret, as if admitted.
	secret, _ := g.lobbySecret(r)
	participant, err := g.lobbyParticipant(id, secret)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	username := queryUsername(r, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, id, &messages.GetRoom{
		Caller:        callerMessage(u),
		Username:      username,
		ParticipantId: participant,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roomView(reply.GetRoom()))
	return nil
}

// updateRoom changes a room (PUT: name required; PATCH: any subset).
func (g *Gateway) updateRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	id, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	msg := &messages.UpdateRoom{RequestId: requestID(r, u), Caller: callerMessage(u)}
	name, present := stringField(fields, "name", errs)
	switch {
	case present:
		n := g.validName(name, errs)
		msg.Name = &n
	case r.Method == http.MethodPut && errs["name"] == nil:
		errs.add("name", fieldRequired)
	}
	msg.AccessLevel = g.accessLevelField(fields, errs, messages.AccessLevel_ACCESS_LEVEL_UNSPECIFIED)
	if _, present := fields["configuration"]; present {
		msg.Configuration = g.configurationField(fields, errs)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, id, msg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roomView(reply.GetRoom()))
	return nil
}

// deleteRoom removes a room (owner only).
func (g *Gateway) deleteRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	id, err := g.roomID(r)
	if err != nil {
		return err
	}
	if _, err := g.ask(r, id, &messages.DeleteRoom{RequestId: requestID(r, u), Caller: callerMessage(u)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// creationCallback returns the room created with a callback id (calendar integrations poll it).
func (g *Gateway) creationCallback(w http.ResponseWriter, r *http.Request) error {
	u, err := g.caller(r)
	if err != nil {
		return err
	}
	if err := g.allow(r, g.callbackLimit, g.clientKey(r, u, "")); err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	callbackID, present := stringField(fields, "callback_id", errs)
	if !present && errs["callback_id"] == nil {
		errs.add("callback_id", fieldRequired)
	} else if present {
		callbackID = validCallbackID(callbackID, errs)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	id, found, err := g.cfg.Directory.CallbackRoom(r.Context(), callbackID)
	if err != nil {
		return storeFailure("read creation callback", err)
	}
	var room any
	if found {
		// A room deleted since its creation is no room; any other failure is the room's.
		reply, err := g.ask(r, id, &messages.GetRoom{Caller: callerMessage(nil)})
		switch {
		case statusOf(err) == http.StatusNotFound:
		case err != nil:
			return err
		default:
			v := reply.GetRoom()
			room = roomSummaryJSON{ID: v.GetId(), Name: v.GetName(), Slug: v.GetSlug(), AccessLevel: messages.AccessLevelName(v.GetAccessLevel())}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "room": room})
	return nil
}

// newRoomID is the id of a room to create: random, or derived from the Idempotency-Key (with
// its caller) so that a retried creation reaches the same room and gets the first answer.
func newRoomID(r *http.Request, requestID string) string {
	if r.Header.Get("Idempotency-Key") == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(roomIDNamespace, []byte(requestID)).String()
}

var roomIDNamespace = uuid.MustParse("0b7c1f5e-2d4a-4c8e-9f3b-6a1d2e3f4a5b")

// queryUsername reads ?username=, the display name asked for: empty means none (the front end
// sends `?username=` when it has no name), anything else must be a valid display name.
func queryUsername(r *http.Request, errs fieldErrors) string {
	name := r.URL.Query().Get("username")
	if strings.TrimSpace(name) == "" {
		return ""
	}
	return validUsername(name, "username", errs)
}

// maxCallbackIDLength bounds a creation callback id: it is a key in the store.
const maxCallbackIDLength = 255

func validCallbackID(id string, errs fieldErrors) string {
	switch {
	case id == "":
		errs.add("callback_id", fieldBlank)
	case len(id) > maxCallbackIDLength || !utf8.ValidString(id):
		errs.add("callback_id", fieldOver255)
	}
	return id
}

func (g *Gateway) validName(name string, errs fieldErrors) string {
	switch {
	case name == "":
		errs.add("name", fieldBlank)
	case utf8.RuneCountInString(name) > maxNameLength:
		errs.add("name", "Ensure this field has no more than 500 characters.")
	}
	return name
}

// chosenSlug is the slug of a room created from the front end: its name slugified, as the
// reference product does (frontend.md "Rooms"). A slug that would read as a room id, or none at
// all, is refused; whether it is free only the store knows (the room answers).
func chosenSlug(name string, errs fieldErrors) string {
	if errs["name"] != nil {
		return ""
	}
	s := slug.Make(name)
	switch _, isID := slug.ParseUUID(s); {
	case s == "":
		errs.add("name", "This name has no letters or digits to make an address from.")
	case isID:
		errs.add("name", fmt.Sprintf("Room name %q is reserved.", name))
	case len(s) > slug.MaxLength:
		errs.add("name", fmt.Sprintf("Ensure its address has no more than %d characters (it has %d).", slug.MaxLength, len(s)))
	}
	return s
}

func (g *Gateway) accessLevelField(fields map[string]json.RawMessage, errs fieldErrors, def messages.AccessLevel) messages.AccessLevel {
	s, present := stringField(fields, "access_level", errs)
	if !present {
		return def
	}
	level, ok := messages.ParseAccessLevel(s)
	if !ok {
		errs.add("access_level", "\""+s+"\" is not a valid choice.")
	}
	return level
}

// configurationField validates `configuration`: only can_publish_sources and everyone_can_mute.
func (g *Gateway) configurationField(fields map[string]json.RawMessage, errs fieldErrors) *messages.RoomConfiguration {
	raw, present := fields["configuration"]
	if !present || string(raw) == "null" {
		return &messages.RoomConfiguration{}
	}
	return g.roomConfiguration("configuration", raw, errs)
}

// roomConfiguration validates a room configuration given as the field `field` (a room's, or a
// user's default for new rooms); errors are reported under that field.
func (g *Gateway) roomConfiguration(field string, raw json.RawMessage, errs fieldErrors) *messages.RoomConfiguration {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg == nil {
		errs.add(field, fieldNotObject)
		return nil
	}
	out := &messages.RoomConfiguration{}
	for key, value := range cfg {
		switch key {
		case "can_publish_sources":
			var sources []string
			if err := json.Unmarshal(value, &sources); err != nil || sources == nil {
				errs.add(field, "can_publish_sources must be a list of sources.")
				continue
			}
			for _, s := range sources {
				if !g.cfg.ValidSource(s) {
					errs.add(field, "\""+s+"\" is not a valid source.")
				}
			}
			out.CanPublishSources = &messages.SourceList{Sources: slices.Compact(slices.Sorted(slices.Values(sources)))}
		case "everyone_can_mute":
			var b bool
			if err := json.Unmarshal(value, &b); err != nil {
				errs.add(field, "everyone_can_mute must be a boolean.")
				continue
			}
			out.EveryoneCanMute = &b
		default:
			errs.add(field, "Unknown key \""+key+"\".")
		}
	}
	return out
}

// pagination reads ?page= and ?page_size=. A page that is not a number from 1 to maxPage is a
// 400; a page past the end is an empty one.
func pagination(r *http.Request) (page, size int, err error) {
	page, size = 1, defaultPageSize
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return 0, 0, invalidField("page", "A whole number from 1 to 1000000 is required.")
		}
		page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			size = min(n, maxPageSize)
		}
	}
	return page, size, nil
}

func pageOf[T any](items []T, page, size int) []T {
	// Compared before multiplying: page and size come from the caller.
	if page < 1 || size < 1 || page-1 >= (len(items)+size-1)/size {
		return nil
	}
	start := (page - 1) * size
	return items[start:min(start+size, len(items))]
}

// writePage answers one page of a list of total items, in the paginated shape of the API.
func writePage(w http.ResponseWriter, r *http.Request, total, page, size int, results any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"count":    total,
		"next":     pageLink(r, page+1, size, page*size < total),
		"previous": pageLink(r, page-1, size, page > 1),
		"results":  results,
	})
}

func pageLink(r *http.Request, page, size int, exists bool) *string {
	if !exists {
		return nil
	}
	u := url.URL{Path: r.URL.Path}
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("page_size", strconv.Itoa(size))
	u.RawQuery = q.Encode()
	s := u.String()
	return &s
}
