package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"

	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/marketing"
	"meetcoord/messages"
)

// userNamespace derives stable user ids from OIDC subjects, so that every node computes the
// same id for a token without a race on first sight.
var userNamespace = uuid.MustParse("6f6b9a52-5a3e-4d1e-9a0c-1e0d2f3c4b5a")

// userID is the user id of an OIDC subject (unless it claimed a provisional user).
func userID(sub string) string {
	return uuid.NewSHA1(userNamespace, []byte(sub)).String()
}

// provisionalNamespace derives the id of a user created by an application from their address:
// two nodes creating the same provisional user at once create the same record, and a login
// with that address finds it without an index.
var provisionalNamespace = uuid.MustParse("3c1d7e0a-8b4f-4f6a-9d2e-5a7b8c9d0e1f")

// provisionalUserID is the id of the provisional user of an email address.
func provisionalUserID(email string) string {
	return uuid.NewSHA1(provisionalNamespace, []byte(strings.ToLower(email))).String()
}

// userRecord is a stored user (api.md users/me).
type userRecord struct {
	ID        string `json:"id"`
	Sub       string `json:"sub"`
	Email     string `json:"email"`
	FullName  string `json:"full_name"`
	ShortName string `json:"short_name"`
	Language  string `json:"language"`
}

func (u userRecord) message() *messages.User {
	return &messages.User{Id: u.ID, Sub: u.Sub, Email: u.Email, FullName: u.FullName, ShortName: u.ShortName, Language: u.Language}
}

// authenticate returns the caller: a user for a valid bearer token or browser session, nil for
// neither. An invalid token is an error (401), never silently anonymous; a session that ended is
// anonymous, as the reference product treats it.
func (g *Gateway) authenticate(r *http.Request) (*userRecord, error) {
	token, ok := gwauth.BearerToken(r)
	if !ok {
		return g.sessionUser(r)
	}
	if g.cfg.Verifier == nil {
		return nil, fmt.Errorf("%w: user authentication is not configured", gwauth.ErrInvalidToken)
	}
	claims, err := g.cfg.Verifier.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	u, err := g.users.identify(r.Context(), claims)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// caller authenticates the request; its error is the answer to a failed authentication.
func (g *Gateway) caller(r *http.Request) (*userRecord, error) {
	u, err := g.authenticate(r)
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, gwauth.ErrInvalidToken):
		return nil, errInvalidToken
	case errors.Is(err, errCSRF):
		return nil, errCSRF
	case errors.Is(err, gwauth.ErrProviderUnavailable):
		return nil, errProviderUnavailable.because(err)
	default:
		return nil, errAuthUnavailable.because(err)
	}
}

// user is caller for endpoints that need a user: no credentials is a 401.
func (g *Gateway) user(r *http.Request) (*userRecord, error) {
	u, err := g.caller(r)
	if err == nil && u == nil {
		return nil, errNotAuthenticated
	}
	return u, err
}

func callerMessage(u *userRecord) *messages.Caller {
	if u == nil {
		return &messages.Caller{}
	}
	return &messages.Caller{User: u.message()}
}

// userCache creates or updates user records on first sight of their token, and afterwards only
// when the claims change: a request must not cost a store write. A user's first record (on any
// node) is a sign-up, told to signups. It holds what the claims say, never the user's
// preferences (preferences.go), which are read from the store where they matter: a change made
// through one node is seen at once by every other.
type userCache struct {
	store   Users
	signups Signups
	// languageOf maps a locale claim to the language a new user starts with.
	languageOf func(locale string) string
	mu         sync.Mutex
	known      map[string]userRecord // by OIDC subject
}

// userCacheLimit bounds the cache; when full it is simply reset (records are cheap to re-check).
const userCacheLimit = 100_000

func newUserCache(store Users, signups Signups, languageOf func(locale string) string) *userCache {
	return &userCache{store: store, signups: signups, languageOf: languageOf, known: map[string]userRecord{}}
}

// identify returns the user of verified claims, creating or updating its record. A subject's
// first login with the email of a provisional user (created by an application) becomes that
// user, so that the rooms made for them are theirs; an email the token says is unverified
// never does.
func (c *userCache) identify(ctx context.Context, claims gwauth.Claims) (userRecord, error) {
	u := userRecord{Sub: claims.Subject, Email: claims.Email,
		FullName: claims.FullName, ShortName: claims.ShortName, Language: claims.Language}
	c.mu.Lock()
	prev, ok := c.known[claims.Subject]
	c.mu.Unlock()
	if ok {
		if u.ID = prev.ID; prev == u {
			return u, nil
		}
	} else {
		provisional := ""
		if claims.Email != "" && !claims.EmailUnverified {
			provisional = provisionalUserID(claims.Email)
		}
		id, err := c.store.UserOfSubject(ctx, claims.Subject, userID(claims.Subject), provisional)
		if err != nil {
			return userRecord{}, fmt.Errorf("%w: %w", errStore, err)
		}
		u.ID = id
	}
	if err := c.save(ctx, u); err != nil {
		return userRecord{}, err
	}
	c.mu.Lock()
	if len(c.known) >= userCacheLimit {
		c.known = map[string]userRecord{}
	}
	c.known[claims.Subject] = u
	c.mu.Unlock()
	return u, nil
}

// createProvisional creates the provisional user of an email address for an application, or
// finds the one another request made at the same time. found=false means the id is held by a
// user with another address (a claimed provisional user whose address changed): it is never
// overwritten.
func (c *userCache) createProvisional(ctx context.Context, email string) (userRecord, bool, error) {
	u := userRecord{ID: provisionalUserID(email), Email: email}
	b, _ := json.Marshal(u)
	created, err := c.store.CreateUser(ctx, u.ID, u.Email, b)
	if err != nil {
		return userRecord{}, false, fmt.Errorf("%w: create user: %w", errStore, err)
	}
	if created {
		if c.signups != nil {
			c.signups.SignedUp(marketing.Contact{Email: u.Email})
		}
		return u, true, nil
	}
	existing, found, err := c.get(ctx, u.ID)
	if err != nil || !found || !strings.EqualFold(existing.Email, email) {
		return userRecord{}, false, err
	}
	return existing, true, nil
}

// save stores a user record, the save that creates the user telling signups, and gives the
// user the language of their locale unless they have one: the first login's, or one they
// chose. Every save sets it if missing, so a save that failed after the record is made good by
// the next one (the request failed: the record is not cached).
func (c *userCache) save(ctx context.Context, u userRecord) error {
	b, _ := json.Marshal(u)
	created, err := c.store.SaveUser(ctx, u.ID, u.Email, b)
	if err != nil {
		return fmt.Errorf("%w: save user: %w", errStore, err)
	}
	if created && c.signups != nil {
		c.signups.SignedUp(marketing.Contact{Email: u.Email, FullName: u.FullName, ShortName: u.ShortName, Language: u.Language})
	}
	if err := c.store.InitUserPreference(ctx, u.ID, prefLanguage, c.languageOf(u.Language)); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

// get loads a user record by id.
func (c *userCache) get(ctx context.Context, id string) (userRecord, bool, error) {
	b, ok, err := c.store.GetUser(ctx, id)
	if err != nil || !ok {
		return userRecord{}, false, err
	}
	var u userRecord
	if err := json.Unmarshal(b, &u); err != nil {
		return userRecord{}, false, fmt.Errorf("decode user %s: %w", id, err)
	}
	return u, true, nil
}
