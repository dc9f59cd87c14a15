package auth

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevIssuer is a development OIDC issuer. Its RSA key is persisted in a key
// file so that a separate process (the `meetcoord dev-token` command) started
// from the same directory can mint tokens that a running `meetcoord serve
// --dev` accepts. It is not meant for production use.
type DevIssuer struct {
	issuerURL string
	key       *rsa.PrivateKey
	keyID     string
	login     *devLogin // nil: no login page (see EnableLogin)
}

// LoadOrCreateDevIssuer loads the PEM (PKCS#8) RSA key in keyFile, creating
// it (mode 0600, parent directories 0700) when missing. issuerURL is the
// absolute URL the issuer is served at, e.g. "http://127.0.0.1:8080/dev-oidc";
// a trailing slash is dropped because OIDC compares issuers byte for byte.
func LoadOrCreateDevIssuer(keyFile string, issuerURL string) (*DevIssuer, error) {
	iss, err := normalizeIssuerURL(issuerURL)
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	kid, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &DevIssuer{issuerURL: iss, key: key, keyID: kid}, nil
}

// IssuerURL returns the issuer identifier ("iss") without a trailing slash.
func (d *DevIssuer) IssuerURL() string { return d.issuerURL }

// Mint returns an RS256-signed JWT for c, valid for ttl from now. The "aud"
// claim is set only when audience is non-empty.
func (d *DevIssuer) Mint(c Claims, audience string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("auth: mint dev token: ttl must be positive, got %v", ttl)
	}
	return d.mint(c, audience, time.Now(), ttl)
}

// mint takes the issue time explicitly so tests can create expired tokens.
func (d *DevIssuer) mint(c Claims, audience string, issuedAt time.Time, ttl time.Duration) (string, error) {
	if c.Subject == "" {
		return "", errors.New("auth: mint dev token: subject is required")
	}
	registered := jwt.Claims{
		Issuer:   d.issuerURL,
		Subject:  c.Subject,
		IssuedAt: jwt.NewNumericDate(issuedAt),
		Expiry:   jwt.NewNumericDate(issuedAt.Add(ttl)),
	}
	if audience != "" {
		registered.Audience = jwt.Audience{audience}
	}
	return d.sign(registered, profileFromClaims(c))
}

// mintIDToken is the ID token of a browser login: for the client (audience) and carrying the
// nonce of its authorization request.
func (d *DevIssuer) mintIDToken(c Claims, clientID, nonce string, ttl time.Duration) (string, error) {
	now := time.Now()
	registered := jwt.Claims{
		Issuer:   d.issuerURL,
		Subject:  c.Subject,
		Audience: jwt.Audience{clientID},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ttl)),
	}
	nonceClaim := struct {
		Nonce string `json:"nonce"`
	}{nonce}
	return d.sign(registered, profileFromClaims(c), nonceClaim)
}

// sign serialises the merged claims objects as a compact JWS.
func (d *DevIssuer) sign(claims ...any) (string, error) {
	// Passing a JSONWebKey (not the bare key) makes go-jose emit the kid
	// header, which verifiers use to pick the key out of the JWKS.
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: d.key, KeyID: d.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("auth: mint dev token: create signer: %w", err)
	}
	builder := jwt.Signed(signer)
	for _, c := range claims {
		builder = builder.Claims(c)
	}
	tok, err := builder.Serialize()
	if err != nil {
		return "", fmt.Errorf("auth: mint dev token: sign: %w", err)
	}
	return tok, nil
}

// publicJWK is the verification key as published in the JWKS.
func (d *DevIssuer) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{
		Key:       &d.key.PublicKey,
		KeyID:     d.keyID,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}
}

// keyID derives the kid from the RFC 7638 thumbprint, so every process that
// loads the same key file advertises and stamps the same kid.
func keyID(pub *rsa.PublicKey) (string, error) {
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("auth: dev key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

func normalizeIssuerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("auth: dev issuer URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("auth: dev issuer URL %q: want absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("auth: dev issuer URL %q: must not have user info, query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}
