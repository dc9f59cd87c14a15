// Package service is meetcoord's composition root: it builds a node from its configuration (store,
// cluster member with room grains, gateway, invitation mail, marketing sign-ups, browser login,
// external API) and serves it over HTTP within the configured limits.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"meetcoord/actors/livekit"
	"meetcoord/actors/recordingwebhook"
	"meetcoord/actors/room"
	"meetcoord/actors/store"
	"meetcoord/cluster"
	"meetcoord/cmd/meetcoord/config"
	"meetcoord/gateway"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/auth/application"
	"meetcoord/gateway/auth/apptoken"
	"meetcoord/gateway/frontend"
	"meetcoord/gateway/invitations"
	"meetcoord/gateway/invitations/mailer"
	"meetcoord/gateway/lobbyid"
	"meetcoord/gateway/marketing"
	"meetcoord/gateway/oidclogin"
	"meetcoord/gateway/ratelimit"
)

// DevIssuerPath is where dev mode serves its OIDC issuer.
const DevIssuerPath = "/dev-oidc"

// Options replace parts of a service, for tests: nil fields get the real thing.
type Options struct {
	LiveKit room.LiveKit
	Clock   room.Clock
	// Stalls replaces the node's stall detector (a test says by hand when the node stood still).
	Stalls room.Stalls
}

// Service is one meetcoord node: store, cluster member with room grains, and HTTP gateway.
type Service struct {
	cfg          config.Config
	log          *slog.Logger
	store        serviceStore
	node         *cluster.Node
	invites      *invitations.Service // nil: invitations not configured
	handler      http.Handler
	metrics      http.Handler // /metrics, for METRICS_ADDR
	shuttingDown atomic.Bool
	// stopWatching ends the subscription to room activations announced by other nodes, and the
	// stall detector's ticks.
	stopWatching context.CancelFunc
	signups      *marketing.Signups // nil when SIGNUP_NEW_USER_TO_MARKETING_EMAIL is off
	// The development issuer and the node's client secret with it, when it logs browsers in
	// (DevLogin); nil otherwise.
	devIssuer       *gwauth.DevIssuer
	devClientSecret string
}

// serviceStore is what the node needs of its store, beyond the rooms' port.
type serviceStore interface {
	room.Store
	gateway.Directory
	gateway.Users
	gateway.Sessions
	gateway.UserEmails
	application.Store
	Ping(ctx context.Context) error
	// WatchActivations announces every room activation in the cluster until ctx ends.
	WatchActivations(ctx context.Context, announce func(roomID string, epoch int64))
}

// recordingNotifier announces saved recordings at RECORDING_NOTIFICATION_URL; nil when unset.
func recordingNotifier(cfg config.Config) room.RecordingNotifier {
	if cfg.RecordingNotificationURL == "" {
		return nil
	}
	return recordingwebhook.New(recordingwebhook.Config{
		URL: cfg.RecordingNotificationURL, Token: cfg.RecordingNotificationToken,
		AppBaseURL: cfg.AppBaseURL, Output: cfg.RecordingOutput,
	})
}

// New assembles a node from its configuration and joins the cluster.
func New(cfg config.Config, logger *slog.Logger, opts Options) (*Service, error) {
	s := &Service{cfg: cfg, log: logger}
	if cfg.RedisURL == "" {
		logger.Warn("REDIS_URL is empty: room state lives in this process only and is lost when it exits (single node only)")
		s.store = store.NewMemory()
	} else {
		store.SetRedisLogger(logger)
		redisStore, err := store.NewRedis(cfg.RedisURL, cfg.StoreTimeout)
		if err != nil {
			return nil, err
		}
		s.store = redisStore
	}
	lk := opts.LiveKit
	if lk == nil {
		lk = livekit.New(livekit.Config{
			URL: cfg.LiveKitAPIURL, APIKey: cfg.LiveKitAPIKey, APISecret: cfg.LiveKitAPISecret,
			VerifyTLS: cfg.LiveKitVerifySSL, Timeout: cfg.LiveKitTimeout, Recording: cfg.RecordingOutput,
		})
	}
	clock := opts.Clock
	if clock == nil {
		clock = room.SystemClock{}
	}
	watchCtx, stopWatching := context.WithCancel(context.Background())
	s.stopWatching = stopWatching
	stalls := opts.Stalls
	if stalls == nil {
		detector := room.NewStallDetector(stallThreshold)
		go detector.Run(watchCtx, stallTick)
		stalls = detector
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	roomProps := room.NewProps(room.Deps{
		Config: room.Config{
			LiveKitPublicURL:        cfg.LiveKitPublicURL,
			LiveKitAPIKey:           cfg.LiveKitAPIKey,
			LiveKitAPISecret:        cfg.LiveKitAPISecret,
			DefaultSources:          cfg.LiveKitDefaultSources,
			WaitingTimeout:          cfg.LobbyWaitingTimeout,
			DeniedTimeout:           cfg.LobbyDeniedTimeout,
			AcceptedTimeout:         cfg.LobbyAcceptedTimeout,
			WaitingNotificationType: cfg.LobbyNotificationType,
			MaxWaiting:              cfg.LobbyMaxWaiting,
			MaxWaitingPerClient:     cfg.LobbyMaxWaitingPerAddress,
			KnockNoticeInterval:     knockNoticeInterval,
			CanEditDisplayName:      cfg.CanEditDisplayName,
			CallbackTTL:             cfg.CreationCallbackTTL,
			SubtitleAgentName:       cfg.SubtitleAgentName,
			TelephonyEnabled:        cfg.TelephonyEnabled,
			PinLength:               cfg.TelephonyPinLength,
			IndexRetries:            cfg.TelephonyPinMaxRetries,
			ReconcileInterval:       cfg.ReconcileInterval,
			IdleTimeout:             cfg.RoomIdleTimeout,
			StoreTimeout:            cfg.StoreTimeout,
			LiveKitTimeout:          cfg.LiveKitTimeout,
			RecordingNoticeTimeout:  cfg.RecordingNotificationTimeout,
		},
		Store:             s.store,
		LiveKit:           lk,
		Clock:             clock,
		Stalls:            stalls,
		Logger:            logger,
		Metrics:           room.NewMetrics(registry),
		RecordingNotifier: recordingNotifier(cfg),
	})
	node, err := cluster.StartNode(cfg.Cluster(), roomProps, logger)
	if err != nil {
		stopWatching()
		return nil, err
	}
	s.node = node
	s.store.WatchActivations(watchCtx, node.RoomActivated)

	abort := func(err error) (*Service, error) {
		stopWatching()
		node.Stop()
		return nil, err
	}
	verifier, mounts, err := s.userAuthentication()
	if err != nil {
		return abort(err)
	}
	if s.invites, err = s.invitations(registry); err != nil {
		return abort(err)
	}
	external, err := s.externalAPI()
	if err != nil {
		return abort(err)
	}
	var inviter gateway.Inviter
	if s.invites != nil {
		inviter = s.invites
	}
	lobbyKey, err := lobbyid.NewKey([]byte(cfg.SecretKey))
	if err != nil {
		return abort(fmt.Errorf("SECRET_KEY: %w", err))
	}
	gcfg := gateway.Config{
		Rooms:                node,
		Directory:            s.store,
		Users:                s.store,
		Verifier:             verifier,
		Ready:                s.ready,
		Members:              node.Members,
		LobbyCookieName:      cfg.LobbyCookieName,
		LobbyCookieSecure:    cfg.LobbyCookieSecure,
		LobbyKey:             lobbyKey,
		TrustedProxies:       cfg.TrustedProxies,
		RequestEntryRate:     cfg.RequestEntryRate,
		CreationCallbackRate: cfg.CreationCallbackRate,
		RoomCreationRate:     cfg.RoomCreationRate,
		DefaultAccessLevel:   cfg.DefaultAccessLevel,
		ValidSource:          config.ValidSource,
		LanguageCode:         cfg.LanguageCode,
		LanguageCodes:        config.LanguageCodes,
		WebhookKeys:          auth.NewSimpleKeyProvider(cfg.LiveKitAPIKey, cfg.LiveKitAPISecret),
		RecordingEnabled:     cfg.RecordingEnabled,
		LiveKitAPIKey:        cfg.LiveKitAPIKey,
		LiveKitAPISecret:     cfg.LiveKitAPISecret,
		ForbiddenPermissions: cfg.ForbiddenPermissions,
		WebhookRoomFilter:    cfg.WebhookRoomFilter,
		Inviter:              inviter,
		InvitationsRate:      cfg.InvitationsRate,
		FrontendConfig:       frontendConfig(cfg),
		CORSAllowedOrigins:   cfg.CORSAllowedOrigins,
		Logger:               logger,
		Registry:             registry,
		MetricsElsewhere:     cfg.MetricsAddr != "",
		Mount:                mounts,
		ExternalAPI:          external,
	}
	if redisStore, ok := s.store.(*store.Redis); ok {
		// One allowance per client across the cluster, not one per node.
		gcfg.RateLimits = func(name string, r ratelimit.Rate) ratelimit.Limiter {
			return ratelimit.NewShared(redisStore.Client(), name, r)
		}
	}
	// Set apart from the literal above so that its alignment stays as it was.
	gcfg.RecordingStorage, gcfg.RecordingExpirationDays, gcfg.Now = cfg.RecordingOutput, cfg.RecordingExpirationDays, clock.Now
	if cfg.FrontendDir != "" {
		spa, err := frontend.New(cfg.FrontendDir)
		if err != nil {
			return abort(fmt.Errorf("FRONTEND_DIR: %w", err))
		}
		gcfg.Frontend = spa
	}
	s.browserLogin(&gcfg)
	if cfg.MarketingSignup {
		s.signups = marketing.NewSignups(marketing.NewBrevo(marketing.BrevoConfig{
			BaseURL: cfg.BrevoAPIURL, APIKey: cfg.BrevoAPIKey, ListIDs: cfg.BrevoListIDs, Attributes: cfg.BrevoAttributes,
		}), cfg.BrevoTimeout, logger, registry)
		gcfg.Signups = s.signups
	}
	s.handler = gateway.New(gcfg)
	s.metrics = promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
	return s, nil
}

// MetricsHandler serves /metrics and the Go profiler (/debug/pprof/), for a listener of its own
// (METRICS_ADDR) that the public does not reach: a profile shows what the node is doing, and
// taking one costs CPU, so neither belongs on the API's listener.
func (s *Service) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// browserLogin turns on OIDC browser login and sessions when a client id is configured. Sessions
// live in the node's store: Redis when REDIS_URL is set, so that every node accepts them.
func (s *Service) browserLogin(g *gateway.Config) {
	cfg := s.cfg
	if cfg.OIDCClientID == "" {
		return
	}
	issuer, secret := cfg.OIDCIssuer, cfg.OIDCClientSecret
	if cfg.DevLogin {
		issuer, secret = s.devIssuer.IssuerURL(), s.devClientSecret
	}
	g.Login = oidclogin.New(oidclogin.Config{
		Issuer: issuer, ClientID: cfg.OIDCClientID, ClientSecret: secret,
		RedirectURL: cfg.OIDCRedirectURI, Scopes: cfg.OIDCScopes,
	})
	g.Sessions = s.store
	g.Browser = gateway.BrowserSettings{
		AppOrigin:      cfg.AppOrigin(),
		LoginRedirect:  cfg.LoginRedirectURL,
		LogoutRedirect: cfg.LogoutRedirectURL,
		SessionAge:     cfg.SessionCookieAge,
		SessionCookie:  cfg.SessionCookieName,
		CSRFCookie:     cfg.CSRFCookieName,
		CookieSecure:   cfg.SessionCookieSecure,
	}
}

// userAuthentication is the OIDC verifier, and in dev mode without OIDC_ISSUER the embedded
// development issuer that `meetcoord dev-token` mints for (they share DEV_OIDC_KEY_FILE).
func (s *Service) userAuthentication() (gwauth.Verifier, map[string]http.Handler, error) {
	if s.cfg.OIDCIssuer != "" {
		return gwauth.NewOIDCVerifier(s.cfg.OIDCIssuer, s.cfg.OIDCAudience, nil), nil, nil
	}
	issuer, err := DevIssuer(s.cfg)
	if err != nil {
		return nil, nil, err
	}
	s.log.Warn("development OIDC issuer enabled: never use --dev in production", slog.String("issuer", issuer.IssuerURL()))
	if s.cfg.DevLogin {
		// The node is both the issuer and its only client: the secret never leaves the process.
		s.devClientSecret = s.cfg.OIDCClientSecret
		if s.devClientSecret == "" {
			s.devClientSecret = rand.Text()
		}
		issuer.EnableLogin(gwauth.DevClient{ID: s.cfg.OIDCClientID, Secret: s.devClientSecret, RedirectURI: s.cfg.OIDCRedirectURI})
		s.devIssuer = issuer
	}
	return gwauth.NewOIDCVerifier(issuer.IssuerURL(), s.cfg.OIDCAudience, nil),
		map[string]http.Handler{DevIssuerPath: issuer.Handler()}, nil
}

// externalAPI is the external API's part of the gateway; nil when EXTERNAL_API_ENABLED is off.
func (s *Service) externalAPI() (*gateway.ExternalAPI, error) {
	x := s.cfg.ExternalAPI
	if !x.Enabled {
		return nil, nil
	}
	tokens, err := apptoken.New(apptoken.Config{
		Secret: []byte(x.JWTSecret), Algorithm: x.JWTAlgorithm, Issuer: x.JWTIssuer, Audience: x.JWTAudience,
		TTL: x.JWTExpiration,
	})
	if err != nil {
		return nil, fmt.Errorf("external API tokens: %w", err)
	}
	var telephony *gateway.Telephony
	if s.cfg.TelephonyEnabled {
		telephony = &gateway.Telephony{PhoneNumber: s.cfg.TelephonyPhoneNumber, DefaultCountry: s.cfg.TelephonyDefaultCountry}
	}
	return &gateway.ExternalAPI{
		Applications:       application.NewRegistry(s.store),
		UserEmails:         s.store,
		Tokens:             tokens,
		TokenRate:          x.TokenRate,
		AllowUserCreation:  x.AllowUserCreation,
		DefaultAccessLevel: x.DefaultAccessLevel,
		AppBaseURL:         x.AppBaseURL,
		Telephony:          telephony,
	}, nil
}

// DevIssuer is the development issuer of a dev-mode configuration.
func DevIssuer(cfg config.Config) (*gwauth.DevIssuer, error) {
	if !cfg.Dev {
		return nil, errors.New("the development OIDC issuer exists only in dev mode")
	}
	host := cfg.ListenAddr
	if strings.HasPrefix(host, ":") || strings.HasPrefix(host, "0.0.0.0:") {
		host = "127.0.0.1:" + host[strings.LastIndex(host, ":")+1:]
	}
	issuer, err := gwauth.LoadOrCreateDevIssuer(cfg.DevKeyFile, "http://"+host+DevIssuerPath)
	if err != nil {
		return nil, fmt.Errorf("development OIDC issuer: %w", err)
	}
	return issuer, nil
}

// invitations is the email sender of POST rooms/{room}/invite/: SMTP when EMAIL_HOST is set,
// the log in dev mode without it, else none (the endpoint answers 503).
func (s *Service) invitations(registry prometheus.Registerer) (*invitations.Service, error) {
	var m invitations.Mailer
	switch {
	case s.cfg.EmailHost != "":
		security := mailer.Plain
		switch {
		case s.cfg.EmailUseTLS:
			security = mailer.StartTLS
		case s.cfg.EmailUseSSL:
			security = mailer.ImplicitTLS
		}
		smtp, err := mailer.NewSMTP(mailer.Config{
			Host: s.cfg.EmailHost, Port: s.cfg.EmailPort, Username: s.cfg.EmailUser, Password: s.cfg.EmailPassword,
			Security: security, From: s.cfg.EmailFrom,
		})
		if err != nil {
			return nil, err
		}
		m = smtp
	case s.cfg.Dev:
		s.log.Warn("EMAIL_HOST is empty: invitation emails are logged, not sent (dev mode)")
		m = mailer.Log{Logger: s.log}
	default:
		return nil, nil
	}
	return invitations.New(invitations.Config{
		BaseURL: s.cfg.AppBaseURL, Workers: s.cfg.EmailWorkers, QueueSize: s.cfg.EmailQueueSize,
		Timeout: s.cfg.EmailTimeout, Logger: s.log, Registry: registry,
	}, m)
}

// Handler is the node's HTTP handler (API, webhooks, health, metrics).
func (s *Service) Handler() http.Handler { return s.handler }

func (s *Service) ready(ctx context.Context) error {
	if s.shuttingDown.Load() {
		return &gateway.NotReadyError{Part: "shutdown", Cause: errors.New("shutting down")}
	}
	// Bounded as every store command of a request is (REDIS_TIMEOUT): the store is ready when it
	// answers within the time a request would wait for it. A fixed, shorter bound made a starved
	// but working node unready for one probe (TestStarvedMembersStayMembers under stress-ng).
	pingCtx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	if err := s.store.Ping(pingCtx); err != nil {
		return &gateway.NotReadyError{Part: "store", Cause: err}
	}
	if err := s.node.Ready(); err != nil {
		return &gateway.NotReadyError{Part: "cluster", Cause: err}
	}
	return nil
}

// ShuttingDown makes /readyz report the node not ready from now on (it still serves): the first
// step of a graceful stop, so that load balancers stop sending before connections close.
func (s *Service) ShuttingDown() { s.shuttingDown.Store(true) }

// Lost is closed when this node fell out of the cluster membership and did not get back within
// CLUSTER_REJOIN_TIMEOUT: the process should exit so that its supervisor restarts it.
func (s *Service) Lost() <-chan struct{} { return s.node.Lost() }

// Close leaves the cluster, lets queued invitation emails and marketing contacts in flight go
// out (each bounded by EMAIL_TIMEOUT or BREVO_API_TIMEOUT) and releases the store.
func (s *Service) Close() {
	s.node.Stop()
	s.stopWatching()
	if s.invites != nil {
		s.invites.Close()
	}
	if s.signups != nil {
		s.signups.Wait()
	}
	if c, ok := s.store.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// A stall of the node is a gap of more than stallThreshold between the stall detector's ticks,
// stallTick apart: well under the shortest membership lease (CLUSTER_LEASE_TTL, 2 s), so that a
// node that stood still long enough to lose its rooms always finds it, and well above the
// scheduling delays of a busy node, so that the rooms seldom check their epoch for nothing.
const (
	stallThreshold = time.Second
	stallTick      = 200 * time.Millisecond
)

// knockNoticeInterval: admins are told of new knocks at most once a second per room
// (rooms.md "Abuse limits").
const knockNoticeInterval = time.Second
