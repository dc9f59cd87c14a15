package gateway

import (
	"fmt"
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
func (g *Gateway) recordingMediaAuth(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	id, key, err := g.mediaRecording(r.Header.Get("X-Original-URL"))
	if err != nil {
		return err
	}
	entries, err := g.userRecordings(r, u.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e *messages.RecordingEntry) bool { return e.GetRecording().GetId() == id })
	if i < 0 {
		// Not one of the caller's: someone else's (403) or nobody's (404).
		_, exists, err := g.cfg.Directory.RoomOfRecording(r.Context(), id)
		switch {
		case err != nil:
			return storeFailure("find the room of a recording", err)
		case exists:
			return errForbidden
		default:
			return errRecordingNotFound
		}
	}
	rec := entries[i].GetRecording()
	if g.recordingKey(rec) != key {
		// The right recording, the wrong file type (a transcript is audio only).
		return errRecordingExtension
	}
	if !slices.Contains(savedStatuses, rec.CurrentStatus()) {
		return errRecordingNotSaved
	}
	headers, err := objectGetHeaders(r.Context(), g.cfg.RecordingStorage, key, g.now())
	if err != nil {
		return errRecordingStorage.because(fmt.Errorf("sign the download of recording %s: %w", id, err))
	}
	for name, values := range headers {
		w.Header()[name] = values
	}
	writeJSON(w, http.StatusOK, "authorized")
	return nil
}

// mediaRecording reads the recording id and object key out of an original URL of the form
// /media/<RECORDING_OUTPUT_FOLDER>/<uuid>.<mp4|ogg>; anything else is a 400.
func (g *Gateway) mediaRecording(original string) (id, key string, err error) {
	if original == "" {
		return "", "", errNoOriginalURL
	}
	parsed, err := url.Parse(original)
	if err != nil || !strings.HasPrefix(parsed.Path, mediaPrefix) {
		return "", "", errNotARecordingURL
	}
	key = strings.TrimPrefix(parsed.Path, mediaPrefix)
	id, ext, _ := strings.Cut(path.Base(key), ".")
	if parsed, err := uuid.Parse(id); err != nil || parsed.String() != id {
		return "", "", errNotARecordingURL
	}
	if !slices.Contains(recordingExtensions, ext) {
		return "", "", errRecordingFileType
	}
	if key != g.cfg.RecordingStorage.Filepath(id, ext == "ogg") {
		return "", "", errNotARecordingURL
	}
	return id, key, nil
}
