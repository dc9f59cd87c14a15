package application_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"meetcoord/actors/store"
	"meetcoord/gateway/auth/application"
)

func TestCreateValidates(t *testing.T) {
	tests := []struct {
		name    string
		appName string
		scopes  []string
		domains []string
		want    string // error substring; empty: created
	}{
		{"ok", "Calendar", []string{"rooms:list", "rooms:create"}, []string{"Example.org"}, ""},
		{"every domain", "Calendar", []string{"rooms:list"}, []string{"*"}, ""},
		{"no name", " ", []string{"rooms:list"}, []string{"example.org"}, "name is required"},
		{"no scope", "Calendar", nil, []string{"example.org"}, "at least one scope"},
		{"unknown scope", "Calendar", []string{"rooms:delete"}, []string{"example.org"}, `unknown scope "rooms:delete"`},
		{"no domain", "Calendar", []string{"rooms:list"}, []string{""}, "at least one allowed email domain"},
		{"email as domain", "Calendar", []string{"rooms:list"}, []string{"a@example.org"}, "not a domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := application.NewRegistry(store.NewMemory())
			a, secret, err := r.Create(context.Background(), tt.appName, tt.scopes, tt.domains)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Create = %v, want an error containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !a.Active || a.ClientID == "" || a.ID == "" || len(secret) < 40 || strings.Contains(a.SecretHash, secret) {
				t.Fatalf("created %+v with secret %q", a, secret)
			}
			stored, found, err := r.Get(context.Background(), a.ClientID)
			if err != nil || !found || !application.SecretMatches(stored, found, secret) {
				t.Fatalf("the secret does not match the stored application (%v, %v)", found, err)
			}
		})
	}
}

func TestSecretsAndLifecycle(t *testing.T) {
	ctx := context.Background()
	r := application.NewRegistry(store.NewMemory())
	a, secret, err := r.Create(ctx, "Calendar", []string{"rooms:list"}, []string{"example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if application.SecretMatches(a, true, secret+"x") || application.SecretMatches(a, true, "") {
		t.Fatal("a wrong secret matches")
	}
	if application.SecretMatches(application.Application{}, false, secret) {
		t.Fatal("an unknown application matches")
	}
	newSecret, err := r.RotateSecret(ctx, a.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _, _ := r.Get(ctx, a.ClientID)
	if application.SecretMatches(rotated, true, secret) || !application.SecretMatches(rotated, true, newSecret) {
		t.Fatal("after rotation the old secret still works or the new one does not")
	}
	if a.SecretVersion != 0 || rotated.SecretVersion != 1 {
		t.Fatalf("secret versions %d then %d, want 0 then 1", a.SecretVersion, rotated.SecretVersion)
	}
	if err := r.SetActive(ctx, a.ClientID, false); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := r.Get(ctx, a.ClientID); got.Active || got.SecretHash != rotated.SecretHash {
		t.Fatalf("after disabling: %+v", got)
	}
	for _, err := range []error{r.SetActive(ctx, "nobody", false), func() error { _, err := r.RotateSecret(ctx, "nobody"); return err }()} {
		if !errors.Is(err, application.ErrUnknown) {
			t.Fatalf("unknown client id: %v, want ErrUnknown", err)
		}
	}
	b, _, err := r.Create(ctx, "Second", []string{"rooms:create"}, []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := r.List(ctx)
	if err != nil || len(all) != 2 || all[0].ClientID != a.ClientID || all[1].ClientID != b.ClientID {
		t.Fatalf("list = %+v, %v", all, err)
	}
}

func TestAllowsEmail(t *testing.T) {
	a := application.Application{AllowedDomains: []string{"example.org"}}
	everyDomain := application.Application{AllowedDomains: []string{"*"}}
	tests := []struct {
		app   application.Application
		email string
		want  bool
	}{
		{a, "alice@example.org", true},
		{a, "alice@EXAMPLE.org", true},
		{a, "alice@sub.example.org", false},
		{a, "alice@example.org.evil.com", false},
		{a, "alice@other.org", false},
		{a, "no-at-sign", false},
		{everyDomain, "bob@anything.net", true},
	}
	for _, tt := range tests {
		if got := tt.app.AllowsEmail(tt.email); got != tt.want {
			t.Errorf("%v allows %s = %v, want %v", tt.app.AllowedDomains, tt.email, got, tt.want)
		}
	}
}
