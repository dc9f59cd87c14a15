package store_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"meetcoord/actors/store"
)

// preferenceStore is what both stores offer for user preferences.
type preferenceStore interface {
	SaveUser(ctx context.Context, userID, email string, record []byte) (bool, error)
	UserPreferences(ctx context.Context, userID string) (map[string]string, error)
	SetUserPreferences(ctx context.Context, userID string, prefs map[string]string) error
	InitUserPreference(ctx context.Context, userID, name, value string) error
}

var (
	_ preferenceStore = (*store.Memory)(nil)
	_ preferenceStore = (*store.Redis)(nil)
)

// TestUserPreferencesAreKeptApart: preferences are set field by field (concurrent changes of
// different ones all count), a default never replaces a chosen value, and a re-save of the
// user's record leaves them alone.
func TestUserPreferencesAreKeptApart(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(preferenceStore)
		ctx := ctxT(t)
		if got, err := s.UserPreferences(ctx, "nobody"); err != nil || len(got) != 0 {
			t.Fatalf("preferences of nobody = %v, %v; want none", got, err)
		}
		if _, err := s.SaveUser(ctx, "u1", "u1@example.org", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if err := s.InitUserPreference(ctx, "u1", "language", "fr-fr"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, change := range []map[string]string{{"timezone": "Europe/Paris"}, {"language": "nl-nl"}, {"level": "trusted"}} {
			wg.Go(func() {
				if err := s.SetUserPreferences(ctx, "u1", change); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if err := s.InitUserPreference(ctx, "u1", "language", "de-de"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveUser(ctx, "u1", "new@example.org", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"timezone": "Europe/Paris", "language": "nl-nl", "level": "trusted"}
		if got, err := s.UserPreferences(ctx, "u1"); err != nil || !maps.Equal(got, want) {
			t.Fatalf("preferences = %v, %v; want %v", got, err, want)
		}
	})
}
