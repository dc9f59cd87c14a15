package auth

import (
	"net/http/httptest"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name      string
		header    string // empty means no Authorization header
		wantToken string
		wantOK    bool
	}{
		{name: "missing", header: "", wantOK: false},
		{name: "basic scheme", header: "Basic x", wantOK: false},
		{name: "empty bearer token", header: "Bearer ", wantOK: false},
		{name: "scheme only", header: "Bearer", wantOK: false},
		{name: "whitespace token", header: "Bearer    ", wantOK: false},
		{name: "scheme prefix of another word", header: "Bearerabc", wantOK: false},
		{name: "bearer", header: "Bearer abc.def.ghi", wantToken: "abc.def.ghi", wantOK: true},
		{name: "lower-case scheme", header: "bearer abc", wantToken: "abc", wantOK: true},
		{name: "upper-case scheme", header: "BEARER abc", wantToken: "abc", wantOK: true},
		{name: "extra spaces trimmed", header: "Bearer   abc  ", wantToken: "abc", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, ok := BearerToken(r)
			if got != tt.wantToken || ok != tt.wantOK {
				t.Errorf("BearerToken(%q) = (%q, %v), want (%q, %v)", tt.header, got, ok, tt.wantToken, tt.wantOK)
			}
		})
	}
}
