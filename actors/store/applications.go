package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// External API applications and the user email index. Application records are opaque to the
// store (the gateway encodes them); the store only guarantees that a record is created once and
// that an update is a read-modify-write no other update can interleave with.

// ErrApplicationExists is returned when creating an application whose client id is taken.
var ErrApplicationExists = errors.New("application client id already exists")

// ErrUnknownApplication is returned when updating an application that does not exist.
var ErrUnknownApplication = errors.New("unknown application")

// applicationsKey is one hash of client id -> record: applications are few (one per
// integration), and one key makes listing a single HVALS.
const applicationsKey = prefix + "applications"

// updateRetries bounds optimistic retries of an application update racing another one.
const updateRetries = 10

// CreateApplication stores a new application record under its client id.
func (r *Redis) CreateApplication(ctx context.Context, clientID string, record []byte) error {
	created, err := r.client.HSetNX(ctx, applicationsKey, clientID, record).Result()
	if err != nil {
		return fmt.Errorf("create application %s: %w", clientID, err)
	}
	if !created {
		return fmt.Errorf("create application %s: %w", clientID, ErrApplicationExists)
	}
	return nil
}

// GetApplication loads an application record; ok=false when unknown.
func (r *Redis) GetApplication(ctx context.Context, clientID string) ([]byte, bool, error) {
	v, err := r.client.HGet(ctx, applicationsKey, clientID).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read application %s: %w", clientID, err)
	}
	return v, true, nil
}

// ListApplications returns every application record, in no particular order.
func (r *Redis) ListApplications(ctx context.Context) ([][]byte, error) {
	vals, err := r.client.HVals(ctx, applicationsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// UpdateApplication replaces an application record by update(current), optimistically: the
// write is refused (and retried with the new value) when another update got in between, so two
// administrators disabling and rotating at once both take effect.
func (r *Redis) UpdateApplication(ctx context.Context, clientID string, update func([]byte) ([]byte, error)) error {
	for range updateRetries {
		err := r.client.Watch(ctx, func(tx *redis.Tx) error {
			current, err := tx.HGet(ctx, applicationsKey, clientID).Bytes()
			if errors.Is(err, redis.Nil) {
				return ErrUnknownApplication
			}
			if err != nil {
				return err
			}
			next, err := update(current)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, applicationsKey, clientID, next)
				return nil
			})
			return err
		}, applicationsKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update application %s: %w", clientID, err)
		}
		return nil
	}
	return fmt.Errorf("update application %s: too many concurrent updates", clientID)
}

// UserIDByEmail returns the id of a user saved with this email address (case-insensitively),
// from the email index SaveUser keeps; with several, the first by id.
func (r *Redis) UserIDByEmail(ctx context.Context, email string) (string, bool, error) {
	e := strings.ToLower(email)
	members, err := r.client.ZRangeByLex(ctx, usersByEmailKey, &redis.ZRangeBy{
		Min: "[" + e + "\x00", Max: "[" + e + "\x00\xff", Count: 1,
	}).Result()
	if err != nil {
		return "", false, fmt.Errorf("find user by email: %w", err)
	}
	if len(members) == 0 {
		return "", false, nil
	}
	return members[0][len(e)+1:], true, nil
}

// memoryApplications is the in-process counterpart; its zero value is ready to use.
type memoryApplications struct {
	apps map[string][]byte
}

// CreateApplication stores a new application record under its client id.
func (m *Memory) CreateApplication(_ context.Context, clientID string, record []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ext.apps[clientID]; ok {
		return fmt.Errorf("create application %s: %w", clientID, ErrApplicationExists)
	}
	if m.ext.apps == nil {
		m.ext.apps = map[string][]byte{}
	}
	m.ext.apps[clientID] = clone(record)
	return nil
}

// GetApplication loads an application record; ok=false when unknown.
func (m *Memory) GetApplication(_ context.Context, clientID string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.ext.apps[clientID]
	return clone(v), ok, nil
}

// ListApplications returns every application record, in no particular order.
func (m *Memory) ListApplications(context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, 0, len(m.ext.apps))
	for _, v := range m.ext.apps {
		out = append(out, clone(v))
	}
	return out, nil
}

// UpdateApplication replaces an application record by update(current), atomically.
func (m *Memory) UpdateApplication(_ context.Context, clientID string, update func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	current, ok := m.ext.apps[clientID]
	if !ok {
		return fmt.Errorf("update application %s: %w", clientID, ErrUnknownApplication)
	}
	next, err := update(clone(current))
	if err != nil {
		return fmt.Errorf("update application %s: %w", clientID, err)
	}
	m.ext.apps[clientID] = clone(next)
	return nil
}

// UserIDByEmail returns the id of a user saved with this email address (case-insensitively);
// with several, the first by id.
func (m *Memory) UserIDByEmail(_ context.Context, email string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := strings.ToLower(email)
	found := ""
	for id, addr := range m.userEmails {
		if addr == e && (found == "" || id < found) {
			found = id
		}
	}
	return found, found != "", nil
}
