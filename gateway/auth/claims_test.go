package auth

import (
	"encoding/json"
	"testing"
)

func TestProfileEmailVerified(t *testing.T) {
	tests := []struct {
		json           string
		wantUnverified bool
		wantErr        bool
	}{
		{`{"email":"a@example.org"}`, false, false},
		{`{"email_verified":true}`, false, false},
		{`{"email_verified":false}`, true, false},
		{`{"email_verified":"true"}`, false, false},
		{`{"email_verified":"false"}`, true, false},
		{`{"email_verified":1}`, false, true},
	}
	for _, tt := range tests {
		var p Profile
		err := json.Unmarshal([]byte(tt.json), &p)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.json, err, tt.wantErr)
			continue
		}
		if got := p.Claims("s").EmailUnverified; err == nil && got != tt.wantUnverified {
			t.Errorf("%s: EmailUnverified = %v, want %v", tt.json, got, tt.wantUnverified)
		}
	}
	// What we mint reads back the same.
	for _, c := range []Claims{{Subject: "s", Email: "a@example.org"}, {Subject: "s", Email: "a@example.org", EmailUnverified: true}} {
		b, _ := json.Marshal(profileFromClaims(c))
		var p Profile
		if err := json.Unmarshal(b, &p); err != nil || p.Claims("s") != c {
			t.Errorf("round trip of %+v through %s = %+v, %v", c, b, p.Claims("s"), err)
		}
	}
}
