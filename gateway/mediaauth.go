package gateway

import (
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/google/uuid"

	"meetcoord/messages"
)

// mediaPrefix is where the front end fetches recordings (`/media/<key>`), the path a proxy
// hands over in X-Original-URL.
const mediaPrefix = "/media/"

// recordingExtensions: the file types egress writes.
var recordingExtensions = []string{"mp4", "ogg"}

// savedStatuses are the statuses of a recording whose file is in the bucket.
var savedStatuses = []messages.RecordingStatus{
	messages.RecordingStatus_RECORDING_STATUS_SAVED, messages.RecordingStatus_RECORDING_STATUS_NOTIFICATION_SUCCEEDED,
}

// recordingMediaAuth answers a proxy's subrequest for a download of a recording's file (the
// original URL in X-Original-URL): 200 with the S3 authorization headers when the caller may
// retrieve the recording (the same rule as recordings/) and it is saved; 403 when not; 404 when
// there is no such recording.
func (g *Gateway) recordingMediaAuth(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	id, key, ok := g.mediaRecording(w, r.Header.Get("X-Original-URL"))
	if !ok {
		return
	}
	entries, ok := g.userRecordings(w, r, u.ID)
	if !ok {
		return
	}
	i := slices.IndexFunc(entries, func(e *messages.RecordingEntry) bool { return e.GetRecording().GetId() == id })
	if i < 0 {
		// Not one of the caller's: someone else's (403) or nobody's (404).
		_, exists, err := g.cfg.Directory.RoomOfRecording(r.Context(), id)
		switch {
		case err != nil:
			g.storeFailed(w, "find the room of a recording", err)
		case exists:
			writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
		default:
			writeError(w, http.StatusNotFound, "No Recording matches the given query.")
		}
		return
	}
	rec := entries[i].GetRecording()
	if g.recordingKey(rec) != key {
		// The right recording, the wrong file type (a transcript is audio only).
		writeError(w, http.StatusNotFound, "No recording found with this extension.")
		return
	}
	if !slices.Contains(savedStatuses, rec.CurrentStatus()) {
		writeError(w, http.StatusForbidden, "The recording has not been saved.")
		return
	}
	headers, err := objectGetHeaders(r.Context(), g.cfg.RecordingStorage, key, g.now())
	if err != nil {
		g.log.Error("cannot sign a recording download", "recording", id, "error", err)
		writeError(w, http.StatusInternalServerError, "The recording storage is not configured.")
		return
	}
	for name, values := range headers {
		w.Header()[name] = values
	}
	writeJSON(w, http.StatusOK, "authorized")
}

// mediaRecording reads the recording id and object key out of an original URL of the form
// /media/<RECORDING_OUTPUT_FOLDER>/<uuid>.<mp4|ogg>; anything else is answered 400.
func (g *Gateway) mediaRecording(w http.ResponseWriter, original string) (id, key string, ok bool) {
	bad := func(msg string) (string, string, bool) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": msg, "X-Original-URL": []string{msg}})
		return "", "", false
	}
	if original == "" {
		return bad("The X-Original-URL header is required.")
	}
	parsed, err := url.Parse(original)
	if err != nil || !strings.HasPrefix(parsed.Path, mediaPrefix) {
		return bad("Not the URL of a recording.")
	}
	key = strings.TrimPrefix(parsed.Path, mediaPrefix)
	id, ext, _ := strings.Cut(path.Base(key), ".")
	if parsed, err := uuid.Parse(id); err != nil || parsed.String() != id {
		return bad("Not the URL of a recording.")
	}
	if !slices.Contains(recordingExtensions, ext) {
		return bad("Unsupported extension.")
	}
	if key != g.cfg.RecordingStorage.Filepath(id, ext == "ogg") {
		return bad("Not the URL of a recording.")
	}
	return id, key, true
}
