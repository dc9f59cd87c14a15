package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
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

// TestDecodeObjectAgreesWithEncodingJSON: the fields decodeObject gives hold what encoding/json
// reads from the same body, whichever path read it; a body encoding/json refuses gets its error.
func TestDecodeObjectAgreesWithEncodingJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 400) + `1` + strings.Repeat(`}`, 400)
	for _, body := range []string{
		`{"username":"guest"}`,
		` { "username" : "guest" , "n" : 12.50e3 , "b" : true , "z" : null } `,
		`{"configuration":{"can_publish_sources": ["camera", "microphone"], "x": {"y": [1, 2, {}]}}}`,
		`{"a":"first","a":"second"}`,
		`{"name":"Zoë Ünal 李"}`,
		`{"name":"a\"b","k\u00e9y":"\u00e9"}`,
		"{\"name\":\"bad \xff utf8\"}",
		"{\"k\xffey\":1}",
		`{"n":123456789012345678901234567890}`,
		`{}`,
		`{"outer":` + deep + `}`,
	} {
		want := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%.40s: %v", body, err)
		}
		got, err := decodeObject(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if err != nil {
			t.Errorf("%.40s: %v", body, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%.40s: fields %v, want %v", body, keys(got), keys(want))
		}
		for k, raw := range want {
			var a, b any
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got[k], &b); err != nil {
				t.Errorf("%.40s: field %q = %s: %v", body, k, got[k], err)
				continue
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%.40s: field %q = %s, want %s", body, k, got[k], raw)
			}
		}
	}
	for _, body := range []string{`null`, `[1]`, `"text"`, `{"a":NaN}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":1}}`} {
		var fields map[string]json.RawMessage
		wantErr := json.Unmarshal([]byte(body), &fields)
		_, err := decodeObject(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		switch {
		case wantErr == nil && fields == nil: // null
			if !errors.Is(err, errNotAnObject) {
				t.Errorf("%s: %v, want %v", body, err, errNotAnObject)
			}
		case err == nil || err.Error() != jsonParseError(wantErr).Error():
			t.Errorf("%s: %v, want %v", body, err, jsonParseError(wantErr))
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReadBody: a body is read whole whatever its declared length, a body shorter than declared
// or longer than the bound is refused, and one declared larger than it is refused unread.
func TestReadBody(t *testing.T) {
	const prealloc = 64
	big := strings.Repeat("x", maxBodyBytes)
	for _, tc := range []struct {
		name     string
		body     string
		declared int64 // -1: unknown (chunked)
		want     error // nil, errBodyTooLarge, or errBodyUnreadable
	}{
		{"empty", "", 0, nil},
		{"within the preallocation", `{"username":"guest"}`, 20, nil},
		{"past the preallocation", strings.Repeat("y", 3*prealloc+5), 3*prealloc + 5, nil},
		{"undeclared length", strings.Repeat("z", 3*prealloc), -1, nil},
		{"the bound itself", big, maxBodyBytes, nil},
		{"shorter than declared, within the preallocation", "abc", 10, errBodyUnreadable},
		{"shorter than declared, past it", "abc", 10 * prealloc, errBodyUnreadable},
		{"declared past the bound", "abc", maxBodyBytes + 1, errBodyTooLarge},
		{"undeclared past the bound", big + "!", -1, errBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.ContentLength = tc.declared
			w := httptest.NewRecorder()
			got, err := readBody(w, r, prealloc)
			if tc.want == nil {
				if err != nil || string(got) != tc.body {
					t.Fatalf("read %d bytes, %v; want the %d bytes sent", len(got), err, len(tc.body))
				}
				return
			}
			if apiErr := bodyReadError(err); err == nil || apiErr.(*apiError).status != tc.want.(*apiError).status {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.want == errBodyTooLarge && tc.declared > maxBodyBytes && w.Header().Get("Connection") != "close" {
				t.Errorf("a body refused unread leaves the connection open")
			}
		})
	}
}

// TestReadBodyHoldsWhatArrives: a caller who declares a megabyte and sends a few bytes makes
// the node allocate the preallocation, not the megabyte.
func TestReadBodyHoldsWhatArrives(t *testing.T) {
	const calls = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range calls {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.ContentLength = maxBodyBytes
		if _, err := readBody(httptest.NewRecorder(), r, apiBodyPrealloc); err == nil {
			t.Fatal("a body shorter than declared was accepted")
		}
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / calls
	if perCall > 2*apiBodyPrealloc {
		t.Errorf("%d bytes allocated per body declared at %d and never sent, want at most %d",
			perCall, maxBodyBytes, 2*apiBodyPrealloc)
	}
}
