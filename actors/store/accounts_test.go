package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"meetcoord/actors/store"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

// accountStore is what both stores offer for browser sessions and user search.
type accountStore interface {
	contractStore
	SaveUser(ctx context.Context, userID, email string, record []byte) (bool, error)
	SearchUsersByEmail(ctx context.Context, prefix string, limit int) ([][]byte, error)
	UserOfSubject(ctx context.Context, subject, ownID, provisionalID string) (string, error)
	LinkedUserOfSubject(ctx context.Context, subject string) (string, bool, error)
	CreateUser(ctx context.Context, userID, email string, record []byte) (bool, error)
	PutSession(ctx context.Context, id string, record []byte, ttl time.Duration) error
	GetSession(ctx context.Context, id string) ([]byte, bool, error)
	DeleteSession(ctx context.Context, id string) error
	PutLoginFlow(ctx context.Context, state string, record []byte, ttl time.Duration) error
	TakeLoginFlow(ctx context.Context, state string) ([]byte, bool, error)
}

var (
	_ accountStore = (*store.Memory)(nil)
	_ accountStore = (*store.Redis)(nil)
)

func TestSaveUserReportsCreationOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		// Concurrent first sights of one user (two nodes, two requests): one creation.
		var created atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, err := s.SaveUser(ctx, "u1", "Ada@Example.org", []byte("v1"))
				if err != nil {
					t.Error(err)
				}
				if ok {
					created.Add(1)
				}
			})
		}
		wg.Wait()
		if created.Load() != 1 {
			t.Fatalf("%d saves reported a creation, want 1", created.Load())
		}
		if again, err := s.SaveUser(ctx, "u1", "ada@example.org", []byte("v2")); err != nil || again {
			t.Fatalf("update reported created=%v err=%v", again, err)
		}
		if got, _, _ := s.GetUser(ctx, "u1"); string(got) != "v2" {
			t.Fatalf("record = %q, want v2", got)
		}
	})
}

// TestProvisionalUserClaimedOnce: the first subject logging in with a provisional user's email
// becomes that user, for good; nobody else can, and a subject with a user of its own keeps it.
func TestProvisionalUserClaimedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		for _, id := range []string{"prov-ada", "prov-bob", "own-bob", "prov-race"} {
			if _, err := s.SaveUser(ctx, id, id+"@example.org", []byte(id)); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name                      string
			subject, own, provisional string
			want                      string
			appearsFirst              string // a provisional user created just before this login
		}{
			{"claims the provisional user", "sub-ada", "own-ada", "prov-ada", "prov-ada", ""},
			{"keeps it on the next login", "sub-ada", "own-ada", "prov-ada", "prov-ada", ""},
			{"keeps it even without the email", "sub-ada", "own-ada", "", "prov-ada", ""},
			{"another subject cannot claim it again", "sub-eve", "own-eve", "prov-ada", "own-eve", ""},
			{"a subject with its own user keeps it", "sub-bob", "own-bob", "prov-bob", "own-bob", ""},
			{"no provisional user", "sub-cy", "own-cy", "prov-cy", "own-cy", ""},
			{"a subject's first answer holds: a provisional user made later is not claimed", "sub-cy", "own-cy", "prov-cy", "own-cy", "prov-cy"},
			{"email not trusted", "sub-dee", "own-dee", "", "own-dee", ""},
		}
		for _, tt := range tests {
			if tt.appearsFirst != "" {
				// Made after the subject's first login (another node's token request).
				if _, err := s.SaveUser(ctx, tt.appearsFirst, tt.appearsFirst+"@example.org", []byte(tt.appearsFirst)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.UserOfSubject(ctx, tt.subject, tt.own, tt.provisional)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s: UserOfSubject(%s) = %s, want %s", tt.name, tt.subject, got, tt.want)
			}
		}
		// Concurrent first logins of different subjects with the same email: one claim.
		var claims atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				id, err := s.UserOfSubject(ctx, fmt.Sprint("racer-", i), fmt.Sprint("own-racer-", i), "prov-race")
				if err != nil {
					t.Error(err)
				}
				if id == "prov-race" {
					claims.Add(1)
				}
			})
		}
		wg.Wait()
		if claims.Load() != 1 {
			t.Fatalf("%d subjects claimed one provisional user, want 1", claims.Load())
		}
	})
}

// TestLinkedUserOfSubject: a subject is known once it logged in (as its own user or as the
// provisional user it claimed), and asking never links it.
func TestLinkedUserOfSubject(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		if _, found, err := s.LinkedUserOfSubject(ctx, "sub-new"); err != nil || found {
			t.Fatalf("unknown subject: found=%v err=%v", found, err)
		}
		if _, found, _ := s.LinkedUserOfSubject(ctx, "sub-new"); found {
			t.Fatal("asking linked the subject")
		}
		if _, err := s.SaveUser(ctx, "prov-lin", "lin@example.org", []byte("p")); err != nil {
			t.Fatal(err)
		}
		for subject, want := range map[string]string{"sub-new": "own-new", "sub-lin": "prov-lin"} {
			if _, err := s.UserOfSubject(ctx, subject, "own-"+subject[4:], "prov-"+subject[4:]); err != nil {
				t.Fatal(err)
			}
			if got, found, err := s.LinkedUserOfSubject(ctx, subject); err != nil || !found || got != want {
				t.Errorf("LinkedUserOfSubject(%s) = %q, %v, %v; want %q", subject, got, found, err, want)
			}
		}
	})
}

// CreateUser writes a user only once: an existing record (a claimed provisional user) is never
// overwritten.
func TestCreateUserNeverOverwrites(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		if created, err := s.CreateUser(ctx, "p1", "pat@example.org", []byte("first")); err != nil || !created {
			t.Fatalf("first create: created=%v err=%v", created, err)
		}
		if _, err := s.SaveUser(ctx, "p1", "pat@new.example.org", []byte("claimed")); err != nil {
			t.Fatal(err)
		}
		if created, err := s.CreateUser(ctx, "p1", "pat@example.org", []byte("again")); err != nil || created {
			t.Fatalf("second create: created=%v err=%v, want false", created, err)
		}
		if got, _, _ := s.GetUser(ctx, "p1"); string(got) != "claimed" {
			t.Fatalf("record %q, want the claimed one kept", got)
		}
		if found, _ := s.SearchUsersByEmail(ctx, "pat@example.org", 10); len(found) != 0 {
			t.Fatalf("the refused create indexed the old email: %q", found)
		}
	})
}

func TestSearchUsersByEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		users := map[string]string{
			"ann": "ann@example.org", "anna": "Anna@Example.org", "annie": "annie@other.net",
			"bob": "bob@example.org", "noemail": "",
		}
		for id, email := range users {
			if _, err := s.SaveUser(ctx, id, email, []byte("rec-"+id)); err != nil {
				t.Fatal(err)
			}
		}
		// Bob changes email: the old one no longer finds him.
		if _, err := s.SaveUser(ctx, "bob", "robert@example.org", []byte("rec-bob")); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			prefix string
			limit  int
			want   []string
		}{
			{"ann@example.org", 10, []string{"rec-ann"}},
			{"ANN", 10, []string{"rec-ann", "rec-anna", "rec-annie"}},
			{"ann", 2, []string{"rec-ann", "rec-anna"}},
			{"anna@", 10, []string{"rec-anna"}},
			{"bob", 10, nil},
			{"robert@", 10, []string{"rec-bob"}},
			{"zed", 10, nil},
		}
		for _, tt := range tests {
			raw, err := s.SearchUsersByEmail(ctx, tt.prefix, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range raw {
				got = append(got, string(b))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q limit %d = %v, want %v", tt.prefix, tt.limit, got, tt.want)
			}
		}
	})
}

func TestSessionsExpireAndEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		if err := s.PutSession(ctx, "long", []byte("a"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(ctx, "short", []byte("b"), 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.GetSession(ctx, "long"); err != nil || !ok || string(got) != "a" {
			t.Fatalf("GetSession(long) = %q %v %v", got, ok, err)
		}
		if f.rdb != nil {
			if ttl := f.pttl(t, "meetcoord:session:long"); ttl <= 59*time.Minute {
				t.Errorf("session TTL in Redis = %v, want about an hour", ttl)
			}
		}
		servicetest.Eventually(t, 5*time.Second, "the short session to expire", func() bool {
			_, ok, err := s.GetSession(ctx, "short")
			return err == nil && !ok
		})
		if err := s.DeleteSession(ctx, "long"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.GetSession(ctx, "long"); ok {
			t.Fatal("deleted session still found")
		}
	})
}

func TestLoginFlowIsTakenOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, f fixture) {
		s := f.s.(accountStore)
		ctx := ctxT(t)
		if err := s.PutLoginFlow(ctx, "state-1", []byte("flow"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var taken atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				got, ok, err := s.TakeLoginFlow(ctx, "state-1")
				if err != nil {
					t.Error(err)
				}
				if ok {
					taken.Add(1)
					if string(got) != "flow" {
						t.Errorf("take #%d = %q", i, got)
					}
				}
			})
		}
		wg.Wait()
		if taken.Load() != 1 {
			t.Fatalf("flow taken %d times, want once", taken.Load())
		}
		if _, ok, _ := s.TakeLoginFlow(ctx, fmt.Sprint("unknown")); ok {
			t.Fatal("unknown state found")
		}
	})
}
