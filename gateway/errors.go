package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"meetcoord/gateway/ratelimit"
	"meetcoord/messages"
)

// Every error is JSON with at least a "detail" string; validation errors are a 400 whose body
// maps field names to lists of messages (the reference product's shape).
//
// Handlers return their failure as an error instead of writing it (caddy's caddyhttp.Error,
// tailscale's ReturnHandlerFunc): handle is the one place that turns it into a status, a body,
// a log line and a metric outcome. Every message a client may read is written once, below.

// apiError is a failure as the client sees it.
type apiError struct {
	status int
	detail string
	// outcome labels the failure on the endpoint's outcome counter (handleCounting); "": none.
	outcome string
	// fields are the per-field messages of a 400 (fieldErrors).
	fields fieldErrors
	// extra are other keys of the body (the addresses an invitation failed for, ...).
	extra map[string]any
	// retryAfter is the Retry-After header in seconds; 0: none.
	retryAfter int
	// cause is what went wrong behind the answer: logged at logLevel, never shown.
	cause    error
	logLevel slog.Level
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.detail + ": " + e.cause.Error()
	}
	return e.detail
}

func (e *apiError) Unwrap() error { return e.cause }

// Is matches an error derived from a named one (because, counted): the same answer.
func (e *apiError) Is(target error) bool {
	t, ok := target.(*apiError)
	return ok && t.status == e.status && t.detail == e.detail
}

// because is e with the cause that is logged behind it.
func (e *apiError) because(cause error) *apiError {
	c := *e
	c.cause = cause
	return &c
}

// counted is e labelled with an outcome of the endpoint's counter.
func (e *apiError) counted(outcome string) *apiError {
	c := *e
	c.outcome = outcome
	return &c
}

// with is e with one more key in its body.
func (e *apiError) with(key string, value any) *apiError {
	c := *e
	c.extra = map[string]any{key: value}
	for k, v := range e.extra {
		c.extra[k] = v
	}
	return &c
}

// write answers the error.
func (e *apiError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	body := map[string]any{"detail": e.detail}
	for k, v := range e.fields {
		body[k] = v
	}
	for k, v := range e.extra {
		body[k] = v
	}
	writeJSON(w, e.status, body)
}

// The answers of the API, each written once.
var (
	errNotAuthenticated    = &apiError{status: http.StatusUnauthorized, detail: "Authentication credentials were not provided."}
	errInvalidToken        = &apiError{status: http.StatusUnauthorized, detail: "Invalid or expired token."}
	errInvalidLiveKitToken = &apiError{status: http.StatusUnauthorized, detail: "Invalid or expired LiveKit token."}
	errCSRF                = &apiError{status: http.StatusForbidden, detail: "CSRF Failed: CSRF token missing or incorrect."}
	errForbidden           = &apiError{status: http.StatusForbidden, detail: "You do not have permission to perform this action."}
	errNotFound            = &apiError{status: http.StatusNotFound, detail: "Not found."}
	errRoomNotFound        = &apiError{status: http.StatusNotFound, detail: "No Room matches the given query."}
	errAccessNotFound      = &apiError{status: http.StatusNotFound, detail: "No ResourceAccess matches the given query."}
	errRecordingNotFound   = &apiError{status: http.StatusNotFound, detail: "No Recording matches the given query."}
	errBodyTooLarge        = &apiError{status: http.StatusRequestEntityTooLarge, detail: "Request body too large."}
	errBodyUnreadable      = &apiError{status: http.StatusBadRequest, detail: "Request body could not be read."}
	errNotAnObject         = &apiError{status: http.StatusBadRequest, detail: "Expected a JSON object."}
	errIdempotencyKey      = &apiError{status: http.StatusBadRequest, detail: "Idempotency-Key must be valid UTF-8 of at most 255 bytes."}
	errThrottled           = &apiError{status: http.StatusTooManyRequests, detail: "Request was throttled."}
	errInternal            = &apiError{status: http.StatusInternalServerError, detail: "Internal server error.", logLevel: slog.LevelError}

	// Dependencies that failed: the client may retry, after Retry-After.
	errRoomUnavailable     = &apiError{status: http.StatusServiceUnavailable, detail: "The room is unavailable, try again.", retryAfter: unavailableRetryAfter, logLevel: slog.LevelWarn}
	errStoreUnavailable    = &apiError{status: http.StatusServiceUnavailable, detail: "Storage is unavailable, try again.", retryAfter: unavailableRetryAfter, logLevel: slog.LevelError}
	errProviderUnavailable = &apiError{status: http.StatusServiceUnavailable, detail: "The identity provider is unavailable, try again.", retryAfter: unavailableRetryAfter, logLevel: slog.LevelWarn}
	errAuthUnavailable     = &apiError{status: http.StatusServiceUnavailable, detail: "Authentication is unavailable, try again.", retryAfter: unavailableRetryAfter, logLevel: slog.LevelError}

	// Recordings.
	errRecordingDisabled  = &apiError{status: http.StatusForbidden, detail: "Recording is disabled."}
	errRecordingNotSaved  = &apiError{status: http.StatusForbidden, detail: "The recording has not been saved."}
	errRecordingExtension = &apiError{status: http.StatusNotFound, detail: "No recording found with this extension."}
	errRecordingStorage   = &apiError{status: http.StatusInternalServerError, detail: "The recording storage is not configured.", logLevel: slog.LevelError}
	errNoOriginalURL      = originalURLError("The X-Original-URL header is required.")
	errNotARecordingURL   = originalURLError("Not the URL of a recording.")
	errRecordingFileType  = originalURLError("Unsupported extension.")

	// Invitations.
	errInvitationsOff    = &apiError{status: http.StatusServiceUnavailable, detail: "Invitations are not configured."}
	errInvitationsBusy   = &apiError{status: http.StatusServiceUnavailable, detail: "Too many invitations are being sent, try again later.", retryAfter: 5, logLevel: slog.LevelWarn}
	errInvitationsFailed = &apiError{status: http.StatusInternalServerError, detail: "The invitations could not be prepared.", logLevel: slog.LevelError}
	errInvitationsUnsent = &apiError{status: http.StatusBadGateway, detail: "The invitations could not be sent, try again later."}

	// The external API: application tokens (outcomes of meetcoord_application_token_requests_total)
	// and the requests made with them.
	errBadCredentials      = &apiError{status: http.StatusUnauthorized, detail: "Invalid credentials.", outcome: "bad_credentials"}
	errApplicationInactive = &apiError{status: http.StatusUnauthorized, detail: "Application is inactive.", outcome: "inactive"}
	errDomainRefused       = &apiError{status: http.StatusForbidden, detail: "This application is not authorized for this email domain.", outcome: "domain_refused"}
	errUnknownUser         = &apiError{status: http.StatusNotFound, detail: userNotFound, outcome: "unknown_user"}
	errTokenNotIssued      = &apiError{status: http.StatusInternalServerError, detail: "Could not issue a token.", logLevel: slog.LevelError}
	errTokenExpired        = &apiError{status: http.StatusUnauthorized, detail: "Token expired."}
	errTokenInvalid        = &apiError{status: http.StatusUnauthorized, detail: "Invalid token."}
	errTokenUndecodable    = &apiError{status: http.StatusUnauthorized, detail: "Token decode error."}
	errApplicationNotFound = &apiError{status: http.StatusUnauthorized, detail: "Application not found."}
	errApplicationDisabled = &apiError{status: http.StatusUnauthorized, detail: "Application is disabled."}
	errSecretRotated       = &apiError{status: http.StatusUnauthorized, detail: "Token issued before the application's secret was rotated."}
	errDelegatedUserGone   = &apiError{status: http.StatusUnauthorized, detail: userNotFound}
	errInsufficientScope   = &apiError{status: http.StatusForbidden, detail: "Insufficient permissions."}

	// Browser login (outcomes of meetcoord_browser_logins_total).
	errLoginNotStartedHere = &apiError{status: http.StatusBadRequest, detail: "Login failed: this browser did not start this login; log in again.", outcome: "state_mismatch"}
	errLoginUnknown        = &apiError{status: http.StatusBadRequest, detail: "Login failed: the login expired or was already used; log in again.", outcome: "state_unknown"}
	errLoginNoCode         = &apiError{status: http.StatusBadRequest, detail: "Login failed: the identity provider sent no code.", outcome: "no_code"}
	errLoginRefused        = &apiError{status: http.StatusBadRequest, detail: "Login failed: the identity provider refused it; log in again.", outcome: "refused", logLevel: slog.LevelWarn}
)

// unavailableRetryAfter is the Retry-After, in seconds, of a 503 for a dependency that failed
// (the store, a room, the identity provider): a node serves again within about a second of its
// store coming back, and a moved room within three (README, "Failure model").
const unavailableRetryAfter = 1

// userNotFound is the detail of two answers: an application asking a token for an unknown
// user (404), and a token whose user is gone (401).
const userNotFound = "User not found."

// The answers that name what the client sent.

func jsonParseError(err error) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: "JSON parse error - " + err.Error()}
}

func formParseError(err error) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: "Form parse error - " + err.Error()}
}

func methodNotAllowed(method string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, detail: "Method \"" + method + "\" not allowed."}
}

func invalidWebhook(err error) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: "Invalid webhook: " + err.Error()}
}

func unknownWebhookEvent(event string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, detail: "Unknown event type \"" + event + "\"."}
}

func loginProviderError(providerError string) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: "Login failed at the identity provider (" + providerError + ").", outcome: "provider_error"}
}

// originalURLError refuses the X-Original-URL of a media-auth subrequest, as a field error
// whose detail is the message itself.
func originalURLError(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: msg, extra: map[string]any{"X-Original-URL": []string{msg}}}
}

// throttled answers 429, with Retry-After when waiting would help.
func throttled(d ratelimit.Decision, detail string) *apiError {
	e := &apiError{status: http.StatusTooManyRequests, detail: detail}
	if d.RetryAfter > 0 {
		e.retryAfter = retryAfterSeconds(d)
	}
	return e
}

// invitationsOverLimit refuses a request with more addresses than the limit ever allows.
func invitationsOverLimit(limit ratelimit.Rate) *apiError {
	return &apiError{status: http.StatusTooManyRequests, detail: fmt.Sprintf(
		"Too many addresses for the invitations limit (%s per user).", limit)}
}

// invitationsThrottled refuses invitations over the caller's limit, until d's wait is over.
func invitationsThrottled(limit ratelimit.Rate, d ratelimit.Decision) *apiError {
	return throttled(d, fmt.Sprintf("Too many invitations sent (limit %s per user): try again in %d seconds.",
		limit, retryAfterSeconds(d)))
}

// storeFailure is a failure of the store behind a request: 503, the cause logged.
func storeFailure(operation string, err error) *apiError {
	return errStoreUnavailable.because(fmt.Errorf("%s: %w", operation, err))
}

// withOutcome labels err (an apiError, or the 500 it becomes) with an outcome of the
// endpoint's counter.
func withOutcome(err error, outcome string) error {
	var e *apiError
	if !errors.As(err, &e) {
		return errInternal.because(err).counted(outcome)
	}
	return e.counted(outcome)
}

// statusOf is the status err answers with.
func statusOf(err error) int {
	var e *apiError
	if !errors.As(err, &e) {
		return errInternal.status
	}
	return e.status
}

// The messages of field errors that several fields share (the reference product's words).
const (
	fieldRequired  = "This field is required."
	fieldBlank     = "This field may not be blank."
	fieldNotUUID   = "Must be a valid UUID."
	fieldNotString = "Not a valid string."
	fieldNotObject = "Must be an object."
	fieldNull      = "This field may not be null."
	fieldOver255   = "Ensure this field has no more than 255 characters."
)

// fieldErrors collects validation messages per field.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

// invalid is the 400 of the collected messages; nil when there are none.
func (f fieldErrors) invalid() error {
	if len(f) == 0 {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, detail: "Invalid input.", fields: f}
}

// invalidField is the 400 of one field's message.
func invalidField(field, msg string) error { return fieldErrors{field: {msg}}.invalid() }

// handlerFunc is a handler that returns its failure for handle to answer; nil means it wrote
// its answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handler for the route table: the one exit of every failure.
func (g *Gateway) handle(h handlerFunc) http.HandlerFunc { return g.handleCounting(nil, h) }

// handleCounting is handle for an endpoint that counts its outcomes: a failure labelled with
// one (apiError.outcome) is counted on outcomes; the handler counts its successes.
func (g *Gateway) handleCounting(outcomes *prometheus.CounterVec, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { g.answerFailure(w, r, outcomes, h(w, r)) }
}

// answerFailure answers a handler's failure, if it failed (see handleCounting).
func (g *Gateway) answerFailure(w http.ResponseWriter, r *http.Request, outcomes *prometheus.CounterVec, err error) {
	if err == nil {
		return
	}
	e := g.answerOf(r, err)
	if outcomes != nil && e.outcome != "" {
		outcomes.WithLabelValues(e.outcome).Inc()
	}
	e.write(w)
}

// answerOf is the answer to a failed request, logged once: an apiError's cause at its level,
// any other error as a fault (500).
func (g *Gateway) answerOf(r *http.Request, err error) *apiError {
	var e *apiError
	if !errors.As(err, &e) {
		e = errInternal.because(err)
	}
	if e.cause != nil {
		g.log.Log(r.Context(), e.logLevel, "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", e.status), slog.String("detail", e.detail), slog.Any("error", e.cause))
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// failureStatus maps a room's failure code to HTTP; any other code is a 500.
var failureStatus = map[messages.ErrorCode]int{
	messages.ErrorCode_ERROR_CODE_INVALID:         http.StatusBadRequest,
	messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED: http.StatusUnauthorized,
	messages.ErrorCode_ERROR_CODE_FORBIDDEN:       http.StatusForbidden,
	messages.ErrorCode_ERROR_CODE_NOT_FOUND:       http.StatusNotFound,
	messages.ErrorCode_ERROR_CODE_CONFLICT:        http.StatusConflict,
	messages.ErrorCode_ERROR_CODE_TOO_MANY:        http.StatusTooManyRequests,
	messages.ErrorCode_ERROR_CODE_UPSTREAM:        http.StatusBadGateway,
	messages.ErrorCode_ERROR_CODE_UNAVAILABLE:     http.StatusServiceUnavailable,
	messages.ErrorCode_ERROR_CODE_MOVED:           http.StatusServiceUnavailable,
}

// roomFailure is a room's failure reply as the client sees it: the room wrote its message.
func roomFailure(f *messages.Failure) error {
	if len(f.GetFields()) > 0 {
		fe := fieldErrors{}
		for k, v := range f.GetFields() {
			fe[k] = v.GetMessages()
		}
		return fe.invalid()
	}
	status, known := failureStatus[f.GetCode()]
	if !known {
		status = http.StatusInternalServerError
	}
	e := &apiError{status: status, detail: f.GetDetail()}
	if status == http.StatusServiceUnavailable {
		e.retryAfter = unavailableRetryAfter // the room's store failed, or the room moved
	}
	return e
}

// errStore marks failures of the store behind the directory or users.
var errStore = errors.New("store unavailable")
