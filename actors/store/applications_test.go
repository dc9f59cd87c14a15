package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"meetcoord/actors/store"
)

// applicationStore is the external API's part of both stores.
type applicationStore interface {
	CreateApplication(ctx context.Context, clientID string, record []byte) error
	GetApplication(ctx context.Context, clientID string) ([]byte, bool, error)
	ListApplications(ctx context.Context) ([][]byte, error)
	UpdateApplication(ctx context.Context, clientID string, update func([]byte) ([]byte, error)) error
	SaveUser(ctx context.Context, userID, email string, record []byte) (bool, error)
	UserIDByEmail(ctx context.Context, email string) (string, bool, error)
}

var (
	_ applicationStore = (*store.Memory)(nil)
	_ applicationStore = (*store.Redis)(nil)
)

func TestApplications(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		s := f.s.(applicationStore)
		if err := s.CreateApplication(ctx, "c1", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateApplication(ctx, "c1", []byte("again")); !errors.Is(err, store.ErrApplicationExists) {
			t.Fatalf("second create of c1: %v, want ErrApplicationExists", err)
		}
		if err := s.CreateApplication(ctx, "c2", []byte("two")); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.GetApplication(ctx, "c1")
		if err != nil || !ok || string(got) != "one" {
			t.Fatalf("get c1 = %q, %v, %v; want the first record kept", got, ok, err)
		}
		if _, ok, err := s.GetApplication(ctx, "nobody"); ok || err != nil {
			t.Fatalf("get unknown = %v, %v", ok, err)
		}
		all, err := s.ListApplications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range all {
			names = append(names, string(b))
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"one", "two"}) {
			t.Fatalf("list = %q", names)
		}
		if err := s.UpdateApplication(ctx, "nobody", func(b []byte) ([]byte, error) { return b, nil }); !errors.Is(err, store.ErrUnknownApplication) {
			t.Fatalf("update unknown: %v, want ErrUnknownApplication", err)
		}
		refused := errors.New("refused by the update")
		if err := s.UpdateApplication(ctx, "c1", func([]byte) ([]byte, error) { return nil, refused }); !errors.Is(err, refused) {
			t.Fatalf("update returning an error: %v", err)
		}
		if got, _, _ := s.GetApplication(ctx, "c1"); string(got) != "one" {
			t.Fatalf("a refused update changed the record to %q", got)
		}
	})
}

// Concurrent read-modify-write updates of one application are all applied: none is lost.
func TestApplicationUpdatesDoNotLoseWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		s := f.s.(applicationStore)
		if err := s.CreateApplication(ctx, "c", []byte("0")); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.UpdateApplication(ctx, "c", func(b []byte) ([]byte, error) {
					n, err := strconv.Atoi(string(b))
					return []byte(strconv.Itoa(n + 1)), err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, _, _ := s.GetApplication(ctx, "c"); string(got) != strconv.Itoa(writers) {
			t.Fatalf("after %d increments the record is %q", writers, got)
		}
	})
}

func TestUserEmailIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		ctx := ctxT(t)
		s := f.s.(applicationStore)
		// The index is the one SaveUser keeps; an address that extends another must not match it.
		for id, email := range map[string]string{"u1": "Alice@Example.org", "u2": "alice@example.org.uk"} {
			if _, err := s.SaveUser(ctx, id, email, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			email  string
			want   string
			wantOK bool
		}{
			{"alice@example.org", "u1", true},
			{"ALICE@EXAMPLE.ORG", "u1", true},
			{"alice@example.org.uk", "u2", true},
			{"alice@example.or", "", false},
			{"bob@example.org", "", false},
		}
		for _, tt := range tests {
			got, ok, err := s.UserIDByEmail(ctx, tt.email)
			if err != nil || ok != tt.wantOK || got != tt.want {
				t.Errorf("UserIDByEmail(%s) = %q, %v, %v; want %q, %v", tt.email, got, ok, err, tt.want, tt.wantOK)
			}
		}
	})
}
