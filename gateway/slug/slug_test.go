package slug

import "testing"

// TestMake: the cases of Django's slugify, which the reference front end relies on (it names a
// new room after the address typed and then opens /<slug>).
func TestMake(t *testing.T) {
	tests := []struct{ name, want string }{
		{"abc-defg-hij", "abc-defg-hij"},
		{"ABC-defg-HIJ", "abc-defg-hij"},
		{"Hello World", "hello-world"},
		{"Un éléphant à l'orée du bois", "un-elephant-a-loree-du-bois"},
		{"Réunion d'équipe!", "reunion-dequipe"},
		{" Jack & Jill like numbers 1,2,3 and 4 and silly characters ?%.$!/", "jack-jill-like-numbers-123-and-4-and-silly-characters"},
		{"Straße", "strae"},         // ß has no decomposition: dropped
		{"ﬁnance", "finance"},       // compatibility ligature: NFKD spells it out
		{"foo ıç bar", "foo-c-bar"}, // dotless i has no ASCII form; ç folds to c
		{"你好", ""},                  // nothing ASCII left
		{"🎉 Party 🎉", "party"},      // emoji dropped, spaces around them trimmed
		{"a   b\t\nc", "a-b-c"},     // runs of whitespace
		{"a - b -- c", "a-b-c"},     // runs mixing spaces and dashes
		{"snake_case name", "snake_case-name"},
		{"a_-_b", "a_-_b"}, // underscores are kept inside
		{"--leading and trailing--", "leading-and-trailing"},
		{"__under__", "under"}, // '_' trimmed at the ends too
		{"-_-x-_-", "x"},
		{"x\x1fy", "x-y"}, // Python counts U+001F as whitespace
		{"!!!", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Make(tc.name); got != tc.want {
			t.Errorf("Make(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseUUID(t *testing.T) {
	const id = "0b7c1f5e-2d4a-4c8e-9f3b-6a1d2e3f4a5b"
	tests := []struct {
		in   string
		want bool
	}{
		{id, true},
		{"0b7c1f5e2d4a4c8e9f3b6a1d2e3f4a5b", true},        // no hyphens
		{"0B7C1F5E-2D4A-4C8E-9F3B-6A1D2E3F4A5B", true},    // upper case
		{"0b7c-1f5e-2d4a-4c8e-9f3b-6a1d-2e3f-4a5b", true}, // hyphens anywhere
		{"0b7c1f5e2-d4a-4c8e-9f3b-6a1d2e3f4a5b", true},    // as long as a canonical id, hyphens elsewhere
		{"{" + id + "}", true},
		{"urn:uuid:" + id, true},
		{"0b7c1f5e-2d4a-4c8e-9f3b-6a1d2e3f4a5", false},  // one digit short
		{"0b7c1f5e-2d4a-4c8e-9f3b-6a1d2e3f4a5g", false}, // not hex
		{"abc-defg-hij", false},
		{"", false},
	}
	for _, tc := range tests {
		got, ok := ParseUUID(tc.in)
		if ok != tc.want || (ok && got != id) {
			t.Errorf("ParseUUID(%q) = %q, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

// FuzzMake: any name slugifies without panicking to a slug of the allowed characters that is its
// own slug (a room found by its slug is found by the slugified slug too).
func FuzzMake(f *testing.F) {
	for _, s := range []string{"Café du matin", "  --ABC__def--  ", "ß\u00a0é\u200b🙂", "6F1C7A8E-2B1D-4C3E-9F0A-1B2C3D4E5F60", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := Make(name)
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("Make(%q) = %q holds %q", name, s, r)
			}
		}
		if again := Make(s); again != s {
			t.Fatalf("Make(%q) = %q, but Make(%q) = %q", name, s, s, again)
		}
		_, _ = ParseUUID(name)
	})
}
