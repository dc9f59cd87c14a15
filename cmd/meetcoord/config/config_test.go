package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"meetcoord/cluster"
	"meetcoord/gateway/ratelimit"
)

// testServerKey is a SECRET_KEY for configurations outside dev mode.
const testServerKey = "a-test-server-key-of-at-least-32-bytes"

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		dev     bool
		wantErr []string // substrings, each must appear
	}{
		{"production without settings", map[string]string{}, false,
			[]string{"LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "OIDC_ISSUER", "SECRET_KEY"}},
		{"short server key", map[string]string{"SECRET_KEY": "too-short"}, true, []string{"SECRET_KEY", "32 bytes"}},
		{"HTTP bounds off", map[string]string{"HTTP_READ_TIMEOUT": "0", "HTTP_MAX_CONNECTIONS": "0", "HTTP_MAX_HEADER_BYTES": "10"}, true,
			[]string{"HTTP_READ_TIMEOUT", "HTTP_MAX_CONNECTIONS", "HTTP_MAX_HEADER_BYTES"}},
		{"invalid webhook regex", map[string]string{"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX": "(unclosed"}, true,
			[]string{"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX"}},
		{"bad boolean", map[string]string{"LIVEKIT_VERIFY_SSL": "maybe"}, true, []string{"LIVEKIT_VERIFY_SSL"}},
		{"bad duration", map[string]string{"LOBBY_WAITING_TIMEOUT": "-3"}, true, []string{"LOBBY_WAITING_TIMEOUT"}},
		{"bad rate", map[string]string{"REQUEST_ENTRY_THROTTLE_RATES": "lots"}, true, []string{"REQUEST_ENTRY_THROTTLE_RATES"}},
		{"unknown source", map[string]string{"LIVEKIT_DEFAULT_SOURCES": "camera,hologram"}, true, []string{"LIVEKIT_DEFAULT_SOURCES"}},
		{"unknown provider", map[string]string{"CLUSTER_PROVIDER": "carrier-pigeon"}, true, []string{"CLUSTER_PROVIDER"}},
		{"automanaged without seeds", map[string]string{"CLUSTER_PROVIDER": "automanaged"}, true, []string{"CLUSTER_SEEDS"}},
		{"k8s without its pod", map[string]string{"CLUSTER_PROVIDER": "k8s"}, true, []string{"POD_NAME", "POD_NAMESPACE"}},
		{"lease shorter than etcd grants", map[string]string{"CLUSTER_LEASE_TTL": "1"}, true, []string{"CLUSTER_LEASE_TTL"}},
		{"lease in fractions", map[string]string{"CLUSTER_LEASE_TTL": "2.5"}, true, []string{"CLUSTER_LEASE_TTL"}},
		{"heartbeat expiring before the lease", map[string]string{"CLUSTER_LEASE_TTL": "10", "CLUSTER_HEARTBEAT_EXPIRATION": "8"}, true,
			[]string{"CLUSTER_HEARTBEAT_EXPIRATION", "CLUSTER_LEASE_TTL"}},
		{"negative shutdown delay", map[string]string{"SHUTDOWN_DELAY": "-1"}, true, []string{"SHUTDOWN_DELAY"}},
		{"bad access level", map[string]string{"RESOURCE_DEFAULT_ACCESS_LEVEL": "secret"}, true, []string{"RESOURCE_DEFAULT_ACCESS_LEVEL"}},
		{"recording notification: relative URL and bad timeout", map[string]string{"RECORDING_NOTIFICATION_URL": "hooks/recordings", "RECORDING_NOTIFICATION_TIMEOUT": "0"}, true,
			[]string{"RECORDING_NOTIFICATION_URL", "RECORDING_NOTIFICATION_TIMEOUT"}},
		{"missing secret file", map[string]string{"LIVEKIT_API_SECRET_FILE": "/nonexistent/secret"}, true, []string{"LIVEKIT_API_SECRET_FILE"}},
		{"email: STARTTLS and implicit TLS", map[string]string{"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, true, []string{"EMAIL_USE_SSL"}},
		{"email: host without sender, bad link base and port", map[string]string{"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "70000", "APP_BASE_URL": "meet.example.org"}, true,
			[]string{"EMAIL_FROM", "EMAIL_PORT", "APP_BASE_URL"}},
		{"email: host without link base", map[string]string{"EMAIL_HOST": "smtp.example.org", "EMAIL_FROM": "not an address"}, false,
			[]string{"EMAIL_FROM", "APP_BASE_URL"}},
		{"email: empty pool", map[string]string{"EMAIL_WORKERS": "0", "EMAIL_QUEUE_SIZE": "0"}, true, []string{"EMAIL_WORKERS", "EMAIL_QUEUE_SIZE"}},
		{"email: bad invitations rate", map[string]string{"INVITATION_THROTTLE_RATES": "200/fortnight"}, true, []string{"INVITATION_THROTTLE_RATES", "fortnight"}},
		{"external API without its settings", map[string]string{"EXTERNAL_API_ENABLED": "true", "APP_BASE_URL": "meet.example.org",
			"APPLICATION_JWT_ALG": "RS256", "EXTERNAL_API_DEFAULT_ACCESS_LEVEL": "secret"}, true,
			[]string{"APPLICATION_JWT_SECRET_KEY", "APPLICATION_JWT_ALG", "EXTERNAL_API_DEFAULT_ACCESS_LEVEL", "APP_BASE_URL"}},
		{"external API short secret", map[string]string{"EXTERNAL_API_ENABLED": "true", "APPLICATION_JWT_SECRET_KEY": "short"}, true,
			[]string{"APPLICATION_JWT_SECRET_KEY"}},
		{"external API bad rate", map[string]string{"APPLICATION_TOKEN_THROTTLE_RATES": "many"}, true, []string{"APPLICATION_TOKEN_THROTTLE_RATES"}},
		{"browser login without redirect URI", map[string]string{"OIDC_ISSUER": "https://id.example.org", "OIDC_RP_CLIENT_ID": "meet",
			"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}, false, // in dev mode APP_BASE_URL has a default
			[]string{"OIDC_REDIRECT_URI"}},
		{"browser login without an issuer outside dev mode", map[string]string{"OIDC_RP_CLIENT_ID": "meet", "APP_BASE_URL": "https://meet.example.org",
			"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s", "SECRET_KEY": testServerKey}, false,
			[]string{"OIDC_RP_CLIENT_ID", "OIDC_ISSUER"}},
		{"CORS wildcard", map[string]string{"CORS_ALLOWED_ORIGINS": "*"}, true, []string{"CORS_ALLOWED_ORIGINS", "wildcard"}},
		{"CORS entries that are not origins", map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example.org/app,app.example.org,ftp://x.example.org"}, true,
			[]string{`"https://a.example.org/app" is not an origin`, `"app.example.org" is not an origin`, `"ftp://x.example.org" is not an origin`}},
		{"scopes without openid", map[string]string{"OIDC_ISSUER": "https://id.example.org", "OIDC_RP_CLIENT_ID": "meet",
			"APP_BASE_URL": "https://meet.example.org", "OIDC_RP_SCOPES": "email profile"}, true, []string{"OIDC_RP_SCOPES"}},
		{"relative app URL", map[string]string{"APP_BASE_URL": "meet.example.org"}, true, []string{"APP_BASE_URL"}},
		{"front end directory without a build", map[string]string{"FRONTEND_DIR": "/nonexistent/dist"}, true, []string{"FRONTEND_DIR", "index.html"}},
		{"marketing without key", map[string]string{"SIGNUP_NEW_USER_TO_MARKETING_EMAIL": "true"}, true, []string{"BREVO_API_KEY"}},
		{"bad list ids", map[string]string{"BREVO_API_CONTACT_LIST_IDS": "3,seven"}, true, []string{"BREVO_API_CONTACT_LIST_IDS"}},
		{"bad attributes", map[string]string{"BREVO_API_CONTACT_ATTRIBUTES": "[1]"}, true, []string{"BREVO_API_CONTACT_ATTRIBUTES"}},
		{"dial-in number that does not parse", map[string]string{"ROOM_TELEPHONY_ENABLED": "true", "ROOM_TELEPHONY_PHONE_NUMBER": "call us"}, true,
			[]string{"ROOM_TELEPHONY_PHONE_NUMBER"}},
		{"front end settings of the wrong type", map[string]string{"FRONTEND_ANALYTICS": "posthog", "FRONTEND_FEEDBACK": "[]",
			"FRONTEND_IS_SILENT_LOGIN_ENABLED": "sometimes", "FRONTEND_IDLE_DISCONNECT_WARNING_DELAY": "soon", "FRONTEND_MAX_PARTICIPANTS_FOR_SOUND": "-1"}, true,
			[]string{"FRONTEND_ANALYTICS", "FRONTEND_FEEDBACK", "FRONTEND_IS_SILENT_LOGIN_ENABLED", "FRONTEND_IDLE_DISCONNECT_WARNING_DELAY", "FRONTEND_MAX_PARTICIPANTS_FOR_SOUND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(envOf(tt.env), tt.dev)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
		})
	}
}

func TestDevModeOnlyFillsDefaults(t *testing.T) {
	cfg, err := Load(envOf(map[string]string{}), true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LiveKitAPIKey != "devkey" || cfg.LiveKitAPISecret != "secret" || cfg.LobbyCookieSecure || cfg.RedisURL != "" ||
		cfg.LiveKitPublicURL != "ws://127.0.0.1:7880" || cfg.ListenAddr != "127.0.0.1:8080" {
		t.Fatalf("dev defaults not applied: %+v", cfg)
	}
	set := map[string]string{
		"LISTEN_ADDR": "127.0.0.1:9999", "REDIS_URL": "redis://127.0.0.1:6379/3",
		"LIVEKIT_API_URL": "https://lk.example.org", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s",
		"LOBBY_WAITING_TIMEOUT": "1.5", "LOBBY_DENIED_TIMEOUT": "7", "LOBBY_ACCEPTED_TIMEOUT": "60",
		"LOBBY_COOKIE_SECURE": "true", "LOBBY_COOKIE_NAME": "knock", "LOBBY_NOTIFICATION_TYPE": "someoneKnocks",
		"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX": "^meet-",
	}
	cfg, err = Load(envOf(set), true)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"LISTEN_ADDR", cfg.ListenAddr, "127.0.0.1:9999"},
		{"REDIS_URL", cfg.RedisURL, "redis://127.0.0.1:6379/3"},
		{"LIVEKIT_PUBLIC_URL derived", cfg.LiveKitPublicURL, "wss://lk.example.org"},
		{"LIVEKIT_API_KEY", cfg.LiveKitAPIKey, "k"},
		{"LIVEKIT_API_SECRET", cfg.LiveKitAPISecret, "s"},
		{"LOBBY_WAITING_TIMEOUT", cfg.LobbyWaitingTimeout, 1500 * time.Millisecond},
		{"LOBBY_DENIED_TIMEOUT", cfg.LobbyDeniedTimeout, 7 * time.Second},
		{"LOBBY_ACCEPTED_TIMEOUT", cfg.LobbyAcceptedTimeout, time.Minute},
		{"LOBBY_COOKIE_SECURE", cfg.LobbyCookieSecure, true},
		{"LOBBY_COOKIE_NAME", cfg.LobbyCookieName, "knock"},
		{"LOBBY_NOTIFICATION_TYPE", cfg.LobbyNotificationType, "someoneKnocks"},
		{"LIVEKIT_WEBHOOK_EVENTS_FILTER_REGEX", cfg.WebhookRoomFilter.String(), "^meet-"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s with --dev: %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEmailSettings(t *testing.T) {
	password := t.TempDir() + "/smtp-password"
	if err := os.WriteFile(password, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(envOf(map[string]string{
		"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s", "OIDC_ISSUER": "https://id.example.org", "SECRET_KEY": testServerKey,
		"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "587", "EMAIL_HOST_USER": "relay",
		"EMAIL_HOST_PASSWORD_FILE": password, "EMAIL_USE_TLS": "true", "EMAIL_FROM": "Meet <noreply@example.org>",
		"EMAIL_TIMEOUT": "2.5", "EMAIL_WORKERS": "8", "EMAIL_QUEUE_SIZE": "50", "APP_BASE_URL": "https://meet.example.org",
		"INVITATION_THROTTLE_RATES": "20/minute",
	}), false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmailHost != "smtp.example.org" || cfg.EmailPort != 587 || cfg.EmailUser != "relay" || cfg.EmailPassword != "s3cret" ||
		!cfg.EmailUseTLS || cfg.EmailUseSSL || cfg.EmailFrom != "Meet <noreply@example.org>" || cfg.EmailTimeout != 2500*time.Millisecond ||
		cfg.EmailWorkers != 8 || cfg.EmailQueueSize != 50 || cfg.AppBaseURL != "https://meet.example.org" ||
		cfg.InvitationsRate != (ratelimit.Rate{Requests: 20, Per: time.Minute}) {
		t.Fatalf("email settings not applied: %+v", cfg)
	}

	// Without EMAIL_HOST outside dev mode nothing about email is required.
	cfg, err = Load(envOf(map[string]string{"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s", "OIDC_ISSUER": "https://id.example.org", "SECRET_KEY": testServerKey}), false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmailHost != "" || cfg.EmailPort != 25 || cfg.EmailTimeout != 10*time.Second || cfg.EmailWorkers != 4 || cfg.EmailQueueSize != 200 ||
		cfg.InvitationsRate != (ratelimit.Rate{Requests: 200, Per: time.Hour}) {
		t.Fatalf("email defaults: %+v", cfg)
	}
}

func TestConfigFileUnderEnvironment(t *testing.T) {
	path := t.TempDir() + "/meetcoord.yaml"
	if err := os.WriteFile(path, []byte("LOBBY_WAITING_TIMEOUT: 4\nLOBBY_COOKIE_NAME: fromfile\nLIVEKIT_DEFAULT_SOURCES: [camera, microphone]\nLIVEKIT_VERIFY_SSL: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{ConfigFileEnv: path, "LOBBY_COOKIE_NAME": "fromenv"}
	getenv, err := WithConfigFile(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(getenv, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LobbyWaitingTimeout != 4*time.Second || cfg.LobbyCookieName != "fromenv" || cfg.LiveKitVerifySSL ||
		strings.Join(cfg.LiveKitDefaultSources, ",") != "camera,microphone" {
		t.Fatalf("file values not applied under the environment: %+v", cfg)
	}
	if _, err := WithConfigFile(envOf(map[string]string{ConfigFileEnv: "/nonexistent.yaml"})); err == nil || !strings.Contains(err.Error(), ConfigFileEnv) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestExternalAPISettings(t *testing.T) {
	cfg, err := Load(envOf(map[string]string{}), true)
	if err != nil {
		t.Fatal(err)
	}
	x := cfg.ExternalAPI
	if x.Enabled || x.JWTAlgorithm != "HS256" || x.JWTExpiration != time.Hour || x.DefaultAccessLevel != "trusted" ||
		x.AllowUserCreation || x.AppBaseURL != "http://localhost:3000" || x.TokenRate.Requests != 600 {
		t.Fatalf("external API defaults: %+v", x)
	}
	secretFile := t.TempDir() + "/jwt-secret"
	if err := os.WriteFile(secretFile, []byte("a-secret-from-a-file-of-32-bytes-or-more\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(envOf(map[string]string{
		"EXTERNAL_API_ENABLED": "true", "APPLICATION_JWT_SECRET_KEY_FILE": secretFile, "APPLICATION_JWT_ALG": "HS512",
		"APPLICATION_JWT_ISSUER": "meet", "APPLICATION_JWT_AUDIENCE": "calendar", "APPLICATION_JWT_EXPIRATION_SECONDS": "600",
		"EXTERNAL_API_DEFAULT_ACCESS_LEVEL": "restricted", "APPLICATION_ALLOW_USER_CREATION": "true",
		"APP_BASE_URL": "https://meet.example.org",
	}), true)
	if err != nil {
		t.Fatal(err)
	}
	x = cfg.ExternalAPI
	if !x.Enabled || x.JWTSecret != "a-secret-from-a-file-of-32-bytes-or-more" || x.JWTAlgorithm != "HS512" || x.JWTIssuer != "meet" ||
		x.JWTAudience != "calendar" || x.JWTExpiration != 10*time.Minute || x.DefaultAccessLevel != "restricted" ||
		!x.AllowUserCreation || x.AppBaseURL != "https://meet.example.org" {
		t.Fatalf("external API settings: %+v", x)
	}
}

func TestBrowserLoginAndMarketingSettings(t *testing.T) {
	defaults, err := Load(envOf(map[string]string{}), true)
	if err != nil {
		t.Fatal(err)
	}
	if defaults.OIDCClientID != "meetcoord-dev" || !defaults.DevLogin || defaults.OIDCRedirectURI != "http://localhost:3000/api/v1.0/callback/" ||
		defaults.SessionCookieAge != 12*time.Hour || defaults.SessionCookieName != "sessionid" ||
		defaults.CSRFCookieName != "csrftoken" || defaults.SessionCookieSecure || defaults.LoginRedirectURL != "http://localhost:3000/" ||
		defaults.MarketingSignup || defaults.BrevoTimeout != time.Second || defaults.BrevoAttributes["VISIO_USER"] != true ||
		strings.Join(defaults.OIDCScopes, " ") != "openid email" {
		t.Fatalf("defaults: %+v", defaults)
	}
	cfg, err := Load(envOf(map[string]string{
		"OIDC_ISSUER": "https://id.example.org", "OIDC_RP_CLIENT_ID": "meet", "OIDC_RP_CLIENT_SECRET": "s",
		"APP_BASE_URL": "https://meet.example.org/", "OIDC_RP_SCOPES": "openid email profile",
		"SESSION_COOKIE_AGE": "600", "LOGOUT_REDIRECT_URL": "/bye",
		"SIGNUP_NEW_USER_TO_MARKETING_EMAIL": "true", "BREVO_API_KEY": "k", "BREVO_API_CONTACT_LIST_IDS": "3, 7",
		"BREVO_API_TIMEOUT": "0.5",
	}), true)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"OIDC_REDIRECT_URI derived", cfg.OIDCRedirectURI, "https://meet.example.org/api/v1.0/callback/"},
		{"app origin", cfg.AppOrigin(), "https://meet.example.org"},
		{"OIDC_RP_SCOPES", strings.Join(cfg.OIDCScopes, ","), "openid,email,profile"},
		{"LOGIN_REDIRECT_URL default", cfg.LoginRedirectURL, "https://meet.example.org/"},
		{"LOGOUT_REDIRECT_URL", cfg.LogoutRedirectURL, "/bye"},
		{"SESSION_COOKIE_AGE", cfg.SessionCookieAge, 10 * time.Minute},
		{"BREVO_API_CONTACT_LIST_IDS", len(cfg.BrevoListIDs) == 2 && cfg.BrevoListIDs[1] == 7, true},
		{"BREVO_API_TIMEOUT", cfg.BrevoTimeout, 500 * time.Millisecond},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestClusterSettings: the membership part handed to cluster.StartNode carries every CLUSTER_*
// variable, ETCD_ENDPOINTS and ROOM_REQUEST_TIMEOUT.
func TestClusterSettings(t *testing.T) {
	cfg, err := Load(envOf(map[string]string{
		"CLUSTER_PROVIDER": "automanaged", "CLUSTER_NAME": "meet", "CLUSTER_ADVERTISE_ADDR": "10.0.0.7", "CLUSTER_PORT": "6000",
		"ETCD_ENDPOINTS": "etcd-1:2379, etcd-2:2379", "CLUSTER_SEEDS": "10.0.0.7:6330,10.0.0.8:6330", "CLUSTER_AUTOMANAGED_PORT": "6331",
		"CLUSTER_ACTIVATION_TIMEOUT": "2", "CLUSTER_LEAVE_GRACE": "0.5", "CLUSTER_REJOIN_TIMEOUT": "45", "ROOM_REQUEST_TIMEOUT": "7",
		"CLUSTER_LEASE_TTL": "12", "CLUSTER_HEARTBEAT_EXPIRATION": "30",
	}), true)
	if err != nil {
		t.Fatal(err)
	}
	want := cluster.Config{
		Provider: "automanaged", Name: "meet", AdvertiseAddr: "10.0.0.7", Port: 6000,
		EtcdEndpoints: []string{"etcd-1:2379", "etcd-2:2379"}, Seeds: []string{"10.0.0.7:6330", "10.0.0.8:6330"}, AutomanagedPort: 6331,
		ActivationTimeout: 2 * time.Second, LeaveGrace: 500 * time.Millisecond, RejoinTimeout: 45 * time.Second, RequestTimeout: 7 * time.Second,
		LeaseTTL: 12 * time.Second, HeartbeatExpiration: 30 * time.Second,
	}
	if got := cfg.Cluster(); !reflect.DeepEqual(got, want) {
		t.Fatalf("cluster settings:\n got %+v\nwant %+v", got, want)
	}
}

// Dev mode without an identity provider logs browsers in through the development issuer, and a
// node that serves the front end is its own APP_BASE_URL; CORS origins are kept as origins.
func TestDevLoginAndCORSSettings(t *testing.T) {
	dist := t.TempDir()
	if err := os.WriteFile(dist+"/index.html", []byte("<!doctype html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(envOf(map[string]string{"FRONTEND_DIR": dist, "LISTEN_ADDR": ":9090",
		"CORS_ALLOWED_ORIGINS": "https://App.example.org/, http://localhost:3000"}), true)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"APP_BASE_URL from LISTEN_ADDR", cfg.AppBaseURL, "http://127.0.0.1:9090"},
		{"OIDC_REDIRECT_URI", cfg.OIDCRedirectURI, "http://127.0.0.1:9090/api/v1.0/callback/"},
		{"dev login", cfg.DevLogin, true},
		{"client id", cfg.OIDCClientID, "meetcoord-dev"},
		{"CORS_ALLOWED_ORIGINS", strings.Join(cfg.CORSAllowedOrigins, " "), "https://app.example.org http://localhost:3000"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	withIssuer, err := Load(envOf(map[string]string{"OIDC_ISSUER": "https://id.example.org"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if withIssuer.DevLogin || withIssuer.OIDCClientID != "" {
		t.Errorf("a real issuer in dev mode: dev login %v, client id %q; want neither", withIssuer.DevLogin, withIssuer.OIDCClientID)
	}
}
