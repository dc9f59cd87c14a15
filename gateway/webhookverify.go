package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	"github.com/valyala/fastjson"
	"google.golang.org/protobuf/encoding/protojson"
)

// A LiveKit webhook is verified as webhook.ReceiveWebhookEvent verifies it: an HS256 token of a
// known API key, unexpired within a minute's leeway, whose sha256 claim is the body's digest.
// The library (and golang-jwt under it) decodes the token's header into a map and its claims into
// a general claims type, twice; that was a tenth of what a webhook cost the node
// (docs/performance.md). Here the token is read once into the four claims that matter, and its
// HS256 signature checked with crypto/hmac.

// webhookLeeway is how far apart LiveKit's clock and ours may be.
const webhookLeeway = time.Minute

var (
	errWebhookTokenMalformed = errors.New("webhook token is malformed")
	errWebhookTokenAlg       = errors.New("webhook token is not signed with HS256")
	errWebhookTokenSignature = errors.New("webhook token signature is invalid")
	errWebhookTokenNoExpiry  = errors.New("webhook token has no expiry")
	errWebhookTokenExpired   = errors.New("webhook token is expired")
	errWebhookTokenEarly     = errors.New("webhook token is not valid yet")
)

// webhookTokenClaims are what the verification reads of the token's claims.
type webhookTokenClaims struct {
	issuer    string   // the API key
	expiry    *float64 // numeric dates: seconds, integral or not (RFC 7519)
	notBefore *float64
	sha256    string // the body's digest, standard base64
}

// webhookParsers parse webhook bodies and tokens. A fastjson parser reads a document into a
// tree it reuses for the next one: no allocation per field, where encoding/json's reflection
// was most of what decoding a webhook cost.
var webhookParsers fastjson.ParserPool

// receiveWebhook reads and verifies a LiveKit webhook and decodes its event.
// The token is checked before the body is read: the body's buffer is made for its declared
// length, which an unauthenticated caller must not get to choose.
func receiveWebhook(w http.ResponseWriter, r *http.Request, keys auth.KeyProvider) (*livekit.WebhookEvent, error) {
	token := r.Header.Get("Authorization")
	if token == "" {
		return nil, webhook.ErrNoAuthHeader
	}
	digest, err := verifyWebhookToken(token, keys, time.Now())
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r, maxBodyBytes)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	sum := sha256.Sum256(body)
	var want [base64Sha256Len]byte
	base64.StdEncoding.Encode(want[:], sum[:])
	if subtle.ConstantTimeCompare([]byte(digest), want[:]) != 1 {
		return nil, webhook.ErrInvalidChecksum
	}
	return decodeWebhookEvent(body)
}

// verifyWebhookToken checks a webhook token at now and returns its sha256 claim.
func verifyWebhookToken(token string, keys auth.KeyProvider, now time.Time) (string, error) {
	headerPart, rest, ok := strings.Cut(token, ".")
	claimsPart, signaturePart, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(signaturePart, ".") {
		return "", errWebhookTokenMalformed
	}
	p := webhookParsers.Get()
	defer webhookParsers.Put(p)
	header, err := decodeTokenSegment(p, headerPart)
	if err != nil {
		return "", err
	}
	if alg, err := eventString(header, "alg"); err != nil || alg != jwt.SigningMethodHS256.Alg() {
		return "", errWebhookTokenAlg
	}
	claims, err := readTokenClaims(p, claimsPart)
	if err != nil {
		return "", err
	}
	secret := keys.GetSecret(claims.issuer)
	if secret == "" {
		return "", webhook.ErrSecretNotFound
	}
	signature, err := base64.RawURLEncoding.DecodeString(signaturePart)
	if err != nil {
		return "", errWebhookTokenMalformed
	}
	if !validHS256(token[:len(headerPart)+1+len(claimsPart)], signature, secret) {
		return "", errWebhookTokenSignature
	}
	switch {
	case claims.expiry == nil:
		return "", errWebhookTokenNoExpiry
	case now.After(numericDate(*claims.expiry).Add(webhookLeeway)):
		return "", errWebhookTokenExpired
	case claims.notBefore != nil && now.Add(webhookLeeway).Before(numericDate(*claims.notBefore)):
		return "", errWebhookTokenEarly
	}
	return claims.sha256, nil
}

// validHS256 reports whether signature is the HMAC-SHA256 of signed under secret (RFC 7518
// section 3.2), compared in constant time.
func validHS256(signed string, signature []byte, secret string) bool {
	pool, _ := hs256Pools.Load(secret)
	if pool == nil {
		// One pool per API secret the key provider knows: a handful, never a caller's choice.
		pool, _ = hs256Pools.LoadOrStore(secret, &sync.Pool{New: func() any { return hmac.New(sha256.New, []byte(secret)) }})
	}
	mac := pool.(*sync.Pool).Get().(hash.Hash)
	defer pool.(*sync.Pool).Put(mac)
	mac.Reset()
	mac.Write([]byte(signed))
	var sum [sha256.Size]byte
	return hmac.Equal(mac.Sum(sum[:0]), signature)
}

// hs256Pools keeps, by secret, HMACs ready for use: making one is two SHA-256 states and the
// padded key, about a kilobyte a webhook.
var hs256Pools sync.Map // secret -> *sync.Pool of hash.Hash

// readTokenClaims reads the claims that matter from the token's claims part.
func readTokenClaims(p *fastjson.Parser, segment string) (webhookTokenClaims, error) {
	var claims webhookTokenClaims
	v, err := decodeTokenSegment(p, segment)
	if err != nil {
		return claims, err
	}
	if claims.issuer, err = eventString(v, "iss"); err != nil {
		return claims, fmt.Errorf("%w: %v", errWebhookTokenMalformed, err)
	}
	if claims.sha256, err = eventString(v, "sha256"); err != nil {
		return claims, fmt.Errorf("%w: %v", errWebhookTokenMalformed, err)
	}
	if claims.expiry, err = eventDate(v, "exp"); err != nil {
		return claims, fmt.Errorf("%w: %v", errWebhookTokenMalformed, err)
	}
	if claims.notBefore, err = eventDate(v, "nbf"); err != nil {
		return claims, fmt.Errorf("%w: %v", errWebhookTokenMalformed, err)
	}
	return claims, nil
}

// decodeTokenSegment parses one base64url part of a token, a JSON object.
func decodeTokenSegment(p *fastjson.Parser, segment string) (*fastjson.Value, error) {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return nil, errWebhookTokenMalformed
	}
	v, err := p.ParseBytes(data)
	if err != nil || v.Type() != fastjson.TypeObject {
		return nil, errWebhookTokenMalformed
	}
	return v, nil
}

// numericDate is a JWT date (seconds since the epoch, possibly fractional) as a time.
func numericDate(seconds float64) time.Time {
	whole, frac := math.Modf(seconds)
	return time.Unix(int64(whole), int64(frac*1e9))
}

// base64Sha256Len is the length of a SHA-256 digest in standard base64.
const base64Sha256Len = 44

// decodeWebhookEvent decodes an event's body. The events a room reads only a few fields of
// (the room's and participants') are decoded into those fields; the others (egress, whose whole
// EgressInfo a room keeps) by protojson. protojson on every event was a tenth of what a webhook
// cost the node.
func decodeWebhookEvent(body []byte) (*livekit.WebhookEvent, error) {
	p := webhookParsers.Get()
	defer webhookParsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode webhook event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, errors.New("decode webhook event: not a JSON object")
	}
	name, err := eventString(v, "event")
	if err != nil {
		return nil, fmt.Errorf("decode webhook event: %w", err)
	}
	if v.Exists("egressInfo") || strings.HasPrefix(name, "egress_") {
		event := &livekit.WebhookEvent{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}).Unmarshal(body, event); err != nil {
			return nil, err
		}
		return event, nil
	}
	event, err := leanWebhookEvent(v, name)
	if err != nil {
		return nil, fmt.Errorf("decode webhook event: %w", err)
	}
	return event, nil
}

// leanWebhookEvent reads what rooms read of an event that is not about an egress, in
// protojson's names and encodings (an int64 as a string or a number, an enum as its name or its
// number), checking the type of each field it reads as protojson would.
func leanWebhookEvent(v *fastjson.Value, name string) (*livekit.WebhookEvent, error) {
	event := &livekit.WebhookEvent{Event: name}
	var err error
	if event.Id, err = eventString(v, "id"); err != nil {
		return nil, err
	}
	if event.CreatedAt, err = eventInt64(v, "createdAt"); err != nil {
		return nil, err
	}
	if room, err := eventObject(v, "room"); err != nil {
		return nil, err
	} else if room != nil {
		event.Room = &livekit.Room{}
		if event.Room.Name, err = eventString(room, "name"); err != nil {
			return nil, err
		}
		if event.Room.Sid, err = eventString(room, "sid"); err != nil {
			return nil, err
		}
	}
	if participant, err := eventObject(v, "participant"); err != nil {
		return nil, err
	} else if participant != nil {
		p := &livekit.ParticipantInfo{}
		event.Participant = p
		if p.Identity, err = eventString(participant, "identity"); err != nil {
			return nil, err
		}
		if p.Sid, err = eventString(participant, "sid"); err != nil {
			return nil, err
		}
		if p.Name, err = eventString(participant, "name"); err != nil {
			return nil, err
		}
		kind, err := eventEnum(participant, "kind", livekit.ParticipantInfo_Kind_value)
		if err != nil {
			return nil, err
		}
		p.Kind = livekit.ParticipantInfo_Kind(kind)
	}
	return event, nil
}

// The fields below are absent or null for their zero value, and an error when of another type.

func eventString(v *fastjson.Value, key string) (string, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return "", nil
	}
	b, err := f.StringBytes()
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return string(b), nil
}

func eventObject(v *fastjson.Value, key string) (*fastjson.Value, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, nil
	}
	if f.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("%s: not an object", key)
	}
	return f, nil
}

// eventInt64 is an int64 as protojson writes it (a string) or accepts it (a number).
func eventInt64(v *fastjson.Value, key string) (int64, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return 0, nil
	}
	if f.Type() == fastjson.TypeString {
		n, err := strconv.ParseInt(string(f.GetStringBytes()), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return n, nil
	}
	n, err := f.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// eventEnum is an enum by name (as protojson writes it) or number. A name this version does
// not know is the zero value, as protojson's DiscardUnknown has it.
func eventEnum(v *fastjson.Value, key string, values map[string]int32) (int32, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return 0, nil
	}
	if f.Type() == fastjson.TypeString {
		return values[string(f.GetStringBytes())], nil
	}
	n, err := f.Int()
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s: not an enum value", key)
	}
	return int32(n), nil
}

// eventDate is a JWT numeric date, nil when absent.
func eventDate(v *fastjson.Value, key string) (*float64, error) {
	f := v.Get(key)
	if f == nil || f.Type() == fastjson.TypeNull {
		return nil, nil
	}
	seconds, err := f.Float64()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &seconds, nil
}
