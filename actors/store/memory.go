package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"meetcoord/actors/room"
)

// Memory is an in-process store with the same semantics as Redis. It serves single-node
// development (REDIS_URL empty) and unit tests; its state is lost when the process exits.
type Memory struct {
	mu        sync.Mutex
	now       func() time.Time
	epochs    map[string]int64
	holders   map[string][]string // per room, newest first (see room.Activation.Holders)
	states    map[string]expiring
	lobbies   map[string]*memoryLobby // by room id
	pointers  map[string]expiring     // slug, callback and access indexes, by store key
	userRooms map[string]map[string][]byte
	userRecs  map[string]map[string][]byte
	accesses  map[string][]byte // encoded AccessList by room id (the room accesses index)
	users     map[string][]byte
	watchers  []func(roomID string, epoch int64)
	ext       memoryApplications // external API applications
	// Browser sessions and the email index of users (sessions.go, users.go), created on first use.
	authState  *memoryAuth
	userEmails map[string]string
	subjects   map[string]string // OIDC subject -> the provisional user it claimed
	claimed    map[string]bool   // provisional users claimed by a subject
	// preferences of users by id (preferences.go), created on first use.
	preferences map[string]map[string]string
}

var _ room.Store = (*Memory)(nil)

type expiring struct {
	value   []byte
	expires time.Time // zero: never
}

func (e expiring) alive(now time.Time) bool { return e.expires.IsZero() || now.Before(e.expires) }

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{
		now:       time.Now,
		epochs:    map[string]int64{},
		holders:   map[string][]string{},
		states:    map[string]expiring{},
		lobbies:   map[string]*memoryLobby{},
		pointers:  map[string]expiring{},
		userRooms: map[string]map[string][]byte{},
		userRecs:  map[string]map[string][]byte{},
		accesses:  map[string][]byte{},
		users:     map[string][]byte{},
	}
}

// Ping always succeeds.
func (m *Memory) Ping(context.Context) error { return nil }

// Activate implements room.Store.
func (m *Memory) Activate(_ context.Context, roomID, holder string) (room.Activation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[roomID]
	if ok && !s.alive(m.now()) {
		// An expired tombstone takes its epoch and holders with it, as in Redis.
		delete(m.states, roomID)
		delete(m.epochs, roomID)
		delete(m.holders, roomID)
		ok = false
	}
	if !ok {
		return room.Activation{Epoch: m.epochs[roomID]}, nil
	}
	m.epochs[roomID]++
	for _, announce := range m.watchers {
		announce(roomID, m.epochs[roomID])
	}
	// As in Redis, where the holders are one space-separated string: an empty name is none.
	var others []string
	for _, h := range m.holders[roomID] {
		if h != holder && len(others) < maxHolders-1 {
			others = append(others, h)
		}
	}
	m.holders[roomID] = others
	if holder != "" {
		m.holders[roomID] = append([]string{holder}, others...)
	}
	return room.Activation{Epoch: m.epochs[roomID], State: clone(s.value), Holders: others}, nil
}

// SoleHolder implements room.Store.
func (m *Memory) SoleHolder(_ context.Context, roomID string, epoch int64, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epochs[roomID] == epoch && holder != "" {
		m.holders[roomID] = []string{holder}
	}
	return nil
}

// DropHolder implements room.Store.
func (m *Memory) DropHolder(_ context.Context, roomID string, epoch int64, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epochs[roomID] != epoch {
		return nil
	}
	var kept []string
	for _, h := range m.holders[roomID] {
		if h != holder {
			kept = append(kept, h)
		}
	}
	if len(kept) == 0 {
		delete(m.holders, roomID)
	} else {
		m.holders[roomID] = kept
	}
	return nil
}

// Epoch implements room.Store.
func (m *Memory) Epoch(_ context.Context, roomID string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.states[roomID]; ok && !s.alive(m.now()) {
		return 0, nil // an expired tombstone took its epoch with it, as in Redis
	}
	return m.epochs[roomID], nil
}

// WatchActivations calls announce for every activation, as the Redis store does across nodes
// (announce must not call back into the store).
func (m *Memory) WatchActivations(_ context.Context, announce func(roomID string, epoch int64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watchers = append(m.watchers, announce)
}

// Save implements room.Store.
func (m *Memory) Save(_ context.Context, s room.Snapshot) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	current := m.epochs[s.RoomID]
	if current != s.Epoch {
		return 0, fmt.Errorf("save room %s at epoch %d (current %d): %w", s.RoomID, s.Epoch, current, room.ErrFenced)
	}
	for _, op := range s.Index {
		if op.Exclusive && !op.Remove {
			if holder, ok := m.pointer(indexKey(op)); ok && holder != s.RoomID {
				return 0, fmt.Errorf("save room %s: %w", s.RoomID, &room.IndexTakenError{Index: op.Index, Key: op.Key})
			}
		}
	}
	if current == 0 {
		current = 1
		m.epochs[s.RoomID] = current
		m.holders[s.RoomID] = nil
		if s.Holder != "" {
			m.holders[s.RoomID] = []string{s.Holder}
		}
	}
	now := m.now()
	m.states[s.RoomID] = expiring{value: clone(s.State), expires: expiry(now, s.TTL)}
	if s.TTL > 0 {
		delete(m.lobbies, s.RoomID) // a tombstone: the lobby goes at once
	}
	m.applyLobby(s.RoomID, s.Lobby, now)
	for _, op := range s.Index {
		switch {
		case op.Index == room.IndexUserRecordings:
			if m.userRecs[op.Key] == nil {
				m.userRecs[op.Key] = map[string][]byte{}
			}
			m.userRecs[op.Key][op.Field] = clone(op.Summary)
		case op.Index == room.IndexUserRooms && op.Remove:
			delete(m.userRooms[op.Key], s.RoomID)
		case op.Index == room.IndexUserRooms:
			if m.userRooms[op.Key] == nil {
				m.userRooms[op.Key] = map[string][]byte{}
			}
			m.userRooms[op.Key][s.RoomID] = clone(op.Summary)
		case op.Index == room.IndexRoomAccesses && op.Remove:
			delete(m.accesses, s.RoomID)
		case op.Index == room.IndexRoomAccesses:
			m.accesses[s.RoomID] = clone(op.Summary)
		case op.Remove:
			key := indexKey(op)
			if p, ok := m.pointers[key]; ok && string(p.value) == s.RoomID {
				delete(m.pointers, key)
			}
		default:
			m.pointers[indexKey(op)] = expiring{value: []byte(s.RoomID), expires: expiry(now, op.TTL)}
		}
	}
	return current, nil
}

func (m *Memory) pointer(key string) (string, bool) {
	p, ok := m.pointers[key]
	if !ok || !p.alive(m.now()) {
		return "", false
	}
	return string(p.value), true
}

func (m *Memory) lookup(key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.pointer(key)
	return id, ok, nil
}

// RoomIDBySlug resolves a slug to its room id.
func (m *Memory) RoomIDBySlug(_ context.Context, slug string) (string, bool, error) {
	return m.lookup(slugKey(slug))
}

// RoomIDByAccess resolves a resource access id to the room that holds it.
func (m *Memory) RoomIDByAccess(_ context.Context, accessID string) (string, bool, error) {
	return m.lookup(accessKey(accessID))
}

// RoomOfRecording resolves a recording id to the room it was made in.
func (m *Memory) RoomOfRecording(_ context.Context, recordingID string) (string, bool, error) {
	return m.lookup(recordingKey(recordingID))
}

// CallbackRoom returns the room created under a creation callback id, if still remembered.
func (m *Memory) CallbackRoom(_ context.Context, callbackID string) (string, bool, error) {
	return m.lookup(callbackKey(callbackID))
}

// RoomsOfUser returns the room summaries of the rooms where the user holds a role.
func (m *Memory) RoomsOfUser(_ context.Context, userID string) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, 0, len(m.userRooms[userID]))
	for _, s := range m.userRooms[userID] {
		out = append(out, clone(s))
	}
	return out, nil
}

// AccessListsOfRooms returns the indexed accesses of each room, nil for a room with none.
func (m *Memory) AccessListsOfRooms(_ context.Context, roomIDs []string) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, len(roomIDs))
	for i, id := range roomIDs {
		out[i] = clone(m.accesses[id])
	}
	return out, nil
}

// RecordingsOfUser returns the recording entries of a user.
func (m *Memory) RecordingsOfUser(_ context.Context, userID string) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, 0, len(m.userRecs[userID]))
	for _, s := range m.userRecs[userID] {
		out = append(out, clone(s))
	}
	return out, nil
}

// GetUser loads a user record.
func (m *Memory) GetUser(_ context.Context, userID string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[userID]
	return clone(u), ok, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}
