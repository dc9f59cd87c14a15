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
