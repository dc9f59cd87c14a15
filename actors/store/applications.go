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

func userEmailKey(email string) string { return prefix + "user-email:" + strings.ToLower(email) }

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

// PutUserEmail points an email address (case-insensitively) at a user id. Readers must check
// that the user's record still carries the address: a changed address leaves a stale pointer.
func (r *Redis) PutUserEmail(ctx context.Context, email, userID string) error {
	if err := r.client.Set(ctx, userEmailKey(email), userID, 0).Err(); err != nil {
		return fmt.Errorf("index email of user %s: %w", userID, err)
	}
	return nil
}

// UserIDByEmail returns the user id last indexed under an email address.
func (r *Redis) UserIDByEmail(ctx context.Context, email string) (string, bool, error) {
	return r.getString(ctx, userEmailKey(email), "user email")
}

// memoryApplications is the in-process counterpart; its zero value is ready to use.
type memoryApplications struct {
	apps   map[string][]byte
	emails map[string]string
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

// PutUserEmail points an email address (case-insensitively) at a user id.
func (m *Memory) PutUserEmail(_ context.Context, email, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ext.emails == nil {
		m.ext.emails = map[string]string{}
	}
	m.ext.emails[strings.ToLower(email)] = userID
	return nil
}

// UserIDByEmail returns the user id last indexed under an email address.
func (m *Memory) UserIDByEmail(_ context.Context, email string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.ext.emails[strings.ToLower(email)]
	return id, ok, nil
}
