package lobbyid

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestParticipantIDs(t *testing.T) {
	key, err := NewKey([]byte(strings.Repeat("k", MinKeyBytes)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey([]byte(strings.Repeat("o", MinKeyBytes)))
	roomA, roomB := uuid.NewString(), uuid.NewString()
	secret := NewSecret()
	id := func(k Key, room, secret string) string {
		t.Helper()
		v, err := k.ParticipantID(room, secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(v); err != nil {
			t.Fatalf("participant id %q is not a UUID", v)
		}
		return v
	}
	a := id(key, roomA, secret)
	cases := []struct {
		name string
		same bool
		got  string
	}{
		{"same secret, same room: stable", true, id(key, roomA, secret)},
		{"another room: unrelated id", false, id(key, roomB, secret)},
		{"another secret", false, id(key, roomA, NewSecret())},
		{"another server key", false, id(other, roomA, secret)},
		{"the id itself used as a secret does not give the id", false, id(key, roomA, a)},
		{"fields cannot be re-cut", false, id(key, roomA+":36:", secret[:10])},
	}
	for _, tc := range cases {
		if (tc.got == a) != tc.same {
			t.Errorf("%s: %s vs %s", tc.name, tc.got, a)
		}
	}
	if _, err := (Key{}).ParticipantID(roomA, secret); err == nil {
		t.Error("a zero key derived an id")
	}
	if _, err := NewKey([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

// TestDerivationIsStable: ids are stored (lobby entries, LiveKit identities) and derived again on
// every poll, by every node and every version: the derivation must never change.
func TestDerivationIsStable(t *testing.T) {
	key, err := NewKey([]byte(strings.Repeat("k", MinKeyBytes)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := key.ParticipantID("0b1d6f6e-3c1a-4a7e-9a57-2f3c8f1d2e4b", "6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60")
	if want := "99b424e0-65d4-8e05-8955-ae42618554f5"; err != nil || id != want {
		t.Errorf("participant id %q, %v; want %q", id, err, want)
	}
	if got, want := key.Client("192.0.2.7"), "67faa319bc39d89cfbb90ea6"; got != want {
		t.Errorf("client %q, want %q", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60", true},
		{"6F1C7A8E-2B1D-4C3E-9F0A-1B2C3D4E5F60", true},
		{"{6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60}", false},
		{"urn:uuid:6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60", false},
		{"6f1c7a8e2b1d4c3e9f0a1b2c3d4e5f60", false},
		{"", false},
		{"not-a-uuid", false},
	} {
		got, ok := ParseSecret(tc.value)
		if ok != tc.ok || (ok && got != strings.ToLower(tc.value)) {
			t.Errorf("ParseSecret(%q) = %q, %v", tc.value, got, ok)
		}
	}
}

// FuzzParseSecret: any cookie value is either refused or a canonical UUID that parses back to
// itself; and no accepted value derives an id equal to the value itself.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60", "{6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60}", "", "x", strings.Repeat("a", 36)} {
		f.Add(s)
	}
	key, _ := NewKey([]byte(strings.Repeat("k", MinKeyBytes)))
	f.Fuzz(func(t *testing.T, value string) {
		secret, ok := ParseSecret(value)
		if !ok {
			return
		}
		if again, ok := ParseSecret(secret); !ok || again != secret {
			t.Fatalf("ParseSecret(%q) = %q, which parses to %q, %v", value, secret, again, ok)
		}
		if id, err := key.ParticipantID("room", secret); err != nil || id == secret {
			t.Fatalf("secret %q derived %q, %v", secret, id, err)
		}
	})
}
