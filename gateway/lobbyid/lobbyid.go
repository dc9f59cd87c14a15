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
	"hash"
	"strconv"
	"sync"

	"github.com/google/uuid"
)

// MinKeyBytes is the shortest SECRET_KEY accepted: the key is all that keeps ids unforgeable.
const MinKeyBytes = 32

// Key derives participant ids. The zero Key derives none.
type Key struct{ k *key }

type key struct {
	// macs holds HMACs keyed with the secret, reset before each use: every lobby poll derives an
	// id, and a new HMAC costs allocations and two hash blocks for the padded key.
	macs sync.Pool
}

// NewKey makes a key from SECRET_KEY.
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeyBytes {
		return Key{}, fmt.Errorf("the key must be at least %d bytes, got %d", MinKeyBytes, len(secret))
	}
	secret = append([]byte(nil), secret...)
	return Key{k: &key{macs: sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}}}, nil
}

// sum appends HMAC-SHA256(key, msg) to dst.
func (k *key) sum(dst, msg []byte) []byte {
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(msg)
	dst = mac.Sum(dst)
	k.macs.Put(mac)
	return dst
}

// ErrNoKey is returned by ParticipantID on a zero Key.
var ErrNoKey = errors.New("lobby participant key not configured")

// ParticipantID is the participant id of the holder of secret in room roomID: a UUID (version 8,
// RFC 9562's custom form) made of the first 16 bytes of HMAC-SHA256(key, room, secret).
func (k Key) ParticipantID(roomID, secret string) (string, error) {
	if k.k == nil {
		return "", ErrNoKey
	}
	// "lobby-participant:<len>:<room>:<len>:<secret>": length-prefixed fields, so that no
	// (room, secret) pair can be re-cut into another.
	msg := make([]byte, 0, 128)
	msg = append(msg, "lobby-participant:"...)
	msg = strconv.AppendInt(msg, int64(len(roomID)), 10)
	msg = append(append(append(msg, ':'), roomID...), ':')
	msg = strconv.AppendInt(msg, int64(len(secret)), 10)
	msg = append(append(msg, ':'), secret...)
	var sum [sha256.Size]byte
	var id uuid.UUID
	copy(id[:], k.k.sum(sum[:0], msg))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String(), nil
}

// Client is what a room keeps of the address that paid for a lobby entry: a keyed hash, so that
// stored lobby entries hold no addresses and yet one address's entries can be counted.
func (k Key) Client(address string) string {
	if k.k == nil {
		return "" // no key, no entries: ParticipantID refuses first
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(k.k.sum(sum[:0], append([]byte("lobby-client:"), address...))[:12])
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
