// Package gateway is the HTTP face of meetcoord: it authenticates callers, validates requests,
// turns each into a protobuf message for the room's grain, and maps the reply to HTTP. It holds
// no room state: rooms are asked, indexes are read.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/livekit/protocol/auth"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"meetcoord/actors/livekit/recordingoutput"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/lobbyid"
	"meetcoord/gateway/marketing"
	"meetcoord/gateway/oidclogin"
	"meetcoord/gateway/openapi"
	"meetcoord/gateway/ratelimit"
	"meetcoord/messages"
)

// Rooms delivers messages to room grains, wherever they live in the cluster. Ask waits at most
// the room request timeout (ROOM_REQUEST_TIMEOUT), less when ctx ends first.
type Rooms interface {
	Ask(ctx context.Context, roomID string, msg proto.Message) (*messages.RoomReply, error)
}

// Directory reads the indexes that room actors maintain.
type Directory interface {
	RoomIDBySlug(ctx context.Context, slug string) (string, bool, error)
	RoomIDByAccess(ctx context.Context, accessID string) (string, bool, error)
	CallbackRoom(ctx context.Context, callbackID string) (string, bool, error)
	RoomsOfUser(ctx context.Context, userID string) ([][]byte, error)
	// AccessListsOfRooms returns the indexed accesses of each room (encoded messages.AccessList)
	// in one round trip, nil for a room with none indexed (unknown, or stored before the index).
	AccessListsOfRooms(ctx context.Context, roomIDs []string) ([][]byte, error)
	RecordingsOfUser(ctx context.Context, userID string) ([][]byte, error)
	RoomOfRecording(ctx context.Context, recordingID string) (string, bool, error)
}

// Users keeps user records (created on first sight of a token).
type Users interface {
	GetUser(ctx context.Context, userID string) ([]byte, bool, error)
	// SaveUser stores a record and indexes its email; created is true for exactly one first save.
	SaveUser(ctx context.Context, userID, email string, record []byte) (created bool, err error)
	// CreateUser stores a record only if the user does not exist yet; an existing one is kept.
	CreateUser(ctx context.Context, userID, email string, record []byte) (created bool, err error)
	// UserOfSubject is the id an OIDC subject logs in as: ownID, or the provisional user
	// (provisionalID, "" for none) it claimed, now or before.
	UserOfSubject(ctx context.Context, subject, ownID, provisionalID string) (string, error)
	// LinkedUserOfSubject is the id of the user a subject logged in as (found=false when it
	// never did); it writes nothing.
	LinkedUserOfSubject(ctx context.Context, subject string) (userID string, found bool, err error)
	// SearchUsersByEmail returns at most limit records whose lowercased email starts with prefix.
	SearchUsersByEmail(ctx context.Context, prefix string, limit int) ([][]byte, error)
	// UserPreferences returns the preferences a user has (name -> value), kept apart from the
	// record so that a re-save of the record never undoes them.
	UserPreferences(ctx context.Context, userID string) (map[string]string, error)
	// SetUserPreferences sets the given preferences in one step and keeps the others.
	SetUserPreferences(ctx context.Context, userID string, prefs map[string]string) error
	// InitUserPreference sets a preference only if the user has none yet.
	InitUserPreference(ctx context.Context, userID, name, value string) error
}

// Signups hears of each new user (the marketing contact); it must return at once.
type Signups interface {
	SignedUp(c marketing.Contact)
}

// Config is what the gateway needs.
type Config struct {
	Rooms     Rooms
	Directory Directory
	Users     Users
	Verifier  gwauth.Verifier // OIDC bearer tokens
	// Ready reports whether the node can serve (store reachable, cluster joined).
	Ready func(ctx context.Context) error
	// Members is how many cluster members this node sees (shown by /readyz).
	Members func() int

	// RateLimits builds the named rate limits of invitations, creation callbacks and application
	// tokens; nil: each node limits on its own (ratelimit.NewLocal). With Redis they are shared,
	// so that a client behind a load balancer gets each allowance once, not once per node.
	RateLimits func(name string, r ratelimit.Rate) ratelimit.Limiter

	LobbyCookieName   string
	LobbyCookieSecure bool
	LobbyKey          lobbyid.Key // SECRET_KEY: participant ids from lobby secrets
	// TrustedProxies: peers whose X-Forwarded-For names the client (TRUSTED_PROXIES).
	TrustedProxies       []netip.Prefix
	RequestEntryRate     ratelimit.Rate
	CreationCallbackRate ratelimit.Rate
	RoomCreationRate     ratelimit.Rate // ROOM_CREATION_THROTTLE_RATES, per user
	DefaultAccessLevel   string
	ValidSource          func(string) bool
	// LanguageCode is a user's language until they choose one, unless their first login's
	// locale is one of LanguageCodes (the front end's languages).
	LanguageCode  string
	LanguageCodes []string

	WebhookKeys      auth.KeyProvider
	RecordingEnabled bool
	// RecordingStorage is the bucket egress writes recordings to: it names their keys and
	// signs the downloads that recordings/media-auth/ lets through.
	RecordingStorage recordingoutput.RecordingOutput
	// RecordingExpirationDays (RECORDING_EXPIRATION_DAYS, 0: never) dates a recording's expiry.
	RecordingExpirationDays int
	// Now is the gateway's clock (expiry, download signatures); nil: the system clock.
	Now func() time.Time
	// LiveKit participants authenticate with LiveKit tokens signed with the API secret.
	LiveKitAPIKey        string
	LiveKitAPISecret     string
	ForbiddenPermissions []string // PARTICIPANT_FORBIDDEN_PERMISSION_FIELDS
	WebhookRoomFilter    *regexp.Regexp

	// Inviter sends invitation emails (POST rooms/{room}/invite/); nil: answered 503.
	Inviter Inviter
	// InvitationsRate bounds the invitation emails (addresses) of each user (INVITATION_THROTTLE_RATES).
	InvitationsRate ratelimit.Rate

	// FrontendConfig is served as is by GET config/.
	FrontendConfig map[string]any

	Logger   *slog.Logger
	Registry *prometheus.Registry
	// MetricsElsewhere: /metrics is served on its own listener (METRICS_ADDR), not the API's.
	MetricsElsewhere bool
	// Extra routes mounted beside the API (the development OIDC issuer).
	Mount map[string]http.Handler
	// ExternalAPI mounts /external-api/v1.0/ (EXTERNAL_API_ENABLED); nil: not mounted.
	ExternalAPI *ExternalAPI
	// CORSAllowedOrigins may call the API from another origin, credentials included
	// (CORS_ALLOWED_ORIGINS, exact scheme://host[:port]); empty: same origin only.
	CORSAllowedOrigins []string
	// Frontend serves every GET that no route takes, outside the API paths (FRONTEND_DIR, a
	// single-page app on the API's origin); nil: those are 404s.
	Frontend http.Handler

	// Browser login (login.go, sessions.go); nil Login: bearer tokens only.
	Login    *oidclogin.Client
	Sessions Sessions
	Browser  BrowserSettings
	// Signups is told of new users (nil: nobody).
	Signups Signups
}

// Gateway serves the HTTP API.
type Gateway struct {
	cfg               Config
	log               *slog.Logger
	hot               hotRoutes // the routes served before the router (hotroutes.go)
	users             *userCache
	entryLimit        ratelimit.Limiter
	knockLimit        ratelimit.Limiter // new lobby entries, per address
	callbackLimit     ratelimit.Limiter
	roomCreationLimit ratelimit.Limiter // per user, across the cluster
	inviteLimit       ratelimit.Limiter // one token per address
	metrics           *metrics
	loginMetrics      *prometheus.CounterVec
	router            *mux.Router
	handler           http.Handler // router behind CORS and the guard
	ext               *externalAPI // nil when the external API is off
}

// New builds the gateway and its routes.
func New(cfg Config) *Gateway {
	g := &Gateway{
		cfg:   cfg,
		log:   cfg.Logger,
		users: newUserCache(cfg.Users, cfg.Signups, cfg.languageOfLocale),
		// The poll limit stays in each node: a poll is the hot path and never writes, and a
		// Redis call per poll halved the node's poll throughput (see README). The others guard
		// rarer requests and outside resources (new entries, mail, credentials), exactly.
		entryLimit: ratelimit.NewLocal(cfg.RequestEntryRate),
		// New lobby entries per address, across the cluster (a node each would multiply it);
		// only knocks that create an entry pay the Redis call, never polls.
		knockLimit:        cfg.rateLimit("lobby-knock", cfg.RequestEntryRate),
		callbackLimit:     cfg.rateLimit("creation-callback", cfg.CreationCallbackRate),
		roomCreationLimit: cfg.rateLimit("room-creation", cfg.RoomCreationRate),
		inviteLimit:       cfg.rateLimit("invitations", cfg.InvitationsRate),
		metrics:           newMetrics(cfg.Registry),
		// No path cleaning: gorilla/mux answers a path with dot segments or double slashes
		// with a 301 to the cleaned path, which API clients do not follow with their POST body
		// (fuzzing found it); such a path is simply not a route (a JSON 404).
		router: mux.NewRouter().SkipClean(true),
	}
	g.ext = newExternalAPI(cfg, cfg.Registry)
	if g.browserLogin() {
		g.loginMetrics = newLoginMetrics(cfg.Registry)
	}
	g.routes()
	g.handler = g.guard(withCORS(cfg.CORSAllowedOrigins, g.withHotRoutes(g.router)))
	return g
}

func (g *Gateway) routes() {
	r := g.router
	r.Use(g.instrument)
	r.HandleFunc("/healthz", g.healthz).Methods(http.MethodGet)
	r.HandleFunc("/readyz", g.readyz).Methods(http.MethodGet)
	if !g.cfg.MetricsElsewhere {
		r.Handle("/metrics", g.metricsHandler()).Methods(http.MethodGet)
	}
	for prefix, h := range g.cfg.Mount {
		r.PathPrefix(prefix).Handler(http.StripPrefix(prefix, h))
	}

	// API routes are registered on the root router with full paths: inside a gorilla/mux
	// subrouter a method mismatch ends as a 404 instead of a 405.
	api := prefixed{router: r, prefix: "/api/v1.0"}
	// The busiest routes first: gorilla/mux tries routes in order, a regular expression each,
	// and lobby polls (every waiting guest, every few seconds) and LiveKit's webhooks (every
	// participant's comings and goings) are most of the traffic. No route registered later
	// matches their paths, so the order changes only the cost.
	entry := api.HandleFunc("/rooms/{room}/request-entry/", g.handle(g.requestEntry)).Methods(http.MethodPost)
	webhook := api.HandleFunc("/rooms/webhooks-livekit/", g.handle(g.livekitWebhook)).Methods(http.MethodPost)
	if !mountedUnder(g.cfg.Mount, roomsPath) {
		g.hot = hotRoutes{requestEntry: entry, webhook: webhook} // hotroutes.go
	}
	// The API description; ServeHTTP has added the slash that API paths end with.
	api.HandleFunc("/openapi.json/", openapi.Handler().ServeHTTP).Methods(http.MethodGet)
	api.HandleFunc("/users/me/", g.handle(g.usersMe)).Methods(http.MethodGet)
	api.HandleFunc("/config/", g.frontendConfig).Methods(http.MethodGet)
	api.HandleFunc("/users/", g.handle(g.searchUsers)).Methods(http.MethodGet)
	api.HandleFunc("/users/{user}/", g.handle(g.updateUser)).Methods(http.MethodPut, http.MethodPatch)
	if g.browserLogin() {
		api.HandleFunc("/authenticate/", g.handle(g.authenticateBrowser)).Methods(http.MethodGet)
		api.HandleFunc("/callback/", g.handleCounting(g.loginMetrics, g.loginCallback)).Methods(http.MethodGet)
		api.HandleFunc("/logout/", g.handle(g.logoutBrowser)).Methods(http.MethodGet)
	}

	api.HandleFunc("/rooms/", g.handle(g.listRooms)).Methods(http.MethodGet)
	api.HandleFunc("/rooms/", g.handle(g.createRoom)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/creation-callback/", g.handle(g.creationCallback)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/", g.handle(g.retrieveRoom)).Methods(http.MethodGet)
	api.HandleFunc("/rooms/{room}/", g.handle(g.updateRoom)).Methods(http.MethodPut, http.MethodPatch)
	api.HandleFunc("/rooms/{room}/", g.handle(g.deleteRoom)).Methods(http.MethodDelete)
	api.HandleFunc("/rooms/{room}/waiting-participants/", g.handle(g.waitingParticipants)).Methods(http.MethodGet)
	api.HandleFunc("/rooms/{room}/enter/", g.handle(g.enter)).Methods(http.MethodPost)

	api.HandleFunc("/rooms/{room}/mute-participant/", g.handle(g.muteParticipant)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/update-participant/", g.handle(g.updateParticipant)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/remove-participant/", g.handle(g.removeParticipant)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/start-subtitle/", g.handle(g.startSubtitle)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/toggle-hand/", g.handle(g.toggleHand)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/rename/", g.handle(g.renameParticipant)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/update-participant-role/", g.handle(g.updateParticipantRole)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/invite/", g.handle(g.invite)).Methods(http.MethodPost)

	api.HandleFunc("/rooms/{room}/start-recording/", g.handle(g.startRecording)).Methods(http.MethodPost)
	api.HandleFunc("/rooms/{room}/stop-recording/", g.handle(g.stopRecording)).Methods(http.MethodPost)
	api.HandleFunc("/recordings/", g.handle(g.listRecordings)).Methods(http.MethodGet)
	// Before recordings/{recording}/, which would take "media-auth" for a recording id.
	api.HandleFunc("/recordings/media-auth/", g.handle(g.recordingMediaAuth)).Methods(http.MethodGet)
	api.HandleFunc("/recordings/{recording}/", g.handle(g.retrieveRecording)).Methods(http.MethodGet)

	api.HandleFunc("/resource-accesses/", g.handle(g.listAccesses)).Methods(http.MethodGet)
	api.HandleFunc("/resource-accesses/", g.handle(g.createAccess)).Methods(http.MethodPost)
	api.HandleFunc("/resource-accesses/{access}/", g.handle(g.updateAccess)).Methods(http.MethodPut, http.MethodPatch)
	api.HandleFunc("/resource-accesses/{access}/", g.handle(g.deleteAccess)).Methods(http.MethodDelete)

	if g.ext != nil {
		g.externalRoutes(prefixed{router: r, prefix: "/external-api/v1.0"})
	}

	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if g.cfg.Frontend != nil && !reservedForAPI(req.URL.Path) {
			g.cfg.Frontend.ServeHTTP(w, req)
			return
		}
		errNotFound.write(w)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		methodNotAllowed(req.Method).write(w)
	})
}

// mountedUnder tells whether a mount's prefix takes some of the paths under path (the router
// tries mounts before the API's routes).
func mountedUnder(mounts map[string]http.Handler, path string) bool {
	for prefix := range mounts {
		if strings.HasPrefix(prefix, path) || strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// now is the gateway's clock.
func (g *Gateway) now() time.Time {
	if g.cfg.Now != nil {
		return g.cfg.Now()
	}
	return time.Now()
}

// reservedForAPI tells the paths that never reach the front end: an unknown API path stays a
// JSON 404 (clients read that, not a page), and /media/ is where the reference deployment serves
// recordings, so a missing one must not download as index.html.
func reservedForAPI(path string) bool {
	for _, prefix := range []string{"/api/", "/external-api/", "/media/"} {
		if strings.HasPrefix(path, prefix) || path+"/" == prefix {
			return true
		}
	}
	return false
}

// prefixed registers routes on a router under a path prefix.
type prefixed struct {
	router *mux.Router
	prefix string
}

func (p prefixed) HandleFunc(path string, f http.HandlerFunc) *mux.Route {
	return p.router.HandleFunc(p.prefix+path, f)
}

// ServeHTTP serves a request: API paths work with or without their trailing slash.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	api := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/external-api/")
	if api && !strings.HasSuffix(r.URL.Path, "/") {
		r.URL.Path += "/"
		r.URL.RawPath = ""
	}
	g.handler.ServeHTTP(w, r)
}
