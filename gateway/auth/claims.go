package auth

import (
	"context"
	"errors"
	"fmt"
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
	// EmailUnverified is set when the token says "email_verified": false. The email may then
	// belong to someone else, so it must not identify anyone (claiming a provisional user).
	// Tokens that do not say are trusted, as many providers only issue verified addresses.
	EmailUnverified bool
}

// Verifier checks a raw bearer token and returns its claims.
type Verifier interface {
	Verify(ctx context.Context, rawToken string) (Claims, error)
}

// Profile is the JSON shape of the non-registered claims we read and mint, in access tokens
// and ID tokens alike. Keeping one type for every direction keeps the names in sync.
type Profile struct {
	Email         string    `json:"email,omitempty"`
	EmailVerified *flexBool `json:"email_verified,omitempty"`
	Name          string    `json:"name,omitempty"`
	GivenName     string    `json:"given_name,omitempty"`
	Locale        string    `json:"locale,omitempty"`
}

// Claims is what the profile says of subject.
func (p Profile) Claims(subject string) Claims {
	return Claims{
		Subject:         subject,
		Email:           p.Email,
		FullName:        p.Name,
		ShortName:       p.GivenName,
		Language:        p.Locale,
		EmailUnverified: p.EmailVerified != nil && !bool(*p.EmailVerified),
	}
}

func profileFromClaims(c Claims) Profile {
	p := Profile{
		Email:     c.Email,
		Name:      c.FullName,
		GivenName: c.ShortName,
		Locale:    c.Language,
	}
	if c.EmailUnverified {
		unverified := flexBool(false)
		p.EmailVerified = &unverified
	}
	return p
}

// flexBool is a JSON boolean that also accepts "true" and "false" as strings, as some providers
// (Amazon Cognito among them) send email_verified: refusing their tokens would lock users out.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`:
		*b = false
	default:
		return fmt.Errorf("email_verified: want a boolean, got %s", data)
	}
	return nil
}
