package invitations

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"unicode"
)

// Each language has a text template (defining "subject" and "body") and an HTML template. The
// HTML one goes through html/template, so that a room or sender name cannot inject markup and
// the link's scheme is checked.
//
//go:embed templates/*.tmpl
var templateFiles embed.FS

// defaultLanguage is used when the inviting user's language is unknown or not translated.
const defaultLanguage = "en"

// languages are the translations shipped in templates/.
var languages = []string{"en", "fr"}

type languageTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// translations are parsed once: a template error is a build mistake, caught by any test.
var translations = func() map[string]languageTemplates {
	out := map[string]languageTemplates{}
	for _, lang := range languages {
		out[lang] = languageTemplates{
			text: texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/"+lang+".txt.tmpl")),
			html: htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/"+lang+".html.tmpl")),
		}
	}
	return out
}()

// Invitation is what one invitation says, whoever receives it.
type Invitation struct {
	Room     string // room name
	Slug     string // room slug, the last segment of the link
	Sender   string // the inviting user's full name, else their email
	Language string // the inviting user's language ("fr", "fr-FR", "en_GB", ...); empty: unknown
}

// Email is one rendered message for one recipient.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

type templateData struct {
	Room, Sender, Link string
}

// language picks the translation for a user's language: its primary subtag when translated,
// else English.
func language(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	if _, ok := translations[primary]; ok {
		return primary
	}
	return defaultLanguage
}

// render writes the invitation to one recipient.
func render(inv Invitation, link, to string) (Email, error) {
	t := translations[language(inv.Language)]
	data := templateData{Room: oneLine(inv.Room), Sender: oneLine(inv.Sender), Link: link}
	var subject, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Email{}, fmt.Errorf("render subject: %w", err)
	}
	if err := t.text.ExecuteTemplate(&text, "body", data); err != nil {
		return Email{}, fmt.Errorf("render text body: %w", err)
	}
	if err := t.html.Execute(&html, data); err != nil {
		return Email{}, fmt.Errorf("render HTML body: %w", err)
	}
	return Email{To: to, Subject: subject.String(), Text: text.String(), HTML: html.String()}, nil
}

// oneLine replaces control characters (line breaks above all) by spaces: names come from
// identity tokens and room settings, and a subject line must stay one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
