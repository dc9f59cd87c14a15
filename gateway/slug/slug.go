// Package slug makes room slugs from names the way the reference product does (Django's
// slugify), and recognises names that are room ids, so that a slug never reads as an id.
package slug

import (
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// MaxLength is the longest slug a room may have (the reference product's column width).
const MaxLength = 100

// Make is name's slug: compatibility-decomposed (NFKD) with every non-ASCII rune dropped, so
// that accents fold away and other scripts vanish; then lower case, only ASCII letters, digits,
// '_', '-' and whitespace kept; runs of whitespace and '-' made one '-'; leading and trailing
// '-' and '_' trimmed. "Réunion d'équipe!" is "reunion-dequipe".
func Make(name string) string {
	var kept strings.Builder
	for _, r := range norm.NFKD.String(name) {
		switch {
		case r >= utf8.RuneSelf:
			// Non-ASCII: accents split off by NFKD, and letters with no ASCII form.
		case 'A' <= r && r <= 'Z':
			kept.WriteRune(r + ('a' - 'A'))
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '_', r == '-', isSpace(r):
			kept.WriteRune(r)
		}
	}
	var out strings.Builder
	separator := false // inside a run of whitespace and '-'
	for _, r := range kept.String() {
		if r == '-' || isSpace(r) {
			separator = true
			continue
		}
		if separator {
			out.WriteByte('-')
			separator = false
		}
		out.WriteRune(r)
	}
	if separator {
		out.WriteByte('-')
	}
	return strings.Trim(out.String(), "-_")
}

// isCanonicalUUID: s is a UUID written as uuid.UUID.String writes one (lowercase hex, hyphens
// at 8, 13, 18 and 23).
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// isSpace: the ASCII runes Python's regular expressions count as whitespace (\s), which
// include the four information separators U+001C to U+001F.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	}
	return false
}

// ParseUUID reads s as a room id in any of the forms the reference product accepts (Python's
// uuid.UUID: hyphens anywhere or none, braces, a urn:uuid: prefix, any case) and returns its
// canonical form. A slug for which it succeeds is reserved: it would read as an id.
func ParseUUID(s string) (string, bool) {
	if isCanonicalUUID(s) {
		return s, true // the form ids are given out in, on every request to a room: no copy
	}
	s = strings.ReplaceAll(s, "urn:", "")
	s = strings.ReplaceAll(s, "uuid:", "")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return "", false
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return id.String(), true
}
