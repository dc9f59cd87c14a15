package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestLoadOrCreateDevIssuerSharesKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	keyFile := filepath.Join(dir, "dev-oidc.pem")
	srv, issuerURL := unstartedServer(t)

	// Concurrent first use, as when serve --dev and dev-token start together.
	const procs = 4
	issuers := make([]*DevIssuer, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() { issuers[i], errs[i] = LoadOrCreateDevIssuer(keyFile, issuerURL) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("LoadOrCreateDevIssuer #%d: %v", i, err)
		}
	}
	// A later, sequential load must also see the same key.
	later, err := LoadOrCreateDevIssuer(keyFile, issuerURL)
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer (reload): %v", err)
	}
	issuers = append(issuers, later)
	for i, d := range issuers[1:] {
		if !d.key.Equal(issuers[0].key) || d.keyID != issuers[0].keyID {
			t.Fatalf("issuer #%d has a different key than issuer #0", i+1)
		}
	}

	// Token minted by one "process" is accepted via the other's handler.
	mountDevIssuer(srv, issuers[0])
	v := NewOIDCVerifier(issuerURL, testAudience, srv.Client())
	got, err := v.Verify(t.Context(), mustMint(t, later, testClaims, testAudience))
	if err != nil {
		t.Fatalf("Verify token from second issuer: %v", err)
	}
	if got != testClaims {
		t.Errorf("claims = %+v, want %+v", got, testClaims)
	}

	assertMode(t, keyFile, 0o600)
	assertMode(t, dir, 0o700|os.ModeDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("key directory holds %v, want only the key file (temp files leaked?)", names)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Stat %s: %v", path, err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestLoadOrCreateDevIssuerRejectsBadInput(t *testing.T) {
	pkcs8 := func(t *testing.T, key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("MarshalPKCS8PrivateKey: %v", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	tests := []struct {
		name      string
		keyPEM    func(t *testing.T) []byte // nil: no key file
		issuerURL string
		wantErr   string
	}{
		{name: "garbage key file", keyPEM: func(*testing.T) []byte { return []byte("hello") }, wantErr: "PEM block"},
		{name: "PKCS#1 instead of PKCS#8", keyPEM: func(t *testing.T) []byte {
			k, err := rsa.GenerateKey(rand.Reader, devKeyBits)
			if err != nil {
				t.Fatal(err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		}, wantErr: "PEM block"},
		{name: "EC key", keyPEM: func(t *testing.T) []byte {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return pkcs8(t, k)
		}, wantErr: "want RSA key"},
		{name: "short RSA key", keyPEM: func(t *testing.T) []byte {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			return pkcs8(t, k)
		}, wantErr: "1024 bits"},
		{name: "empty issuer URL", issuerURL: "", wantErr: "absolute http(s) URL"},
		{name: "relative issuer URL", issuerURL: "/dev-oidc", wantErr: "absolute http(s) URL"},
		{name: "non-http issuer URL", issuerURL: "ftp://127.0.0.1/dev-oidc", wantErr: "absolute http(s) URL"},
		{name: "issuer URL with query", issuerURL: "http://127.0.0.1/dev-oidc?x=1", wantErr: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyFile := filepath.Join(t.TempDir(), "dev-oidc.pem")
			if tt.keyPEM != nil {
				if err := os.WriteFile(keyFile, tt.keyPEM(t), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			issuerURL := tt.issuerURL
			if tt.keyPEM != nil {
				issuerURL = "http://127.0.0.1:8080/dev-oidc"
			}
			_, err := LoadOrCreateDevIssuer(keyFile, issuerURL)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadOrCreateDevIssuer error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDevIssuerTrimsTrailingSlash(t *testing.T) {
	d, err := LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "k.pem"), "http://127.0.0.1:8080/dev-oidc/")
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer: %v", err)
	}
	if got, want := d.IssuerURL(), "http://127.0.0.1:8080/dev-oidc"; got != want {
		t.Errorf("IssuerURL() = %q, want %q", got, want)
	}
}

func TestDevIssuerMint(t *testing.T) {
	d, err := LoadOrCreateDevIssuer(filepath.Join(t.TempDir(), "k.pem"), "http://127.0.0.1:8080/dev-oidc")
	if err != nil {
		t.Fatalf("LoadOrCreateDevIssuer: %v", err)
	}

	t.Run("claims and header", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		raw := mustMint(t, d, testClaims, testAudience)
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatalf("ParseSigned: %v", err)
		}
		if h := tok.Headers[0]; h.KeyID != d.keyID || h.Algorithm != "RS256" || h.ExtraHeaders["typ"] != "JWT" {
			t.Errorf("header = kid %q alg %q typ %v, want kid %q alg RS256 typ JWT", h.KeyID, h.Algorithm, h.ExtraHeaders["typ"], d.keyID)
		}
		var std jwt.Claims
		var profile Profile
		if err := tok.Claims(&d.key.PublicKey, &std, &profile); err != nil {
			t.Fatalf("Claims: %v", err)
		}
		if std.Issuer != d.IssuerURL() || std.Subject != testClaims.Subject || !std.Audience.Contains(testAudience) {
			t.Errorf("registered claims = %+v", std)
		}
		if iat := std.IssuedAt.Time(); iat.Before(before) || std.Expiry.Time().Sub(iat) != time.Hour {
			t.Errorf("iat %v exp %v, want iat≈now and exp=iat+1h", iat, std.Expiry.Time())
		}
		if got := profile.Claims(std.Subject); got != testClaims {
			t.Errorf("profile claims = %+v, want %+v", got, testClaims)
		}
	})

	t.Run("no audience omits aud", func(t *testing.T) {
		raw := mustMint(t, d, testClaims, "")
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatalf("ParseSigned: %v", err)
		}
		var all map[string]any
		if err := tok.Claims(&d.key.PublicKey, &all); err != nil {
			t.Fatalf("Claims: %v", err)
		}
		if _, ok := all["aud"]; ok {
			t.Errorf("aud present: %v", all["aud"])
		}
	})

	errTests := []struct {
		name   string
		claims Claims
		ttl    time.Duration
	}{
		{name: "empty subject", claims: Claims{Email: "x@example.com"}, ttl: time.Hour},
		{name: "zero ttl", claims: testClaims, ttl: 0},
		{name: "negative ttl", claims: testClaims, ttl: -time.Minute},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := d.Mint(tt.claims, testAudience, tt.ttl); err == nil {
				t.Fatalf("Mint succeeded with %q, want error", tok)
			}
		})
	}
}

func TestDevIssuerHandler(t *testing.T) {
	d, srv, _ := startDevIssuer(t)
	base := srv.URL + devMountPath

	get := func(t *testing.T, method, url string, wantStatus int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d (body %s)", method, url, resp.StatusCode, wantStatus, body)
		}
		if wantStatus != http.StatusMethodNotAllowed {
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q, want application/json", method, url, ct)
			}
		}
		return body
	}

	t.Run("discovery", func(t *testing.T) {
		var doc discoveryDocument
		if err := json.Unmarshal(get(t, "GET", base+"/.well-known/openid-configuration", http.StatusOK), &doc); err != nil {
			t.Fatalf("decode discovery: %v", err)
		}
		iss := d.IssuerURL()
		if doc.Issuer != iss || doc.JWKSURI != iss+"/jwks" || doc.TokenEndpoint != iss+"/token" || doc.AuthorizationEndpoint != iss+"/authorize" {
			t.Errorf("discovery endpoints = %+v", doc)
		}
		if len(doc.IDTokenSigningAlgValuesSupported) != 1 || doc.IDTokenSigningAlgValuesSupported[0] != "RS256" ||
			len(doc.ResponseTypesSupported) == 0 || len(doc.SubjectTypesSupported) == 0 {
			t.Errorf("discovery capabilities = %+v", doc)
		}
	})

	t.Run("jwks", func(t *testing.T) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(get(t, "GET", base+"/jwks", http.StatusOK), &set); err != nil {
			t.Fatalf("decode jwks: %v", err)
		}
		keys := set.Key(d.keyID)
		if len(keys) != 1 || !keys[0].IsPublic() || keys[0].Algorithm != "RS256" || keys[0].Use != "sig" {
			t.Fatalf("jwks = %+v, want one public RS256 signing key with kid %q", set, d.keyID)
		}
		if pub, ok := keys[0].Key.(*rsa.PublicKey); !ok || !pub.Equal(&d.key.PublicKey) {
			t.Errorf("jwks key does not match the issuer's key")
		}
	})

	for _, path := range []string{"/token", "/authorize"} {
		t.Run("not implemented "+path, func(t *testing.T) {
			var body map[string]string
			if err := json.Unmarshal(get(t, "POST", base+path, http.StatusNotImplemented), &body); err != nil {
				t.Fatalf("decode error body: %v", err)
			}
			if body["error"] != "not_implemented" {
				t.Errorf("error body = %v", body)
			}
		})
	}

	t.Run("jwks is read-only", func(t *testing.T) {
		get(t, "POST", base+"/jwks", http.StatusMethodNotAllowed)
	})
}
