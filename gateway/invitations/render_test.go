package invitations

import (
	"strings"
	"testing"
)

func TestLanguageChoice(t *testing.T) {
	tests := []struct{ tag, want string }{
		{"fr", "fr"}, {"fr-FR", "fr"}, {"FR_ca", "fr"}, {"en", "en"}, {"en-GB", "en"},
		{"", "en"}, {"de", "en"}, {"zz-unknown", "en"},
	}
	for _, tt := range tests {
		if got := language(tt.tag); got != tt.want {
			t.Errorf("language(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
}

// Names come from tokens and room settings: the HTML body escapes them, the subject stays on
// one line.
func TestRenderEscapesNames(t *testing.T) {
	inv := Invitation{Room: `<script>alert("x")</script>`, Sender: "Eve\r\nBcc: victim@example.org", Language: "en"}
	e, err := render(inv, "https://meet.example.org/abc-defg-hij", "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "&lt;script&gt;") {
		t.Errorf("room name not escaped in HTML:\n%s", e.HTML)
	}
	if strings.ContainsAny(e.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", e.Subject)
	}
	if !strings.Contains(e.Text, `<script>alert("x")</script>`) {
		t.Errorf("text body should carry the name as is:\n%s", e.Text)
	}
	if !strings.Contains(e.HTML, `href="https://meet.example.org/abc-defg-hij"`) {
		t.Errorf("link missing from HTML:\n%s", e.HTML)
	}
}
