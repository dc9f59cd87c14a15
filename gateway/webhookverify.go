package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	"google.golang.org/protobuf/encoding/protojson"
)

// receiveWebhook reads and verifies a LiveKit webhook as webhook.ReceiveWebhookEvent does (an
// HS256 token of a known API key, unexpired within a minute's leeway, whose sha256 claim is the
// body's digest) with one parse of the token instead of two: the library parses it unverified to
// find the key, then again to verify it. The key is found inside the one parse, from the
// claims it has decoded before it checks the signature.
func receiveWebhook(r *http.Request, keys auth.KeyProvider) (*livekit.WebhookEvent, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	token := r.Header.Get("Authorization")
	if token == "" {
		return nil, webhook.ErrNoAuthHeader
	}
	var claims webhookClaims
	if _, err := webhookTokenParser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		secret := keys.GetSecret(claims.Issuer)
		if secret == "" {
			return nil, webhook.ErrSecretNotFound
		}
		return []byte(secret), nil
	}); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	var digest [base64Sha256Len]byte
	base64.StdEncoding.Encode(digest[:], sum[:])
	if subtle.ConstantTimeCompare([]byte(claims.Sha256), digest[:]) != 1 {
		return nil, webhook.ErrInvalidChecksum
	}
	event := &livekit.WebhookEvent{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}).Unmarshal(body, event); err != nil {
		return nil, err
	}
	return event, nil
}

// base64Sha256Len is the length of a SHA-256 digest in standard base64.
const base64Sha256Len = 44

// webhookClaims are the claims of a webhook token that matter: its issuer (the API key) and the
// body's digest.
type webhookClaims struct {
	jwt.RegisteredClaims
	Sha256 string `json:"sha256"`
}

// webhookTokenParser checks what LiveKit's verifier checks: HS256 only, an expiry required, a
// minute of leeway for clocks apart.
var webhookTokenParser = jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithLeeway(time.Minute), jwt.WithExpirationRequired())
