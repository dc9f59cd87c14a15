package gateway

import (
	"encoding/json"
	"testing"
)

// TestPlainStringAgreesWithEncodingJSON: the fast path reads exactly what encoding/json reads,
// and leaves to it every string it cannot read as is.
func TestPlainStringAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		plain bool // taken by the fast path
	}{
		{`"guest"`, true},
		{`""`, true},
		{`"Zoë Ünal 李"`, true},
		{`"a\"b"`, false},
		{`"line\nbreak"`, false},
		{`"\u00e9"`, false},
		{"\"bad \xff utf8\"", false},
		{`12`, false},
		{`true`, false},
		{`["x"]`, false},
		{`{"a":"b"}`, false},
	} {
		got, ok := plainString([]byte(tc.raw))
		if ok != tc.plain {
			t.Errorf("%s: fast path %v, want %v", tc.raw, ok, tc.plain)
			continue
		}
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(tc.raw), &want); err != nil || got != want {
			t.Errorf("%s: fast path read %q, encoding/json %q (%v)", tc.raw, got, want, err)
		}
	}
}
