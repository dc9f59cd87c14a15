package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// jsonRaw is a field of a decoded request body, kept raw until validated.
type jsonRaw = json.RawMessage

// maxBodyBytes bounds request bodies: API bodies are small, webhooks a few kilobytes.
const maxBodyBytes = 1 << 20

// apiBodyPrealloc is how much of an API body's declared length is allocated before its bytes
// arrive (readBody): every body the front end sends fits, and a caller who declares more and
// sends nothing costs the node no more than this.
const apiBodyPrealloc = 16 << 10

// decodeObject reads a JSON object body into its raw fields, so that validation can tell a
// missing field from a null one and report unknown keys where the API forbids them.
//
// encoding/json decides what a body is: a document it refuses gets its error, one it accepts is
// split with fastjson, which reads the few fields of a request body without reflection (a lobby
// poll's body was a twentieth of the node's CPU). Each field is written back as fastjson read
// it: strings and numbers byte for byte, nested values without their whitespace.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	body, err := readBody(w, r, apiBodyPrealloc) // a front end's body in one allocation of its declared length
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if json.Valid(body) && bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		// Escapes and invalid UTF-8 are left to encoding/json, whose reading of them (a lone
		// surrogate, a byte it replaces) the fields' names must follow.
		if fields, ok := splitObject(body); ok {
			return fields, nil
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, jsonParseError(err)
	}
	if fields == nil {
		return nil, errNotAnObject
	}
	return fields, nil
}

// bodyReadError answers a body that could not be read: too large, or shorter than declared
// (the caller hung up, or sent less than its Content-Length).
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	return errBodyUnreadable.because(err)
}

// readBody reads a request body whole, up to maxBodyBytes. A body declared larger is refused
// before any of it is read.
//
// Its buffer is made at once for the declared length up to prealloc bytes, and grows past that
// only as bytes arrive: a caller who declares a megabyte and sends nothing must not make the node
// hold a megabyte. An anonymous caller (a lobby poll, a fresh cookie each time) gets a few
// kilobytes of that trust; a webhook, whose token is checked first, gets its whole declared length.
//
// r.Body itself is left as it is: net/http, once the handler returns, looks at the request it
// made to decide what to do with a body the handler did not read. Its own body type, with more
// than 256 KiB unread, means "close the connection"; any other reader is drained first, which
// waits for a declared body that never comes (TestWebhookTokenCheckedBeforeTheBody). The hot
// routes are served on that very request (hotroutes.go), where the router served a copy.
func readBody(w http.ResponseWriter, r *http.Request, prealloc int64) ([]byte, error) {
	declared := r.ContentLength
	if declared > maxBodyBytes {
		// Nothing read, so nothing to drain: the connection is closed after the answer rather
		// than kept for a body that is refused anyway.
		w.Header().Set("Connection", "close")
		return nil, &http.MaxBytesError{Limit: maxBodyBytes}
	}
	limited := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if declared > 0 && declared <= prealloc {
		body := make([]byte, declared)
		if _, err := io.ReadFull(limited, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(declared, 0), prealloc)))
	if _, err := buf.ReadFrom(limited); err != nil {
		return nil, err
	}
	if declared > 0 && int64(buf.Len()) != declared {
		// net/http's own body says so itself; any other reader is held to the same rule.
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

// bodyParsers parse request bodies (decodeObject).
var bodyParsers fastjson.ParserPool

// splitObject reads a valid JSON document that is an object into its fields; false for any
// other document (null, an array, ...) or one fastjson does not read (nesting deeper than its
// limit), which encoding/json then answers.
func splitObject(body []byte) (map[string]json.RawMessage, bool) {
	p := bodyParsers.Get()
	defer bodyParsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, false
	}
	o, err := v.Object()
	if err != nil {
		return nil, false
	}
	fields := make(map[string]json.RawMessage, o.Len())
	values := make([]byte, 0, len(body)) // all the fields' values, each a slice of it
	o.Visit(func(key []byte, v *fastjson.Value) {
		start := len(values)
		values = v.MarshalTo(values)
		fields[string(key)] = values[start:len(values):len(values)]
	})
	return fields, true
}

// stringField reads an optional string field; present=false when absent or null.
func stringField(fields map[string]json.RawMessage, name string, errs fieldErrors) (value string, present bool) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", false
	}
	if s, ok := plainString(raw); ok {
		return s, true
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		errs.add(name, fieldNotString)
		return "", false
	}
	return value, true
}

// plainString reads a JSON string without escapes, as most are (a name, an id), without
// encoding/json's reflection. raw is a value decodeObject took from a valid document, so its
// quotes are its ends and it holds no control characters; anything else (escapes, invalid
// UTF-8, which encoding/json replaces) is left to encoding/json.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// boolField reads an optional boolean field.
func boolField(fields map[string]json.RawMessage, name string, errs fieldErrors) (value bool, present bool) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return false, false
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		errs.add(name, "Must be a valid boolean.")
		return false, false
	}
	return value, true
}
