// Package lobbyid separates who a lobby guest is from what others see of them.
//
// A guest's browser holds a secret (the lobby cookie) that nobody else ever sees. What admins
// list, what `enter` takes and what the meeting shows as the guest's LiveKit identity is a
// participant id derived from that secret and the room with a keyed hash under the server's
// SECRET_KEY (the same on every node). So a guest has unrelated ids in different rooms, an id
// seen in a waiting list or a meeting cannot be turned back into a cookie, and no cookie value
// makes its holder's id equal to an identity of someone else's choosing.
package lobbyid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// MinKeyBytes is the shortest SECRET_KEY accepted: the key is all that keeps ids unforgeable.
const MinKeyBytes = 32

// Key derives participant ids.
type Key struct{ secret []byte }

// NewKey makes a key from SECRET_KEY.
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeyBytes {
		return Key{}, fmt.Errorf("the key must be at least %d bytes, got %d", MinKeyBytes, len(secret))
	}
	return Key{secret: append([]byte(nil), secret...)}, nil
}

// ErrNoKey is returned by ParticipantID on a zero Key.
var ErrNoKey = errors.New("lobby participant key not configured")

// ParticipantID is the participant id of the holder of secret in room roomID: a UUID (version 8,
// RFC 9562's custom form) made of the first 16 bytes of HMAC-SHA256(key, room, secret).
func (k Key) ParticipantID(roomID, secret string) (string, error) {
	if len(k.secret) == 0 {
		return "", ErrNoKey
	}
	mac := hmac.New(sha256.New, k.secret)
	// Length-prefixed fields: no (room, secret) pair can be re-cut into another.
	fmt.Fprintf(mac, "lobby-participant:%d:%s:%d:%s", len(roomID), roomID, len(secret), secret)
	var id uuid.UUID
	copy(id[:], mac.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String(), nil
}

// Client is what a room keeps of the address that paid for a lobby entry: a keyed hash, so that
// stored lobby entries hold no addresses and yet one address's entries can be counted.
func (k Key) Client(address string) string {
	mac := hmac.New(sha256.New, k.secret)
	fmt.Fprintf(mac, "lobby-client:%s", address)
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

// NewSecret is a fresh cookie secret: a random (version 4) UUID, 122 random bits.
func NewSecret() string { return uuid.NewString() }

// ParseSecret accepts a cookie value that is a UUID, in canonical form; anything else is refused
// (the caller then gets a fresh secret).
func ParseSecret(value string) (string, bool) {
	id, err := uuid.Parse(value)
	if err != nil || len(value) != 36 {
		return "", false
	}
	return id.String(), true
}
