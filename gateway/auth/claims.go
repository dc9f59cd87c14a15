package auth

import (
	"context"
	"errors"
)

// ErrInvalidToken is wrapped by every error that means "this token must not
// be trusted" (bad signature, expired, wrong issuer or audience, malformed).
// Callers map it to 401 Unauthorized.
var ErrInvalidToken = errors.New("auth: invalid token")

// ErrProviderUnavailable is wrapped when a token could not be checked because
// the identity provider's discovery document could not be fetched. It is
// deliberately distinct from ErrInvalidToken: the token may be fine, so
// callers should answer 503 rather than tell the client to log in again.
var ErrProviderUnavailable = errors.New("auth: identity provider unavailable")

// Claims is what the service knows about a user from a verified token.
type Claims struct {
	Subject   string // "sub", required
	Email     string // "email"
	FullName  string // "name"
	ShortName string // "given_name"
	Language  string // "locale" (may be empty)
}

// Verifier checks a raw bearer token and returns its claims.
type Verifier interface {
	Verify(ctx context.Context, rawToken string) (Claims, error)
}

// profileClaims is the JSON shape of the non-registered claims we read and
// mint. Keeping one type for both directions keeps the names in sync.
type profileClaims struct {
	Email     string `json:"email,omitempty"`
	Name      string `json:"name,omitempty"`
	GivenName string `json:"given_name,omitempty"`
	Locale    string `json:"locale,omitempty"`
}

func (p profileClaims) toClaims(subject string) Claims {
	return Claims{
		Subject:   subject,
		Email:     p.Email,
		FullName:  p.Name,
		ShortName: p.GivenName,
		Language:  p.Locale,
	}
}

func profileFromClaims(c Claims) profileClaims {
	return profileClaims{
		Email:     c.Email,
		Name:      c.FullName,
		GivenName: c.ShortName,
		Locale:    c.Language,
	}
}
