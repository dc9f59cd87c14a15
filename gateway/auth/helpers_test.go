package auth

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// devMountPath is where tests mount the dev issuer, mirroring serve --dev.
const devMountPath = "/dev-oidc"

const testAudience = "meetcoord"

var testClaims = Claims{
	Subject:   "user-123",
	Email:     "ada@example.com",
	FullName:  "Ada Lovelace",
	ShortName: "Ada",
	Language:  "en-GB",
}

// unstartedServer returns a server whose address (and so issuer URL) is known
// before it serves, because the issuer URL must be fixed when the DevIssuer
// is created.
func unstartedServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	return srv, "http://" + srv.Listener.Addr().String() + devMountPath
}

// mountDevIssuer installs d on srv the way the service does and starts srv.
func mountDevIssuer(srv *httptest.Server, d *DevIssuer) {
	mountDevIssuerWrapped(srv, d, nil)
}

// mountDevIssuerWrapped is mountDevIssuer with optional middleware; the
// handler must be final before Start, as the server reads it without locks.
func mountDevIssuerWrapped(srv *httptest.Server, d *DevIssuer, wrap func(http.Handler) http.Handler) {
	mux := http.NewServeMux()
	mux.Handle(devMountPath+"/", http.StripPrefix(devMountPath, d.Handler()))
	srv.Config.Handler = mux
	if wrap != nil {
		srv.Config.Handler = wrap(mux)
	}
	srv.Start()
}

// startDevIssuer creates a DevIssuer with a fresh key file and serves it.
func startDevIssuer(t *testing.T) (*DevIssuer, *httptest.Server, string) {
	t.Helper()
	return startDevIssuerWrapped(t, nil)
}

func startDevIssuerWrapped(t *testing.T, wrap func(http.Handler) http.Handler) (*DevIssuer, *httptest.Server, string) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "dev-oidc.pem")
	srv, issuerURL := unstartedServer(t)
	d, err := LoadOrCreateDevIssuer(keyFile, issuerURL)
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer: %v", err)
	}
	mountDevIssuerWrapped(srv, d, wrap)
	return d, srv, keyFile
}

func mustMint(t *testing.T, d *DevIssuer, c Claims, audience string) string {
	t.Helper()
	tok, err := d.Mint(c, audience, time.Hour)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}
