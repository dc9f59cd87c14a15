package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Browser sessions and the login flows in progress (state, PKCE verifier, nonce between the
// redirect to the identity provider and its callback). Both live in the shared store with an
// expiry, so that a login started on one node finishes on another and every node accepts every
// session.

func sessionKey(id string) string      { return prefix + "session:" + id }
func loginFlowKey(state string) string { return prefix + "login:" + state }

// PutSession stores a session record that expires after ttl.
func (r *Redis) PutSession(ctx context.Context, id string, record []byte, ttl time.Duration) error {
	if err := r.client.Set(ctx, sessionKey(id), record, ttl).Err(); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// GetSession loads a live session; ok=false when unknown or expired.
func (r *Redis) GetSession(ctx context.Context, id string) ([]byte, bool, error) {
	v, ok, err := r.getString(ctx, sessionKey(id), "session")
	return []byte(v), ok, err
}

// DeleteSession ends a session (no error when it is already gone).
func (r *Redis) DeleteSession(ctx context.Context, id string) error {
	if err := r.client.Del(ctx, sessionKey(id)).Err(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PutLoginFlow stores a login flow in progress under its state, for ttl.
func (r *Redis) PutLoginFlow(ctx context.Context, state string, record []byte, ttl time.Duration) error {
	if err := r.client.Set(ctx, loginFlowKey(state), record, ttl).Err(); err != nil {
		return fmt.Errorf("save login flow: %w", err)
	}
	return nil
}

// TakeLoginFlow loads and removes a login flow in one step (GETDEL): a state is good for one
// callback only, even when two arrive at once on two nodes.
func (r *Redis) TakeLoginFlow(ctx context.Context, state string) ([]byte, bool, error) {
	v, err := r.client.GetDel(ctx, loginFlowKey(state)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("take login flow: %w", err)
	}
	return []byte(v), true, nil
}

// memoryAuth holds the in-process store's sessions and login flows.
type memoryAuth struct {
	sessions map[string]expiring
	flows    map[string]expiring
}

// auth returns the session maps, created on first use; m.mu must be held.
func (m *Memory) auth() *memoryAuth {
	if m.authState == nil {
		m.authState = &memoryAuth{sessions: map[string]expiring{}, flows: map[string]expiring{}}
	}
	return m.authState
}

// PutSession stores a session record that expires after ttl.
func (m *Memory) PutSession(_ context.Context, id string, record []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.auth().sessions[id] = expiring{value: clone(record), expires: expiry(m.now(), ttl)}
	return nil
}

// GetSession loads a live session.
func (m *Memory) GetSession(_ context.Context, id string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.auth().sessions[id]
	if !ok || !s.alive(m.now()) {
		delete(m.auth().sessions, id)
		return nil, false, nil
	}
	return clone(s.value), true, nil
}

// DeleteSession ends a session.
func (m *Memory) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.auth().sessions, id)
	return nil
}

// PutLoginFlow stores a login flow in progress.
func (m *Memory) PutLoginFlow(_ context.Context, state string, record []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.auth().flows[state] = expiring{value: clone(record), expires: expiry(m.now(), ttl)}
	return nil
}

// TakeLoginFlow loads and removes a login flow.
func (m *Memory) TakeLoginFlow(_ context.Context, state string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.auth().flows[state]
	delete(m.auth().flows, state)
	if !ok || !f.alive(m.now()) {
		return nil, false, nil
	}
	return clone(f.value), true, nil
}
