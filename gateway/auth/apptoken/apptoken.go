// Package apptoken issues and validates the JWTs of the external API: short-lived HMAC-signed
// tokens that let an application act for one user, with the application's scopes.
package apptoken

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Validation failures. Each is a distinct value so that the gateway can answer with the
// reference product's messages; all of them mean "401, this token must not be honoured".
var (
	ErrExpired      = errors.New("apptoken: token expired")
	ErrInvalid      = errors.New("apptoken: invalid issuer, audience or claims")
	ErrMalformed    = errors.New("apptoken: token cannot be decoded")
	ErrBadSignature = errors.New("apptoken: bad signature or algorithm")
)

// minSecretBytes: RFC 7518 3.2 asks for an HMAC key at least as long as the hash output.
const minSecretBytes = 32

// Config is the token settings (APPLICATION_JWT_*).
type Config struct {
	Secret    []byte
	Algorithm string // HS256, HS384 or HS512
	Issuer    string // empty: not set, not checked
	Audience  string // empty: not set, not checked
	TTL       time.Duration
	Now       func() time.Time // nil: time.Now
}

// Claims are what a token says: who is acting, for whom, and what it may do.
type Claims struct {
	UserID    string   `json:"user_id"`
	ClientID  string   `json:"client_id"`
	Delegated bool     `json:"delegated"`
	Scope     string   `json:"scope,omitempty"` // space-separated, as OAuth 2.0 writes scopes
	Scopes    []string `json:"-"`
	// SecretVersion is the application's secret version when the token was issued (0 for tokens
	// of applications never rotated, and for tokens issued before versions existed).
	SecretVersion int `json:"secret_version,omitempty"`
	jwt.RegisteredClaims
}

// Has reports whether the token carries a scope.
func (c Claims) Has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Service issues and validates tokens.
type Service struct {
	cfg    Config
	method jwt.SigningMethod
}

// New checks the settings.
func New(cfg Config) (*Service, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = "HS256"
	}
	var method jwt.SigningMethod
	switch cfg.Algorithm {
	case "HS256", "HS384", "HS512":
		method = jwt.GetSigningMethod(cfg.Algorithm)
	default:
		return nil, fmt.Errorf("algorithm %q is not supported (HS256, HS384, HS512)", cfg.Algorithm)
	}
	if len(cfg.Secret) < minSecretBytes {
		return nil, fmt.Errorf("the secret key must be at least %d bytes", minSecretBytes)
	}
	if cfg.TTL <= 0 {
		return nil, errors.New("the expiration must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, method: method}, nil
}

// TTL is how long issued tokens live.
func (s *Service) TTL() time.Duration { return s.cfg.TTL }

// Issue signs a delegated token for userID on behalf of the application clientID, whose secret
// is at secretVersion.
func (s *Service) Issue(userID, clientID string, scopes []string, secretVersion int) (string, error) {
	now := s.cfg.Now()
	// A map rather than Claims: golang-jwt writes a registered audience as a list, and the
	// reference product's clients expect the single string PyJWT writes.
	claims := jwt.MapClaims{
		"user_id": userID, "client_id": clientID, "delegated": true,
		"iat": now.Unix(), "exp": now.Add(s.cfg.TTL).Unix(),
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	if secretVersion > 0 {
		claims["secret_version"] = secretVersion
	}
	if s.cfg.Issuer != "" {
		claims["iss"] = s.cfg.Issuer
	}
	if s.cfg.Audience != "" {
		claims["aud"] = s.cfg.Audience
	}
	token, err := jwt.NewWithClaims(s.method, claims).SignedString(s.cfg.Secret)
	if err != nil {
		return "", fmt.Errorf("sign application token: %w", err)
	}
	return token, nil
}

// Validate checks a token's signature, algorithm, expiry, issuer and audience, and that it is a
// delegated token naming a user and an application. Errors wrap one of the Err values above.
func (s *Service) Validate(token string) (Claims, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{s.cfg.Algorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.cfg.Now),
	}
	if s.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(s.cfg.Issuer))
	}
	if s.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(s.cfg.Audience))
	}
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.cfg.Secret, nil }, opts...)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return Claims{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("%w: %v", ErrExpired, err)
	default: // issuer, audience, not yet valid, issued in the future, missing expiry
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if claims.UserID == "" || claims.ClientID == "" || !claims.Delegated {
		return Claims{}, fmt.Errorf("%w: not a delegated token for a user and an application", ErrInvalid)
	}
	claims.Scopes = strings.Fields(claims.Scope)
	return claims, nil
}
