package gateway

import "testing"

// requestEntrySegment takes exactly the paths gorilla/mux's {room} ([^/]+) would.
func TestRequestEntrySegment(t *testing.T) {
	tests := []struct {
		path    string
		segment string
		ok      bool
	}{
		{"/api/v1.0/rooms/5f7c1a52-7e3b-4f0e-9a43-1d2b8c9e0f11/request-entry/", "5f7c1a52-7e3b-4f0e-9a43-1d2b8c9e0f11", true},
		{"/api/v1.0/rooms/my-room/request-entry/", "my-room", true},
		{"/api/v1.0/rooms/../request-entry/", "..", true}, // no path cleaning: mux takes it too
		{"/api/v1.0/rooms//request-entry/", "", false},
		{"/api/v1.0/rooms/a/b/request-entry/", "", false},
		{"/api/v1.0/rooms/my-room/request-entry", "", false}, // ServeHTTP adds the slash first
		{"/api/v1.0/rooms/my-room/enter/", "", false},
		{"/api/v1.0/rooms/request-entry/", "", false},
		{"/api/v1.0/room/my-room/request-entry/", "", false},
		{"/external-api/v1.0/rooms/my-room/request-entry/", "", false},
	}
	for _, tt := range tests {
		segment, ok := requestEntrySegment(tt.path)
		if segment != tt.segment || ok != tt.ok {
			t.Errorf("requestEntrySegment(%q) = %q, %v; want %q, %v", tt.path, segment, ok, tt.segment, tt.ok)
		}
	}
}
