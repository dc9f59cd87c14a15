package apptoken_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"meetcoord/gateway/auth/apptoken"
)

var secret = []byte("a-test-secret-of-at-least-32-bytes!!")

func service(t *testing.T, now time.Time, mutate func(*apptoken.Config)) *apptoken.Service {
	t.Helper()
	cfg := apptoken.Config{Secret: secret, Issuer: "meetcoord", Audience: "integrations", TTL: time.Hour,
		Now: func() time.Time { return now }}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := apptoken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	now := time.Now()
	s := service(t, now, nil)
	token, err := s.Issue("user-1", "client-1", []string{"rooms:list", "rooms:create"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Validate(token)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != "user-1" || c.ClientID != "client-1" || !c.Delegated || c.Issuer != "meetcoord" ||
		len(c.Audience) != 1 || c.Audience[0] != "integrations" || c.ExpiresAt.Unix() != now.Add(time.Hour).Unix() ||
		c.IssuedAt.Unix() != now.Unix() || c.SecretVersion != 3 {
		t.Fatalf("claims %+v", c)
	}
	if !c.Has("rooms:list") || !c.Has("rooms:create") || c.Has("rooms:retrieve") {
		t.Fatalf("scopes %v", c.Scopes)
	}
}

// sign makes a token with arbitrary claims and method, as an attacker or another service would.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidationFailures(t *testing.T) {
	now := time.Now()
	s := service(t, now, nil)
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"user_id": "u", "client_id": "c", "delegated": true, "scope": "rooms:list",
			"iss": "meetcoord", "aud": "integrations", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	valid := sign(t, jwt.SigningMethodHS256, secret, good())
	parts := strings.Split(valid, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"user_id":"someone-else","client_id":"c","delegated":true,"exp":9999999999}`))
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"expired", sign(t, jwt.SigningMethodHS256, secret, with("exp", now.Add(-time.Second).Unix())), apptoken.ErrExpired},
		{"no expiry", sign(t, jwt.SigningMethodHS256, secret, with("exp", nil)), apptoken.ErrInvalid},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, secret, with("iss", "someone")), apptoken.ErrInvalid},
		{"no issuer", sign(t, jwt.SigningMethodHS256, secret, with("iss", nil)), apptoken.ErrInvalid},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, secret, with("aud", "other")), apptoken.ErrInvalid},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, secret, with("iat", now.Add(time.Hour).Unix())), apptoken.ErrInvalid},
		{"not delegated", sign(t, jwt.SigningMethodHS256, secret, with("delegated", false)), apptoken.ErrInvalid},
		{"no user", sign(t, jwt.SigningMethodHS256, secret, with("user_id", nil)), apptoken.ErrInvalid},
		{"no application", sign(t, jwt.SigningMethodHS256, secret, with("client_id", nil)), apptoken.ErrInvalid},
		{"other secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes"), good()), apptoken.ErrBadSignature},
		{"tampered payload", parts[0] + "." + forged + "." + parts[2], apptoken.ErrBadSignature},
		{"wrong algorithm", sign(t, jwt.SigningMethodHS512, secret, good()), apptoken.ErrBadSignature},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good()), apptoken.ErrBadSignature},
		{"not a JWT", "not-a-token", apptoken.ErrMalformed},
		{"garbage segments", "a.b.c", apptoken.ErrMalformed},
		{"empty", "", apptoken.ErrMalformed},
	}
	if _, err := s.Validate(valid); err != nil {
		t.Fatalf("the untouched token is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Validate(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

// A token issued now is refused once its lifetime has passed.
func TestIssuedTokenExpires(t *testing.T) {
	now := time.Now()
	token, err := service(t, now, nil).Issue("u", "c", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service(t, now.Add(time.Hour+time.Second), nil).Validate(token); !errors.Is(err, apptoken.ErrExpired) {
		t.Fatalf("an hour and a second later: %v, want ErrExpired", err)
	}
}

// Without a configured issuer and audience, none is written and none is required.
func TestNoIssuerNoAudience(t *testing.T) {
	s := service(t, time.Now(), func(c *apptoken.Config) { c.Issuer, c.Audience = "", "" })
	token, err := s.Issue("u", "c", []string{"rooms:list"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Validate(token)
	if err != nil || c.Issuer != "" || len(c.Audience) != 0 {
		t.Fatalf("claims %+v, %v", c, err)
	}
}

func TestSettingsChecked(t *testing.T) {
	tests := []struct {
		name string
		cfg  apptoken.Config
		want string
	}{
		{"short secret", apptoken.Config{Secret: []byte("short"), TTL: time.Hour}, "at least 32 bytes"},
		{"asymmetric algorithm", apptoken.Config{Secret: secret, Algorithm: "RS256", TTL: time.Hour}, "not supported"},
		{"no lifetime", apptoken.Config{Secret: secret}, "expiration"},
	}
	for _, tt := range tests {
		if _, err := apptoken.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
