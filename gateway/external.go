package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/auth/application"
	"meetcoord/gateway/auth/apptoken"
	"meetcoord/gateway/ratelimit"
	"meetcoord/messages"
)

// The external API (api.md "External API"): calendar integrations authenticate as an
// application, get a short-lived token acting for one user, and manage that user's rooms through
// the same room grains as the user would.

// ExternalAPI configures the external API; a nil Config.ExternalAPI leaves it unmounted (404).
type ExternalAPI struct {
	Applications *application.Registry
	UserEmails   UserEmails
	Tokens       *apptoken.Service
	TokenRate    ratelimit.Rate // token endpoint, per client id
	// AllowUserCreation creates a provisional user (email only) for an unknown address.
	AllowUserCreation  bool
	DefaultAccessLevel string // of the rooms applications create
	AppBaseURL         string // room URL = AppBaseURL/slug
	Telephony          *Telephony
}

// Telephony is the dial-in information shown with rooms; nil when telephony is off.
type Telephony struct {
	PhoneNumber    string
	DefaultCountry string
}

// UserEmails finds users by email address (the token endpoint's `scope`), through the email
// index the store keeps when users are saved.
type UserEmails interface {
	UserIDByEmail(ctx context.Context, email string) (string, bool, error)
}

// externalAPI is the external API's state in the gateway.
type externalAPI struct {
	ExternalAPI
	tokenLimit ratelimit.Limiter
	tokens     *prometheus.CounterVec
}

func newExternalAPI(gw Config, reg *prometheus.Registry) *externalAPI {
	cfg := gw.ExternalAPI
	if cfg == nil {
		return nil
	}
	x := &externalAPI{
		ExternalAPI: *cfg,
		tokenLimit:  gw.rateLimit("application-token", cfg.TokenRate),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_application_token_requests_total",
			Help: "External API token requests, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(x.tokens)
	return x
}

func (g *Gateway) externalRoutes(r prefixed) {
	r.HandleFunc("/application/token/", g.handleCounting(g.ext.tokens, g.applicationToken)).Methods(http.MethodPost)
	r.HandleFunc("/rooms/", g.handle(g.externalListRooms)).Methods(http.MethodGet)
	r.HandleFunc("/rooms/", g.handle(g.externalCreateRoom)).Methods(http.MethodPost)
	r.HandleFunc("/rooms/{room}/", g.handle(g.externalRetrieveRoom)).Methods(http.MethodGet)
}

// applicationToken is the client-credentials grant: an application's credentials and the email
// of the user it acts for (`scope`, as in the reference product) give a delegated token. Its
// failures are counted by outcome (handleCounting with the token metrics).
func (g *Gateway) applicationToken(w http.ResponseWriter, r *http.Request) error {
	x := g.ext
	fields, err := tokenRequestFields(w, r)
	if err != nil {
		return withOutcome(err, "bad_request")
	}
	// Per address, and per application named from there: the client id is not checked yet, so a
	// key of the client id alone would let anyone who knows it use up the application's
	// allowance.
	key := g.clientKey(r, nil, "")
	if id := fields["client_id"]; id != "" {
		key = "application:" + id + ":" + key
	}
	if err := g.allow(r, x.tokenLimit, key); err != nil {
		return withOutcome(err, "throttled")
	}
	errs := fieldErrors{}
	for _, name := range []string{"client_id", "client_secret", "grant_type", "scope"} {
		if fields[name] == "" {
			errs.add(name, fieldRequired)
		}
	}
	if id := fields["client_id"]; id != "" && uuid.Validate(id) != nil {
		errs.add("client_id", fieldNotUUID)
	}
	if gt := fields["grant_type"]; gt != "" && gt != "client_credentials" {
		errs.add("grant_type", "\""+gt+"\" is not a valid choice.")
	}
	email := fields["scope"]
	if _, ok := validEmail(email); email != "" && !ok {
		errs.add("scope", "Enter a valid email address.")
	}
	if len(errs) > 0 {
		return withOutcome(errs.invalid(), "bad_request")
	}

	app, found, err := x.Applications.Get(r.Context(), fields["client_id"])
	if err != nil {
		return storeFailure("read application", err)
	}
	// Checked even for an unknown client id, so that both failures cost the same.
	if !application.SecretMatches(app, found, fields["client_secret"]) {
		return errBadCredentials
	}
	if !app.Active {
		return errApplicationInactive
	}
	if !app.AllowsEmail(email) {
		g.log.Warn("application refused delegation for an email domain", slog.String("client_id", app.ClientID), slog.String("email", email))
		return errDomainRefused
	}
	user, found, err := g.userByEmail(r.Context(), email)
	if err != nil {
		return storeFailure("find user by email", err)
	}
	if !found && x.AllowUserCreation {
		user, found, err = g.users.createProvisional(r.Context(), email)
		if err != nil {
			return storeFailure("create provisional user", err)
		}
		if found {
			g.log.Info("provisional user for an application", slog.String("user_id", user.ID), slog.String("client_id", app.ClientID))
		} else {
			// The provisional id of this address belongs to a person who claimed it and has
			// another address now: acting for them would hand their rooms to this address.
			g.log.Warn("provisional user not created: its id is held by a user with another address",
				slog.String("user_id", provisionalUserID(email)), slog.String("client_id", app.ClientID))
		}
	}
	if !found {
		return errUnknownUser
	}
	token, err := x.Tokens.Issue(user.ID, app.ClientID, app.Scopes, app.SecretVersion)
	if err != nil {
		return errTokenNotIssued.because(fmt.Errorf("issue application token: %w", err))
	}
	x.tokens.WithLabelValues("issued").Inc()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(x.Tokens.TTL().Seconds()),
		"scope":        strings.Join(app.Scopes, " "),
	})
	return nil
}

// tokenRequestFields reads the token request, a form (as OAuth 2.0 clients send it) or a JSON
// object; the error is a 400 or 413.
func tokenRequestFields(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/x-www-form-urlencoded" {
		body, err := readBody(w, r, apiBodyPrealloc)
		if err != nil {
			return nil, bodyReadError(err)
		}
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, formParseError(err)
		}
		out := map[string]string{}
		for k := range values {
			out[k] = strings.TrimSpace(values.Get(k))
		}
		return out, nil
	}
	raw, err := decodeObject(w, r)
	if err != nil {
		return nil, err
	}
	errs := fieldErrors{}
	out := map[string]string{}
	for k := range raw {
		if v, present := stringField(raw, k, errs); present {
			out[k] = strings.TrimSpace(v)
		}
	}
	if len(errs) > 0 {
		return nil, errs.invalid()
	}
	return out, nil
}

// userByEmail finds a user by email address: the provisional user made for it when it still
// has that address (once claimed, it is the person the application made rooms for, whoever
// else logs in later with the same address), else through the email index, checking that the
// user still has that address (the index keeps a pointer when an address changes).
func (g *Gateway) userByEmail(ctx context.Context, email string) (userRecord, bool, error) {
	if u, found, err := g.users.get(ctx, provisionalUserID(email)); err != nil || (found && strings.EqualFold(u.Email, email)) {
		return u, found, err
	}
	id, found, err := g.ext.UserEmails.UserIDByEmail(ctx, email)
	if err != nil || !found {
		return userRecord{}, false, err
	}
	u, found, err := g.users.get(ctx, id)
	if err != nil || !found || !strings.EqualFold(u.Email, email) {
		return userRecord{}, false, err
	}
	return u, true, nil
}

// delegated authenticates an application token that needs scope, and returns the user it acts
// for; the error is a 401, 403 or 503.
func (g *Gateway) delegated(r *http.Request, scope string) (*userRecord, error) {
	token, present := gwauth.BearerToken(r)
	if !present {
		return nil, errNotAuthenticated
	}
	claims, err := g.ext.Tokens.Validate(token)
	switch {
	case errors.Is(err, apptoken.ErrExpired):
		return nil, errTokenExpired
	case errors.Is(err, apptoken.ErrInvalid):
		return nil, errTokenInvalid
	case err != nil: // malformed, bad signature, wrong algorithm
		return nil, errTokenUndecodable
	}
	// The application is read on every request so that disabling it cuts off the tokens it
	// already holds, on every node, at once.
	app, found, err := g.ext.Applications.Get(r.Context(), claims.ClientID)
	switch {
	case err != nil:
		return nil, storeFailure("read application", err)
	case !found:
		return nil, errApplicationNotFound
	case !app.Active:
		return nil, errApplicationDisabled
	case claims.SecretVersion != app.SecretVersion:
		return nil, errSecretRotated
	}
	u, found, err := g.users.get(r.Context(), claims.UserID)
	switch {
	case err != nil:
		return nil, storeFailure("read user", err)
	case !found:
		return nil, errDelegatedUserGone
	}
	// A scope must be in the token and still granted to the application.
	if !claims.Has(scope) || !slices.Contains(app.Scopes, scope) {
		return nil, errInsufficientScope
	}
	return &u, nil
}

type externalTelephonyJSON struct {
	Enabled        bool   `json:"enabled"`
	PhoneNumber    string `json:"phone_number"`
	PinCode        string `json:"pin_code"`
	DefaultCountry string `json:"default_country"`
}

type externalRoomJSON struct {
	ID            string                 `json:"id"`
	Name          string                 `json:"name"`
	Slug          string                 `json:"slug"`
	AccessLevel   string                 `json:"access_level"`
	Configuration map[string]any         `json:"configuration"`
	URL           string                 `json:"url"`
	Telephony     *externalTelephonyJSON `json:"telephony,omitempty"`
}

func (x *externalAPI) roomView(v *messages.RoomView) externalRoomJSON {
	out := externalRoomJSON{
		ID: v.GetId(), Name: v.GetName(), Slug: v.GetSlug(),
		AccessLevel:   messages.AccessLevelName(v.GetAccessLevel()),
		Configuration: messages.ConfigurationView(v.GetConfiguration()),
		URL:           strings.TrimRight(x.AppBaseURL, "/") + "/" + v.GetSlug(),
	}
	if x.Telephony != nil {
		out.Telephony = &externalTelephonyJSON{
			Enabled: true, PhoneNumber: x.Telephony.PhoneNumber, PinCode: v.GetPinCode(),
			DefaultCountry: x.Telephony.DefaultCountry,
		}
	}
	return out
}

// externalListRooms lists the delegated user's rooms, as GET /api/v1.0/rooms/ does, each with
// its URL and dial-in information (which needs the room itself: the index has no PIN).
func (g *Gateway) externalListRooms(w http.ResponseWriter, r *http.Request) error {
	u, err := g.delegated(r, application.ScopeRoomsList)
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
	summaries := pageOf(rooms, page, size)
	results := make([]externalRoomJSON, len(summaries))
	failed := make([]error, len(summaries))
	var wg sync.WaitGroup
	for i, s := range summaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := g.ask(r, s.GetId(), &messages.GetRoom{Caller: callerMessage(u)})
			if err != nil {
				failed[i] = fmt.Errorf("room %s: %w", s.GetId(), err)
				return
			}
			results[i] = g.ext.roomView(reply.GetRoom())
		}()
	}
	wg.Wait()
	// A room of the index that does not answer with itself fails the page: retrying helps.
	if err := errors.Join(failed...); err != nil {
		return errRoomUnavailable.because(err)
	}
	writePage(w, r, len(rooms), page, size, results)
	return nil
}

// externalCreateRoom creates a room owned by the delegated user, with the external API's access
// level. The body may give a name (default: a generated one, as the reference product does) and
// a configuration.
func (g *Gateway) externalCreateRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.delegated(r, application.ScopeRoomsCreate)
	if err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	defaultLevel, _ := messages.ParseAccessLevel(g.ext.DefaultAccessLevel) // checked by the configuration
	msg := &messages.CreateRoom{RequestId: requestID(r, u), Caller: callerMessage(u), AccessLevel: defaultLevel}
	// Without a name, the room is named after its slug, as the reference product does.
	if name, present := stringField(fields, "name", errs); present {
		msg.Name = g.validName(name, errs)
	}
	msg.Configuration = g.configurationField(fields, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	reply, err := g.ask(r, newRoomID(r, msg.RequestId), msg)
	if err != nil {
		return err
	}
	g.log.Info("room created by an application", slog.String("room", reply.GetRoom().GetId()), slog.String("user_id", u.ID))
	writeJSON(w, http.StatusCreated, g.ext.roomView(reply.GetRoom()))
	return nil
}

// externalRetrieveRoom shows a room as the delegated user may see it.
func (g *Gateway) externalRetrieveRoom(w http.ResponseWriter, r *http.Request) error {
	u, err := g.delegated(r, application.ScopeRoomsRetrieve)
	if err != nil {
		return err
	}
	id, err := g.roomID(r)
	if err != nil {
		return err
	}
	reply, err := g.ask(r, id, &messages.GetRoom{Caller: callerMessage(u)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g.ext.roomView(reply.GetRoom()))
	return nil
}
