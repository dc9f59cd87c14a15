package gateway

import (
	"encoding/json"
	"errors"
	"net/http"

	"meetcoord/messages"
)

// Every error is JSON with at least a "detail" string; validation errors are a 400 whose body
// maps field names to lists of messages (the reference product's shape).

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

// fieldErrors collects validation messages per field.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

func (f fieldErrors) write(w http.ResponseWriter) {
	body := map[string]any{"detail": "Invalid input."}
	for k, v := range f {
		body[k] = v
	}
	writeJSON(w, http.StatusBadRequest, body)
}

// errNotAuthenticated is the reference product's detail for a missing user.
const errNotAuthenticated = "Authentication credentials were not provided."

// statusOf maps a room's failure code to HTTP.
func statusOf(code messages.ErrorCode) int {
	switch code {
	case messages.ErrorCode_ERROR_CODE_INVALID:
		return http.StatusBadRequest
	case messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED:
		return http.StatusUnauthorized
	case messages.ErrorCode_ERROR_CODE_FORBIDDEN:
		return http.StatusForbidden
	case messages.ErrorCode_ERROR_CODE_NOT_FOUND:
		return http.StatusNotFound
	case messages.ErrorCode_ERROR_CODE_CONFLICT:
		return http.StatusConflict
	case messages.ErrorCode_ERROR_CODE_TOO_MANY:
		return http.StatusTooManyRequests
	case messages.ErrorCode_ERROR_CODE_UPSTREAM:
		return http.StatusBadGateway
	case messages.ErrorCode_ERROR_CODE_UNAVAILABLE, messages.ErrorCode_ERROR_CODE_MOVED:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeFailure writes a room's failure reply.
func writeFailure(w http.ResponseWriter, f *messages.Failure) {
	if len(f.GetFields()) > 0 {
		fe := fieldErrors{}
		for k, v := range f.GetFields() {
			fe[k] = v.GetMessages()
		}
		fe.write(w)
		return
	}
	writeError(w, statusOf(f.GetCode()), f.GetDetail())
}

// errStore marks failures of the store behind the directory or users.
var errStore = errors.New("store unavailable")
