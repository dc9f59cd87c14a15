// Package config loads a meetcoord node's configuration from its environment (and the optional
// MEETCOORD_CONFIG_FILE) and checks it, reporting every bad or missing variable at once.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"meetcoord/actors/livekit"
	"meetcoord/cluster"
	"meetcoord/gateway/frontend"
	"meetcoord/gateway/lobbyid"
	"meetcoord/gateway/ratelimit"
	"meetcoord/messages"
)

// Config is the service's configuration (../shared/spec/config.md).
type Config struct {
	Dev bool

	ListenAddr string
	RedisURL   string

	ClusterProvider      string
	ClusterName          string
	ClusterAdvertiseAddr string
	ClusterPort          int
	EtcdEndpoints        []string
	// CLUSTER_SEEDS: host:port of every member's automanaged health endpoint.
	ClusterSeeds []string
	// CLUSTER_AUTOMANAGED_PORT: where this member's automanaged health endpoint listens (on the
	// advertised address only).
	ClusterAutomanagedPort int
	// POD_NAME, POD_NAMESPACE (k8s provider, from the downward API): the Pod this node runs in;
	// KUBECONFIG: the API server outside a cluster (empty: the Pod's service account).
	PodName      string
	PodNamespace string
	Kubeconfig   string
	// One activation request to a room's owner; the request as a whole retries until its deadline.
	ClusterActivationTimeout time.Duration
	// How long, after leaving the membership, a member keeps answering (with "moved") so that
	// the others' views drop it before its address goes silent.
	ClusterLeaveGrace time.Duration
	// SHUTDOWN_DELAY: after SIGTERM, how long the node keeps serving while /readyz already
	// reports it shutting down, so that load balancers stop sending before connections close.
	ShutdownDelay time.Duration
	// How long a member may find itself outside the membership before it exits so that its
	// supervisor restarts it (it is not ready meanwhile).
	ClusterRejoinTimeout time.Duration
	// CLUSTER_LEASE_TTL (etcd): how long a member's registration outlives its last renewal; a
	// member starved of CPU for less stays in, one that hangs is dropped after it.
	ClusterLeaseTTL time.Duration
	// CLUSTER_HEARTBEAT_EXPIRATION: how long a member's gossip heartbeat may go unseen before
	// the others block it for good (above the lease, which then decides).
	ClusterHeartbeatExpiration time.Duration

	LiveKitAPIURL         string
	LiveKitPublicURL      string
	LiveKitAPIKey         string
	LiveKitAPISecret      string
	LiveKitVerifySSL      bool
	LiveKitDefaultSources []string
	LiveKitTimeout        time.Duration
	WebhookRoomFilter     *regexp.Regexp // nil: every room

	OIDCIssuer   string
	OIDCAudience string
	DevKeyFile   string // dev mode: key shared with `meetcoord dev-token`

	LobbyWaitingTimeout       time.Duration
	LobbyDeniedTimeout        time.Duration
	LobbyAcceptedTimeout      time.Duration
	LobbyNotificationType     string
	LobbyCookieName           string
	LobbyCookieSecure         bool
	LobbyMaxWaiting           int // waiting entries per room
	LobbyMaxWaitingPerAddress int // of them, made from one address
	// TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// SECRET_KEY: the server key lobby participant ids are derived with; the same on every
	// node. Dev mode draws one per process when unset.
	SecretKey            string
	CreationCallbackTTL  time.Duration
	RequestEntryRate     ratelimit.Rate
	CreationCallbackRate ratelimit.Rate
	RoomCreationRate     ratelimit.Rate // ROOM_CREATION_THROTTLE_RATES, per user across the cluster
	CanEditDisplayName   bool
	DefaultAccessLevel   string
	RecordingEnabled     bool
	RecordingOutput      livekit.RecordingOutput
	// RECORDING_EXPIRATION_DAYS: how long a recording can be retrieved (0: forever);
	// RECORDING_MAX_DURATION: the limit the front end shows, in its own unit (0: none).
	RecordingExpirationDays int
	RecordingMaxDuration    int
	// LANGUAGE_CODE: the default language of users and of the front end (one of LanguageCodes).
	LanguageCode string
	// RECORDING_NOTIFICATION_*: where saved recordings are announced (empty URL: nowhere, they
	// stay saved), the bearer token sent, and the bound of one notice with its retries.
	RecordingNotificationURL     string
	RecordingNotificationToken   string
	RecordingNotificationTimeout time.Duration
	TelephonyEnabled             bool
	TelephonyPhoneNumber         string
	TelephonyDefaultCountry      string
	DialIn                       *DialIn // the phone number formatted; nil: none to show
	TelephonyPinLength           int
	TelephonyPinMaxRetries       int
	ReconcileInterval            time.Duration
	SubtitleEnabled              bool
	SubtitleAgentName            string
	ForbiddenPermissions         []string

	// Invitations by email. EmailHost empty: no SMTP (dev mode logs the emails instead, and
	// otherwise the endpoint answers 503).
	EmailHost      string
	EmailPort      int
	EmailUser      string
	EmailPassword  string
	EmailUseTLS    bool // STARTTLS, required
	EmailUseSSL    bool // implicit TLS (SMTPS)
	EmailFrom      string
	EmailTimeout   time.Duration // one email, queueing included
	EmailWorkers   int
	EmailQueueSize int
	AppBaseURL     string // front end; a room's link is APP_BASE_URL/slug
	// FRONTEND_DIR: a built front end served at / on the API's origin; empty: none.
	FrontendDir string
	// CORS_ALLOWED_ORIGINS: origins (scheme://host[:port]) whose pages may call the API,
	// credentials included; empty: the API's own origin only.
	CORSAllowedOrigins []string
	// INVITATION_THROTTLE_RATES: invitation emails (addresses, not requests) per user, so that an
	// account cannot relay spam through our SMTP server.
	InvitationsRate ratelimit.Rate

	ExternalAPI ExternalAPIConfig

	// FRONTEND_*: passed through to the front end in GET config/.
	Frontend FrontendSettings

	// Browser login (README "Browser login"): on when OIDCClientID is set. DevLogin: dev mode
	// without OIDC_ISSUER logs browsers in through the development issuer's login page.
	DevLogin            bool
	OIDCClientID        string
	OIDCClientSecret    string
	OIDCRedirectURI     string // default: APP_BASE_URL + /api/v1.0/callback/
	OIDCScopes          []string
	LoginRedirectURL    string
	LogoutRedirectURL   string
	SessionCookieAge    time.Duration
	SessionCookieName   string
	SessionCookieSecure bool
	CSRFCookieName      string

	// Marketing contact of new users (Brevo).
	MarketingSignup bool
	BrevoAPIKey     string
	BrevoAPIURL     string
	BrevoListIDs    []int
	BrevoAttributes map[string]any
	BrevoTimeout    time.Duration

	HTTP HTTPLimits
	// METRICS_ADDR: a listener of its own for /metrics (empty: the API's listener serves it).
	MetricsAddr string

	RoomIdleTimeout time.Duration // passivation
	RequestTimeout  time.Duration // one request to a room grain
	StoreTimeout    time.Duration
	LogLevel        string
}

// Load reads the configuration from getenv (os.Getenv in production). Dev mode only fills
// in defaults: every variable set is still honoured. A missing required setting or an
// unparsable value is an error naming the variable.
func Load(getenv func(string) string, dev bool) (Config, error) {
	e := env{get: getenv}
	c := Config{
		Dev:                       dev,
		ListenAddr:                e.str("LISTEN_ADDR", "127.0.0.1:8080"),
		RedisURL:                  e.str("REDIS_URL", ""),
		ClusterProvider:           e.str("CLUSTER_PROVIDER", "none"),
		ClusterName:               e.str("CLUSTER_NAME", "meetcoord"),
		ClusterAdvertiseAddr:      e.str("CLUSTER_ADVERTISE_ADDR", "127.0.0.1"),
		ClusterPort:               e.integer("CLUSTER_PORT", 0),
		EtcdEndpoints:             e.list("ETCD_ENDPOINTS", "127.0.0.1:2379"),
		ClusterSeeds:              e.list("CLUSTER_SEEDS", ""),
		ClusterAutomanagedPort:    e.integer("CLUSTER_AUTOMANAGED_PORT", 6330),
		PodName:                   e.str("POD_NAME", ""),
		PodNamespace:              e.str("POD_NAMESPACE", ""),
		Kubeconfig:                e.str("KUBECONFIG", ""),
		ClusterActivationTimeout:  e.seconds("CLUSTER_ACTIVATION_TIMEOUT", 1),
		ClusterLeaveGrace:         e.seconds("CLUSTER_LEAVE_GRACE", 1),
		ClusterRejoinTimeout:      e.seconds("CLUSTER_REJOIN_TIMEOUT", 30),
		ShutdownDelay:             e.delay("SHUTDOWN_DELAY"),
		LiveKitAPIURL:             e.str("LIVEKIT_API_URL", "http://127.0.0.1:7880"),
		LiveKitPublicURL:          e.str("LIVEKIT_PUBLIC_URL", ""),
		LiveKitAPIKey:             e.secret("LIVEKIT_API_KEY", devDefault(dev, "devkey")),
		LiveKitAPISecret:          e.secret("LIVEKIT_API_SECRET", devDefault(dev, "secret")),
		LiveKitVerifySSL:          e.boolean("LIVEKIT_VERIFY_SSL", true),
		LiveKitDefaultSources:     e.list("LIVEKIT_DEFAULT_SOURCES", "camera,microphone,screen_share,screen_share_audio"),
		LiveKitTimeout:            e.seconds("LIVEKIT_API_TIMEOUT", 5),
		OIDCIssuer:                e.str("OIDC_ISSUER", ""),
		OIDCAudience:              e.str("OIDC_AUDIENCE", ""),
		DevKeyFile:                e.str("DEV_OIDC_KEY_FILE", filepath.Join(".meetcoord-dev", "oidc-key.pem")),
		LobbyWaitingTimeout:       e.seconds("LOBBY_WAITING_TIMEOUT", 3),
		LobbyDeniedTimeout:        e.seconds("LOBBY_DENIED_TIMEOUT", 5),
		LobbyAcceptedTimeout:      e.seconds("LOBBY_ACCEPTED_TIMEOUT", 21600),
		LobbyNotificationType:     e.str("LOBBY_NOTIFICATION_TYPE", "participantWaiting"),
		LobbyCookieName:           e.str("LOBBY_COOKIE_NAME", "lobbyParticipantId"),
		LobbyCookieSecure:         e.boolean("LOBBY_COOKIE_SECURE", !dev),
		SecretKey:                 e.secret("SECRET_KEY", ""),
		LobbyMaxWaiting:           e.integer("LOBBY_MAX_WAITING", 1000),
		LobbyMaxWaitingPerAddress: e.integer("LOBBY_MAX_WAITING_PER_ADDRESS", 100),
		TrustedProxies:            e.prefixes("TRUSTED_PROXIES"),
		CreationCallbackTTL:       e.seconds("ROOM_CREATION_CALLBACK_CACHE_TIMEOUT", 600),
		RequestEntryRate:          e.rate("REQUEST_ENTRY_THROTTLE_RATES", "150/minute"),
		CreationCallbackRate:      e.rate("CREATION_CALLBACK_THROTTLE_RATES", "600/minute"),
		RoomCreationRate:          e.rate("ROOM_CREATION_THROTTLE_RATES", "60/minute"),
		CanEditDisplayName:        e.boolean("AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME", false),
		DefaultAccessLevel:        e.str("RESOURCE_DEFAULT_ACCESS_LEVEL", "public"),
		RecordingEnabled:          e.boolean("RECORDING_ENABLE", false),
		RecordingOutput: livekit.RecordingOutput{
			Folder:         e.str("RECORDING_OUTPUT_FOLDER", "recordings"),
			Bucket:         e.str("AWS_STORAGE_BUCKET_NAME", ""),
			Endpoint:       e.str("AWS_S3_ENDPOINT_URL", ""),
			Region:         e.str("AWS_S3_REGION_NAME", ""),
			AccessKey:      e.secret("AWS_S3_ACCESS_KEY_ID", ""),
			Secret:         e.secret("AWS_S3_SECRET_ACCESS_KEY", ""),
			ForcePathStyle: e.boolean("AWS_S3_FORCE_PATH_STYLE", true),
		},
		RecordingExpirationDays:      e.integer("RECORDING_EXPIRATION_DAYS", 0),
		RecordingMaxDuration:         e.integer("RECORDING_MAX_DURATION", 0),
		LanguageCode:                 e.str("LANGUAGE_CODE", "en-us"),
		RecordingNotificationURL:     e.str("RECORDING_NOTIFICATION_URL", ""),
		RecordingNotificationToken:   e.secret("RECORDING_NOTIFICATION_TOKEN", ""),
		RecordingNotificationTimeout: e.seconds("RECORDING_NOTIFICATION_TIMEOUT", 30),
		TelephonyEnabled:             e.boolean("ROOM_TELEPHONY_ENABLED", false),
		TelephonyPhoneNumber:         e.str("ROOM_TELEPHONY_PHONE_NUMBER", ""),
		TelephonyDefaultCountry:      e.str("ROOM_TELEPHONY_DEFAULT_COUNTRY", "FR"),
		TelephonyPinLength:           e.integer("ROOM_TELEPHONY_PIN_LENGTH", 10),
		TelephonyPinMaxRetries:       e.integer("ROOM_TELEPHONY_PIN_MAX_RETRIES", 5),
		ReconcileInterval:            e.seconds("ROOM_RECONCILE_INTERVAL", 60),
		SubtitleEnabled:              e.boolean("ROOM_SUBTITLE_ENABLED", false),
		SubtitleAgentName:            e.str("ROOM_SUBTITLE_AGENT_NAME", "multi-user-transcriber"),
		ForbiddenPermissions:         e.list("PARTICIPANT_FORBIDDEN_PERMISSION_FIELDS", "hidden,recorder,agent"),
		EmailHost:                    e.str("EMAIL_HOST", ""),
		EmailPort:                    e.integer("EMAIL_PORT", 25),
		EmailUser:                    e.secret("EMAIL_HOST_USER", ""),
		EmailPassword:                e.secret("EMAIL_HOST_PASSWORD", ""),
		EmailUseTLS:                  e.boolean("EMAIL_USE_TLS", false),
		EmailUseSSL:                  e.boolean("EMAIL_USE_SSL", false),
		EmailFrom:                    e.str("EMAIL_FROM", ""),
		EmailTimeout:                 e.seconds("EMAIL_TIMEOUT", 10),
		EmailWorkers:                 e.integer("EMAIL_WORKERS", 4),
		EmailQueueSize:               e.integer("EMAIL_QUEUE_SIZE", 200),
		InvitationsRate:              e.rate("INVITATION_THROTTLE_RATES", "200/hour"),
		AppBaseURL:                   strings.TrimRight(e.str("APP_BASE_URL", devDefault(dev, devAppBaseURL(getenv))), "/"),
		OIDCClientID:                 e.str("OIDC_RP_CLIENT_ID", ""),
		OIDCClientSecret:             e.secret("OIDC_RP_CLIENT_SECRET", ""),
		OIDCRedirectURI:              e.str("OIDC_REDIRECT_URI", ""),
		OIDCScopes:                   scopes(e.str("OIDC_RP_SCOPES", "openid email")),
		SessionCookieAge:             e.seconds("SESSION_COOKIE_AGE", 43200),
		SessionCookieName:            e.str("SESSION_COOKIE_NAME", "sessionid"),
		SessionCookieSecure:          e.boolean("SESSION_COOKIE_SECURE", !dev),
		CSRFCookieName:               e.str("CSRF_COOKIE_NAME", "csrftoken"),
		MarketingSignup:              e.boolean("SIGNUP_NEW_USER_TO_MARKETING_EMAIL", false),
		BrevoAPIKey:                  e.secret("BREVO_API_KEY", ""),
		BrevoAPIURL:                  e.str("BREVO_API_URL", "https://api.brevo.com/v3"),
		BrevoListIDs:                 e.integers("BREVO_API_CONTACT_LIST_IDS"),
		BrevoAttributes:              e.object("BREVO_API_CONTACT_ATTRIBUTES", `{"VISIO_USER": true}`),
		BrevoTimeout:                 e.seconds("BREVO_API_TIMEOUT", 1),
		MetricsAddr:                  e.str("METRICS_ADDR", ""),
		HTTP: HTTPLimits{
			ReadTimeout:    e.seconds("HTTP_READ_TIMEOUT", 15),
			WriteTimeout:   e.seconds("HTTP_WRITE_TIMEOUT", 30),
			IdleTimeout:    e.seconds("HTTP_IDLE_TIMEOUT", 120),
			MaxHeaderBytes: e.integer("HTTP_MAX_HEADER_BYTES", 32<<10),
			MaxConnections: e.integer("HTTP_MAX_CONNECTIONS", 4096),
		},
		RoomIdleTimeout: e.seconds("ROOM_IDLE_TIMEOUT", 60),
		RequestTimeout:  e.seconds("ROOM_REQUEST_TIMEOUT", 10),
		StoreTimeout:    e.seconds("REDIS_TIMEOUT", 3),
		LogLevel:        e.str("LOG_LEVEL", "info"),
		FrontendDir:     e.str("FRONTEND_DIR", ""),
	}
	c.CORSAllowedOrigins = e.origins("CORS_ALLOWED_ORIGINS")
	// APP_BASE_URL serves invitations, the external API and browser login: its form is checked
	// here once; each feature that needs it requires it below.
	if c.RecordingNotificationURL != "" && !absoluteHTTP(c.RecordingNotificationURL) {
		e.fail("RECORDING_NOTIFICATION_URL", fmt.Sprintf("%q is not an absolute http(s) URL", c.RecordingNotificationURL))
	}
	if c.AppBaseURL != "" && !absoluteHTTP(c.AppBaseURL) {
		e.fail("APP_BASE_URL", fmt.Sprintf("%q is not an absolute http(s) URL", c.AppBaseURL))
	}
	c.ExternalAPI = loadExternalAPI(&e, c.AppBaseURL)
	if c.FrontendDir != "" {
		if _, err := frontend.New(c.FrontendDir); err != nil {
			e.fail("FRONTEND_DIR", err.Error())
		}
	}
	c.Frontend = loadFrontend(&e)
	c.DialIn = dialIn(&e, c)
	if pattern := e.str("LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX", ""); pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			e.fail("LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX", fmt.Sprintf("invalid pattern: %v", err))
		}
		c.WebhookRoomFilter = re
	}
	if c.LiveKitPublicURL == "" {
		c.LiveKitPublicURL = websocketURL(c.LiveKitAPIURL)
	}
	e.require("LIVEKIT_API_KEY", c.LiveKitAPIKey)
	e.require("LIVEKIT_API_SECRET", c.LiveKitAPISecret)
	if !dev {
		e.require("OIDC_ISSUER", c.OIDCIssuer)
	}
	c.membershipTimings(&e)
	switch c.ClusterProvider {
	case "none", "etcd":
	case "k8s":
		if c.PodName == "" {
			e.fail("POD_NAME", "required with CLUSTER_PROVIDER=k8s: the node's Pod (downward API, metadata.name)")
		}
		if c.PodNamespace == "" {
			e.fail("POD_NAMESPACE", "required with CLUSTER_PROVIDER=k8s: the node's Pod's namespace (downward API, metadata.namespace)")
		}
	case "automanaged":
		if len(c.ClusterSeeds) == 0 {
			e.fail("CLUSTER_SEEDS", "required with CLUSTER_PROVIDER=automanaged: host:port of every member's health endpoint (CLUSTER_AUTOMANAGED_PORT)")
		}
	default:
		e.fail("CLUSTER_PROVIDER", fmt.Sprintf("%q is not supported (supported: none, automanaged, etcd, k8s)", c.ClusterProvider))
	}
	c.browserLogin(&e)
	if c.MarketingSignup {
		e.require("BREVO_API_KEY", c.BrevoAPIKey)
	}
	if c.TelephonyPinLength < 4 || c.TelephonyPinLength > 20 {
		e.fail("ROOM_TELEPHONY_PIN_LENGTH", "must be between 4 and 20 digits")
	}
	if _, ok := messages.ParseAccessLevel(c.DefaultAccessLevel); !ok {
		e.fail("RESOURCE_DEFAULT_ACCESS_LEVEL", "must be public, trusted or restricted")
	}
	for _, s := range c.LiveKitDefaultSources {
		if !ValidSource(s) {
			e.fail("LIVEKIT_DEFAULT_SOURCES", fmt.Sprintf("unknown source %q", s))
		}
	}
	c.checkSecretKey(&e)
	if c.LobbyMaxWaiting < 1 {
		e.fail("LOBBY_MAX_WAITING", "must be at least 1")
	}
	if c.LobbyMaxWaitingPerAddress < 1 {
		e.fail("LOBBY_MAX_WAITING_PER_ADDRESS", "must be at least 1")
	}
	c.checkHTTP(&e)
	if c.RecordingExpirationDays < 0 {
		e.fail("RECORDING_EXPIRATION_DAYS", "must be a number of days, 0 or more (0: never)")
	}
	if c.RecordingMaxDuration < 0 {
		e.fail("RECORDING_MAX_DURATION", "must be 0 or more (0: no limit shown)")
	}
	if !slices.Contains(LanguageCodes, c.LanguageCode) {
		e.fail("LANGUAGE_CODE", fmt.Sprintf("%q is not one of %s", c.LanguageCode, strings.Join(LanguageCodes, ", ")))
	}
	c.checkEmail(&e)
	return c, errors.Join(e.errs...)
}

// checkSecretKey requires SECRET_KEY outside dev mode; dev mode draws a random one, which is
// only right for one node (ids of lobby guests differ between nodes with different keys).
func (c *Config) checkSecretKey(e *env) {
	if c.SecretKey == "" && c.Dev {
		b := make([]byte, lobbyid.MinKeyBytes)
		_, _ = rand.Read(b)
		c.SecretKey = hex.EncodeToString(b)
	}
	if c.SecretKey == "" {
		e.fail("SECRET_KEY", fmt.Sprintf("required: at least %d bytes of secret, the same on every node (or SECRET_KEY_FILE)", lobbyid.MinKeyBytes))
	} else if len(c.SecretKey) < lobbyid.MinKeyBytes {
		e.fail("SECRET_KEY", fmt.Sprintf("must be at least %d bytes, got %d", lobbyid.MinKeyBytes, len(c.SecretKey)))
	}
}

// membershipTimings reads how long a member may go unheard before the others drop it
// (docs/decisions.md: why 10 s and 20 s). etcd grants leases of 2 s at least (it raises shorter
// ones), and a heartbeat expiration at or below the lease would block a starved member that the
// lease keeps.
func (c *Config) membershipTimings(e *env) {
	c.ClusterLeaseTTL = time.Duration(e.integer("CLUSTER_LEASE_TTL", 10)) * time.Second
	c.ClusterHeartbeatExpiration = e.seconds("CLUSTER_HEARTBEAT_EXPIRATION", 20)
	if c.ClusterLeaseTTL < 2*time.Second {
		e.fail("CLUSTER_LEASE_TTL", "must be a whole number of seconds, 2 or more (etcd's shortest lease)")
	}
	if c.ClusterHeartbeatExpiration > 0 && c.ClusterHeartbeatExpiration <= c.ClusterLeaseTTL {
		e.fail("CLUSTER_HEARTBEAT_EXPIRATION", fmt.Sprintf("must be more than CLUSTER_LEASE_TTL (%v)", c.ClusterLeaseTTL))
	}
}

// checkHTTP: every bound must be there; a zero would mean "no bound" to net/http.
func (c *Config) checkHTTP(e *env) {
	for name, d := range map[string]time.Duration{
		"HTTP_READ_TIMEOUT": c.HTTP.ReadTimeout, "HTTP_WRITE_TIMEOUT": c.HTTP.WriteTimeout, "HTTP_IDLE_TIMEOUT": c.HTTP.IdleTimeout,
	} {
		if d <= 0 {
			e.fail(name, "must be more than 0 seconds")
		}
	}
	if c.HTTP.MaxHeaderBytes < 1024 {
		e.fail("HTTP_MAX_HEADER_BYTES", "must be at least 1024")
	}
	if c.HTTP.MaxConnections < 1 {
		e.fail("HTTP_MAX_CONNECTIONS", "must be at least 1")
	}
}

// LanguageCodes are the languages the reference front end offers (frontend.md).
var LanguageCodes = []string{"en-us", "fr-fr", "de-de", "nl-nl"}

// checkEmail validates the invitation settings; they only matter when emails can go out (an
// SMTP host, or dev mode's logged emails).
func (c *Config) checkEmail(e *env) {
	if c.EmailUseTLS && c.EmailUseSSL {
		e.fail("EMAIL_USE_SSL", "cannot be combined with EMAIL_USE_TLS (SSL: implicit TLS, usually port 465; TLS: STARTTLS, usually port 587)")
	}
	if c.EmailWorkers < 1 {
		e.fail("EMAIL_WORKERS", "must be at least 1")
	}
	if c.EmailQueueSize < 1 {
		e.fail("EMAIL_QUEUE_SIZE", "must be at least 1")
	}
	if c.EmailHost == "" && !c.Dev {
		return
	}
	if c.EmailHost != "" {
		if c.EmailPort < 1 || c.EmailPort > 65535 {
			e.fail("EMAIL_PORT", "must be a TCP port (1-65535)")
		}
		if c.EmailFrom == "" {
			e.fail("EMAIL_FROM", "required when EMAIL_HOST is set")
		} else if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
			e.fail("EMAIL_FROM", fmt.Sprintf("%q is not an email address: %v", c.EmailFrom, err))
		}
	}
	if c.AppBaseURL == "" {
		e.fail("APP_BASE_URL", "required when EMAIL_HOST is set (invitation links)")
	}
}

// ExternalAPIConfig is the external API's settings (api.md "External API").
type ExternalAPIConfig struct {
	Enabled            bool
	JWTSecret          string
	JWTAlgorithm       string
	JWTIssuer          string
	JWTAudience        string
	JWTExpiration      time.Duration
	DefaultAccessLevel string
	AllowUserCreation  bool
	TokenRate          ratelimit.Rate
	AppBaseURL         string // room URLs in responses
}

// loadExternalAPI reads the external API's settings; they are checked only when it is enabled.
func loadExternalAPI(e *env, appBaseURL string) ExternalAPIConfig {
	x := ExternalAPIConfig{
		Enabled:            e.boolean("EXTERNAL_API_ENABLED", false),
		JWTSecret:          e.secret("APPLICATION_JWT_SECRET_KEY", ""),
		JWTAlgorithm:       e.str("APPLICATION_JWT_ALG", "HS256"),
		JWTIssuer:          e.str("APPLICATION_JWT_ISSUER", ""),
		JWTAudience:        e.str("APPLICATION_JWT_AUDIENCE", ""),
		JWTExpiration:      e.seconds("APPLICATION_JWT_EXPIRATION_SECONDS", 3600),
		DefaultAccessLevel: e.str("EXTERNAL_API_DEFAULT_ACCESS_LEVEL", "trusted"),
		AllowUserCreation:  e.boolean("APPLICATION_ALLOW_USER_CREATION", false),
		TokenRate:          e.rate("APPLICATION_TOKEN_THROTTLE_RATES", "600/minute"),
		AppBaseURL:         appBaseURL,
	}
	if !x.Enabled {
		return x
	}
	switch {
	case x.JWTSecret == "":
		e.fail("APPLICATION_JWT_SECRET_KEY", "required when EXTERNAL_API_ENABLED is true")
	case len(x.JWTSecret) < 32:
		e.fail("APPLICATION_JWT_SECRET_KEY", "must be at least 32 bytes (an HMAC key as long as its hash)")
	}
	switch x.JWTAlgorithm {
	case "HS256", "HS384", "HS512":
	default:
		e.fail("APPLICATION_JWT_ALG", fmt.Sprintf("%q is not supported (HS256, HS384, HS512)", x.JWTAlgorithm))
	}
	if _, ok := messages.ParseAccessLevel(x.DefaultAccessLevel); !ok {
		e.fail("EXTERNAL_API_DEFAULT_ACCESS_LEVEL", "must be public, trusted or restricted")
	}
	if x.AppBaseURL == "" {
		e.fail("APP_BASE_URL", "required when EXTERNAL_API_ENABLED is true (room URLs)")
	}
	return x
}

// browserLogin checks and completes the browser login settings.
func (c *Config) browserLogin(e *env) {
	c.LoginRedirectURL = e.str("LOGIN_REDIRECT_URL", c.AppBaseURL+"/")
	c.LogoutRedirectURL = e.str("LOGOUT_REDIRECT_URL", c.AppBaseURL+"/")
	if c.Dev && c.OIDCIssuer == "" {
		// The development issuer logs browsers in (a page asking a name and an email), so that
		// `make run` is a product a person can use with no identity provider.
		c.DevLogin = true
		if c.OIDCClientID == "" {
			c.OIDCClientID = "meetcoord-dev"
		}
	}
	if c.OIDCClientID == "" {
		return
	}
	if c.OIDCIssuer == "" && !c.DevLogin {
		e.fail("OIDC_RP_CLIENT_ID", "browser login needs OIDC_ISSUER (outside dev mode there is no development issuer)")
	}
	if c.OIDCRedirectURI == "" && c.AppBaseURL != "" {
		c.OIDCRedirectURI = c.AppBaseURL + "/api/v1.0/callback/"
	}
	switch {
	case c.OIDCRedirectURI == "":
		e.fail("OIDC_REDIRECT_URI", "required for browser login (or set APP_BASE_URL to derive it)")
	case !absoluteHTTP(c.OIDCRedirectURI):
		e.fail("OIDC_REDIRECT_URI", fmt.Sprintf("%q is not an absolute http(s) URL", c.OIDCRedirectURI))
	}
	if !slices.Contains(c.OIDCScopes, "openid") {
		e.fail("OIDC_RP_SCOPES", "must include openid")
	}
}

// Cluster is the membership part of the configuration, what cluster.StartNode needs.
func (c Config) Cluster() cluster.Config {
	return cluster.Config{
		Provider:            c.ClusterProvider,
		Name:                c.ClusterName,
		AdvertiseAddr:       c.ClusterAdvertiseAddr,
		Port:                c.ClusterPort,
		EtcdEndpoints:       c.EtcdEndpoints,
		Seeds:               c.ClusterSeeds,
		AutomanagedPort:     c.ClusterAutomanagedPort,
		PodName:             c.PodName,
		PodNamespace:        c.PodNamespace,
		Kubeconfig:          c.Kubeconfig,
		ActivationTimeout:   c.ClusterActivationTimeout,
		LeaveGrace:          c.ClusterLeaveGrace,
		RejoinTimeout:       c.ClusterRejoinTimeout,
		RequestTimeout:      c.RequestTimeout,
		LeaseTTL:            c.ClusterLeaseTTL,
		HeartbeatExpiration: c.ClusterHeartbeatExpiration,
	}
}

// devAppBaseURL is where a dev node's front end is: on the node itself when it serves one
// (FRONTEND_DIR), else on the front end's own development server.
func devAppBaseURL(getenv func(string) string) string {
	if getenv("FRONTEND_DIR") == "" {
		return "http://localhost:3000"
	}
	listen := getenv("LISTEN_ADDR")
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	return "http://" + LoopbackHost(listen)
}

// LoopbackHost is host:port of a listen address as a local browser reaches it: a wildcard
// address (":8080", "0.0.0.0:8080", "[::]:8080") becomes 127.0.0.1.
func LoopbackHost(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// AppOrigin is scheme://host[:port] of APP_BASE_URL, empty when it is not set.
func (c Config) AppOrigin() string {
	u, err := url.Parse(c.AppBaseURL)
	if err != nil || c.AppBaseURL == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// scopes splits OIDC_RP_SCOPES on spaces (the reference product's form) or commas (a YAML list).
func scopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ValidSource says whether s is a LiveKit track source a room may allow.
func ValidSource(s string) bool {
	switch s {
	case "camera", "microphone", "screen_share", "screen_share_audio":
		return true
	}
	return false
}

// websocketURL derives the clients' ws(s) URL from LiveKit's http(s) API URL.
func websocketURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return apiURL
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	return u.String()
}

func devDefault(dev bool, value string) string {
	if dev {
		return value
	}
	return ""
}

// env reads variables and collects every error, so that start-up reports them all at once.
type env struct {
	get  func(string) string
	errs []error
}

func (e *env) fail(name, msg string) { e.errs = append(e.errs, fmt.Errorf("%s: %s", name, msg)) }

func (e *env) require(name, value string) {
	if value == "" {
		e.fail(name, "required (or run with --dev for development defaults)")
	}
}

func (e *env) str(name, def string) string {
	if v := strings.TrimSpace(e.get(name)); v != "" {
		return v
	}
	return def
}

// secret also accepts NAME_FILE, the path of a file holding the value (container secrets).
func (e *env) secret(name, def string) string {
	if path := e.get(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			e.fail(name+"_FILE", err.Error())
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return e.str(name, def)
}

// prefixes reads a comma-separated list of CIDRs (a bare address is its own /32 or /128).
func (e *env) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range e.list(name, "") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			addr, aerr := netip.ParseAddr(v)
			if aerr != nil {
				e.fail(name, fmt.Sprintf("%q is neither a CIDR nor an address", v))
				continue
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

func (e *env) boolean(name string, def bool) bool {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, fmt.Sprintf("%q is not a boolean", v))
	}
	return b
}

func (e *env) integer(name string, def int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.fail(name, fmt.Sprintf("%q is not a non-negative integer", v))
	}
	return n
}

// delay reads a number of seconds that may be zero (the default: no delay).
func (e *env) delay(name string) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		e.fail(name, fmt.Sprintf("%q is not a number of seconds (0 or more)", v))
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// seconds reads a duration given in seconds (decimals allowed), as the reference product does.
func (e *env) seconds(name string, def float64) time.Duration {
	v := e.str(name, "")
	f := def
	if v != "" {
		var err error
		f, err = strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			e.fail(name, fmt.Sprintf("%q is not a positive number of seconds", v))
			return 0
		}
	}
	return time.Duration(f * float64(time.Second))
}

func (e *env) list(name, def string) []string {
	var out []string
	for _, s := range strings.Split(e.str(name, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// origins reads a comma-separated list of web origins (scheme://host[:port], no path). "*" is
// refused: with credentials allowed it would let every site act as the logged-in user.
func (e *env) origins(name string) []string {
	var out []string
	for _, o := range e.list(name, "") {
		u, err := url.Parse(o)
		switch {
		case o == "*" || strings.Contains(o, "*"):
			e.fail(name, "wildcards are not allowed (credentials are): list each origin")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
			e.fail(name, fmt.Sprintf("%q is not an origin (scheme://host[:port])", o))
		default:
			out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
		}
	}
	return out
}

// integers reads a comma-separated list of non-negative integers.
func (e *env) integers(name string) []int {
	var out []int
	for _, s := range e.list(name, "") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			e.fail(name, fmt.Sprintf("%q is not a non-negative integer", s))
			continue
		}
		out = append(out, n)
	}
	return out
}

// object reads a JSON object.
func (e *env) object(name, def string) map[string]any {
	var out map[string]any
	if err := json.Unmarshal([]byte(e.str(name, def)), &out); err != nil || out == nil {
		e.fail(name, "must be a JSON object")
	}
	return out
}

func (e *env) rate(name, def string) ratelimit.Rate {
	r, err := ratelimit.ParseRate(e.str(name, def))
	if err != nil {
		e.fail(name, err.Error())
	}
	return r
}
