package store

import (
	"context"
	"fmt"
	"maps"
)

// A user's preferences (language, timezone, defaults of their new rooms) live beside their
// record, one hash field per preference: the record is rewritten whenever a token's claims
// change, the preferences only by their owner, field by field, so neither write can undo the
// other and two requests changing different preferences at once both count.

func userPreferencesKey(userID string) string { return prefix + "user:" + userID + ":preferences" }

// UserPreferences returns the preferences a user has (name -> value); none: an empty map.
func (r *Redis) UserPreferences(ctx context.Context, userID string) (map[string]string, error) {
	prefs, err := r.client.HGetAll(ctx, userPreferencesKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read preferences of user %s: %w", userID, err)
	}
	return prefs, nil
}

// SetUserPreferences sets the given preferences in one step and keeps the others.
func (r *Redis) SetUserPreferences(ctx context.Context, userID string, prefs map[string]string) error {
	if len(prefs) == 0 {
		return nil
	}
	if err := r.client.HSet(ctx, userPreferencesKey(userID), prefs).Err(); err != nil {
		return fmt.Errorf("set preferences of user %s: %w", userID, err)
	}
	return nil
}

// InitUserPreference sets a preference only if the user has none yet (a default taken from
// their first login), never replacing one they chose.
func (r *Redis) InitUserPreference(ctx context.Context, userID, name, value string) error {
	if err := r.client.HSetNX(ctx, userPreferencesKey(userID), name, value).Err(); err != nil {
		return fmt.Errorf("initialise preference %s of user %s: %w", name, userID, err)
	}
	return nil
}

// UserPreferences is Redis.UserPreferences.
func (m *Memory) UserPreferences(_ context.Context, userID string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.preferences[userID]), nil
}

// SetUserPreferences is Redis.SetUserPreferences.
func (m *Memory) SetUserPreferences(_ context.Context, userID string, prefs map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.Copy(m.userPreferences(userID), prefs)
	return nil
}

// InitUserPreference is Redis.InitUserPreference.
func (m *Memory) InitUserPreference(_ context.Context, userID, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefs := m.userPreferences(userID)
	if _, set := prefs[name]; !set {
		prefs[name] = value
	}
	return nil
}

// userPreferences is the (created on first use) preferences map of a user; m.mu is held.
func (m *Memory) userPreferences(userID string) map[string]string {
	if m.preferences == nil {
		m.preferences = map[string]map[string]string{}
	}
	if m.preferences[userID] == nil {
		m.preferences[userID] = map[string]string{}
	}
	return m.preferences[userID]
}
