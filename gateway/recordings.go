package gateway

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

var recordingModes = []string{"screen_recording", "transcript"}

type recordingJSON struct {
	ID        string          `json:"id"`
	Room      roomSummaryJSON `json:"room"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
	Status    string          `json:"status"`
	Mode      string          `json:"mode"`
	Options   map[string]any  `json:"options"`
	Key       string          `json:"key"`
	IsExpired bool            `json:"is_expired"`
	ExpiredAt *string         `json:"expired_at"`
}

// recordingView is a recording as the API shows it. Its key is the one egress was given
// (recordingoutput.RecordingOutput.Filepath); its expiry is counted from its creation, as the reference
// product does (the bucket's own lifecycle rule is what removes the file).
func (g *Gateway) recordingView(rec *messages.Recording, room *messages.RoomSummary) recordingJSON {
	options := map[string]any{}
	if o := rec.GetOptions(); o != nil {
		if o.GetLanguage() != "" {
			options["language"] = o.GetLanguage()
		}
		if o.Transcribe != nil {
			options["transcribe"] = o.GetTranscribe()
		}
		if o.GetOriginalMode() != "" {
			options["original_mode"] = o.GetOriginalMode()
		}
		if o.CollectMetadata != nil {
			options["collect_metadata"] = o.GetCollectMetadata()
		}
	}
	created := time.UnixMilli(rec.GetCreatedUnixMs()).UTC()
	out := recordingJSON{
		ID:        rec.GetId(),
		Room:      roomSummaryJSON{ID: room.GetId(), Name: room.GetName(), Slug: room.GetSlug(), AccessLevel: messages.AccessLevelName(room.GetAccessLevel())},
		CreatedAt: created.Format(time.RFC3339Nano),
		UpdatedAt: time.UnixMilli(rec.GetUpdatedUnixMs()).UTC().Format(time.RFC3339Nano),
		Status:    messages.RecordingStatusName(rec.CurrentStatus()),
		Mode:      rec.GetMode(),
		Options:   options,
		Key:       g.recordingKey(rec),
	}
	if days := g.cfg.RecordingExpirationDays; days > 0 {
		expiry := created.AddDate(0, 0, days)
		at := expiry.Format(time.RFC3339Nano)
		out.ExpiredAt, out.IsExpired = &at, expiry.Before(g.now())
	}
	return out
}

// recordingKey is the recording's object key in the bucket.
func (g *Gateway) recordingKey(rec *messages.Recording) string {
	return g.cfg.RecordingStorage.Filepath(rec.GetId(), rec.GetMode() == "transcript")
}

// startRecording: privileged callers when recording is enabled.
func (g *Gateway) startRecording(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	if !g.cfg.RecordingEnabled {
		return errRecordingDisabled
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	msg := &messages.StartRecording{RequestId: requestID(r, u), Caller: callerMessage(u)}
	mode, present := stringField(fields, "mode", errs)
	switch {
	case !present && errs["mode"] == nil:
		errs.add("mode", fieldRequired)
	case present && !slices.Contains(recordingModes, mode):
		errs.add("mode", "\""+mode+"\" is not a valid choice.")
	}
	msg.Mode = mode
	if raw, present := fields["options"]; present && string(raw) != "null" {
		msg.Options = recordingOptions(raw, errs)
	}
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, roomID, msg)
	if err != nil {
		return err
	}
	entry := reply.GetRecording()
	writeJSON(w, http.StatusCreated, g.recordingView(entry.GetRecording(), entry.GetRoom()))
	return nil
}

// recordingOptions validates `options`: language, transcribe, original_mode, collect_metadata
// only; a null boolean is as good as absent.
func recordingOptions(raw jsonRaw, errs fieldErrors) *messages.RecordingOptions {
	var fields map[string]jsonRaw
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errs.add("options", fieldNotObject)
		return nil
	}
	out := &messages.RecordingOptions{}
	for key := range fields {
		switch key {
		case "language":
			out.Language, _ = stringField(fields, key, errs)
		case "original_mode":
			out.OriginalMode, _ = stringField(fields, key, errs)
		case "transcribe":
			if b, present := boolField(fields, key, errs); present {
				out.Transcribe = &b
			}
		case "collect_metadata":
			if b, present := boolField(fields, key, errs); present {
				out.CollectMetadata = &b
			}
		default:
			errs.add("options", "Unknown option \""+key+"\".")
		}
	}
	return out
}

// stopRecording stops the room's active recording.
func (g *Gateway) stopRecording(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	if !g.cfg.RecordingEnabled {
		return errRecordingDisabled
	}
	roomID, err := g.roomID(r)
	if err != nil {
		return err
	}
	reply, err := g.ask(r, roomID, &messages.StopRecording{RequestId: requestID(r, u), Caller: callerMessage(u)})
	if err != nil {
		return err
	}
	entry := reply.GetRecording()
	writeJSON(w, http.StatusOK, g.recordingView(entry.GetRecording(), entry.GetRoom()))
	return nil
}

// userRecordings reads the recordings index of the caller, newest first.
func (g *Gateway) userRecordings(r *http.Request, userID string) ([]*messages.RecordingEntry, error) {
	raw, err := g.cfg.Directory.RecordingsOfUser(r.Context(), userID)
	if err != nil {
		return nil, storeFailure("list recordings of user", err)
	}
	var out []*messages.RecordingEntry
	for _, b := range raw {
		e := &messages.RecordingEntry{}
		if proto.Unmarshal(b, e) == nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *messages.RecordingEntry) int {
		return cmp.Or(cmp.Compare(b.GetRecording().GetCreatedUnixMs(), a.GetRecording().GetCreatedUnixMs()),
			cmp.Compare(a.GetRecording().GetId(), b.GetRecording().GetId()))
	})
	return out, nil
}

// listRecordings: recordings the user started or of rooms they own.
func (g *Gateway) listRecordings(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	entries, err := g.userRecordings(r, u.ID)
	if err != nil {
		return err
	}
	page, size, err := pagination(r)
	if err != nil {
		return err
	}
	results := []recordingJSON{}
	for _, e := range pageOf(entries, page, size) {
		results = append(results, g.recordingView(e.GetRecording(), e.GetRoom()))
	}
	writePage(w, r, len(entries), page, size, results)
	return nil
}

// retrieveRecording: one recording of the user's.
func (g *Gateway) retrieveRecording(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	entries, err := g.userRecordings(r, u.ID)
	if err != nil {
		return err
	}
	id := mux.Vars(r)["recording"]
	for _, e := range entries {
		if e.GetRecording().GetId() == id {
			writeJSON(w, http.StatusOK, g.recordingView(e.GetRecording(), e.GetRoom()))
			return nil
		}
	}
	return errRecordingNotFound
}
