package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestOIDCVerifierAcceptsDevToken(t *testing.T) {
	d, srv, _ := startDevIssuer(t)

	tests := []struct {
		name          string
		tokenAudience string
		verifierAud   string
		claims        Claims
	}{
		{name: "audience checked", tokenAudience: testAudience, verifierAud: testAudience, claims: testClaims},
		{name: "audience check skipped", tokenAudience: "someone-else", verifierAud: "", claims: testClaims},
		{name: "no aud claim, check skipped", tokenAudience: "", verifierAud: "", claims: testClaims},
		{name: "only subject", tokenAudience: testAudience, verifierAud: testAudience, claims: Claims{Subject: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewOIDCVerifier(d.IssuerURL(), tt.verifierAud, srv.Client())
			got, err := v.Verify(t.Context(), mustMint(t, d, tt.claims, tt.tokenAudience))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.claims {
				t.Errorf("Verify claims = %+v, want %+v", got, tt.claims)
			}
		})
	}
}

func TestOIDCVerifierRejects(t *testing.T) {
	d, srv, keyFile := startDevIssuer(t)

	// Same issuer URL, different key: only the signature is wrong.
	otherKey, err := LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "other.pem"), d.IssuerURL())
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer(other key): %v", err)
	}
	// Same key, different issuer URL: only iss is wrong.
	otherIssuer, err := LoadOrCreateDevIssuer(keyFile, "http://issuer.invalid/dev-oidc")
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer(other issuer): %v", err)
	}

	valid := mustMint(t, d, testClaims, testAudience)
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{name: "expired", token: func(t *testing.T) string {
			tok, err := d.mint(testClaims, testAudience, time.Now().Add(-2*time.Hour), time.Hour)
			if err != nil {
				t.Fatalf("mint: %v", err)
			}
			return tok
		}},
		{name: "wrong audience", token: func(t *testing.T) string { return mustMint(t, d, testClaims, "other-client") }},
		{name: "no audience", token: func(t *testing.T) string { return mustMint(t, d, testClaims, "") }},
		{name: "other key", token: func(t *testing.T) string { return mustMint(t, otherKey, testClaims, testAudience) }},
		{name: "wrong issuer", token: func(t *testing.T) string { return mustMint(t, otherIssuer, testClaims, testAudience) }},
		{name: "missing subject", token: func(t *testing.T) string {
			tok, err := d.sign(jwt.Claims{
				Issuer:   d.IssuerURL(),
				Audience: jwt.Audience{testAudience},
				Expiry:   jwt.NewNumericDate(time.Now().Add(time.Hour)),
			})
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			return tok
		}},
		{name: "tampered payload", token: func(*testing.T) string {
			parts := strings.Split(valid, ".")
			parts[1] = parts[1][:len(parts[1])-2] + "AA"
			return strings.Join(parts, ".")
		}},
		{name: "garbage", token: func(*testing.T) string { return "not-a-jwt" }},
		{name: "empty", token: func(*testing.T) string { return "" }},
	}

	v := NewOIDCVerifier(d.IssuerURL(), testAudience, srv.Client())
	// Sanity check: the verifier does accept a good token.
	if _, err := v.Verify(t.Context(), valid); err != nil {
		t.Fatalf("Verify(valid token): %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token(t))
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error = %v, want one wrapping ErrInvalidToken", err)
			}
			t.Logf("rejected: %v", err)
			if got != (Claims{}) {
				t.Errorf("Verify returned claims %+v alongside an error", got)
			}
		})
	}
}

// flakyProvider serves the dev issuer but answers 500 for discovery until
// healthy is set, and counts discovery requests.
type flakyProvider struct {
	next           http.Handler
	healthy        atomic.Bool
	discoveryCalls atomic.Int32
}

func (f *flakyProvider) wrap(next http.Handler) http.Handler {
	f.next = next
	return f
}

func (f *flakyProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		f.discoveryCalls.Add(1)
		if !f.healthy.Load() {
			http.Error(w, "starting up", http.StatusInternalServerError)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

func TestOIDCVerifierRetriesDiscovery(t *testing.T) {
	flaky := &flakyProvider{}
	d, srv, _ := startDevIssuerWrapped(t, flaky.wrap)
	tok := mustMint(t, d, testClaims, testAudience)

	v := NewOIDCVerifier(d.IssuerURL(), testAudience, srv.Client())
	clock := time.Unix(1_700_000_000, 0)
	v.now = func() time.Time { return clock } // read only under v.sem, by Verify called sequentially below

	steps := []struct {
		name          string
		healthy       bool
		advance       time.Duration
		wantErr       bool
		wantDiscovery int32 // cumulative discovery requests after the step
	}{
		{name: "provider down", healthy: false, wantErr: true, wantDiscovery: 1},
		{name: "failure cached within retry interval", healthy: false, wantErr: true, wantDiscovery: 1},
		{name: "provider back but still throttled", healthy: true, advance: v.retryInterval / 2, wantErr: true, wantDiscovery: 1},
		{name: "retry after interval succeeds", healthy: true, advance: v.retryInterval, wantErr: false, wantDiscovery: 2},
		{name: "provider cached after success", healthy: false, wantErr: false, wantDiscovery: 2},
	}
	for _, s := range steps {
		flaky.healthy.Store(s.healthy)
		clock = clock.Add(s.advance)
		got, err := v.Verify(t.Context(), tok)
		if s.wantErr {
			if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("%s: Verify error = %v, want ErrProviderUnavailable (and not ErrInvalidToken)", s.name, err)
			}
		} else if err != nil || got != testClaims {
			t.Fatalf("%s: Verify = (%+v, %v), want (%+v, nil)", s.name, got, err, testClaims)
		}
		if n := flaky.discoveryCalls.Load(); n != s.wantDiscovery {
			t.Fatalf("%s: %d discovery requests, want %d", s.name, n, s.wantDiscovery)
		}
	}
}

func TestOIDCVerifierConcurrentFirstUse(t *testing.T) {
	counter := &flakyProvider{}
	counter.healthy.Store(true)
	d, srv, _ := startDevIssuerWrapped(t, counter.wrap)
	tok := mustMint(t, d, testClaims, testAudience)
	v := NewOIDCVerifier(d.IssuerURL(), testAudience, srv.Client())

	const workers = 16
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			_, err := v.Verify(t.Context(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if n := counter.discoveryCalls.Load(); n != 1 {
		t.Errorf("%d discovery requests for %d concurrent first calls, want 1", n, workers)
	}
}

func TestOIDCVerifierCancelledWhileWaitingForDiscovery(t *testing.T) {
	v := NewOIDCVerifier("http://issuer.invalid", "", nil)
	v.sem <- struct{}{} // simulate a discovery in progress
	defer func() { <-v.sem }()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := v.Verify(ctx, "token")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify error = %v, want context.Canceled and not ErrInvalidToken", err)
	}
}

func TestNewOIDCVerifierDefaultClient(t *testing.T) {
	v := NewOIDCVerifier("https://issuer.example", "", nil)
	if v.client == nil || v.client == http.DefaultClient || v.client.Timeout != defaultHTTPTimeout {
		t.Fatalf("default client = %+v, want a dedicated client with %v timeout", v.client, defaultHTTPTimeout)
	}
	custom := &http.Client{}
	if got := NewOIDCVerifier("https://issuer.example", "", custom).client; got != custom {
		t.Errorf("custom client not used")
	}
}
