package marketing_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"meetcoord/gateway/marketing"
)

// brevoStandIn is a local HTTP server standing in for Brevo's API.
type brevoStandIn struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seenRequest
	answer   func(w http.ResponseWriter, r *http.Request)
}

type seenRequest struct {
	method, path, apiKey, contentType string
	body                              map[string]any
}

func startBrevo(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *brevoStandIn {
	b := &brevoStandIn{answer: answer}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		b.mu.Lock()
		b.requests = append(b.requests, seenRequest{r.Method, r.URL.Path, r.Header.Get("api-key"), r.Header.Get("Content-Type"), body})
		b.mu.Unlock()
		b.answer(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *brevoStandIn) seen() []seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]seenRequest(nil), b.requests...)
}

func created(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":42}`))
}

func TestBrevoRequestShape(t *testing.T) {
	b := startBrevo(t, created)
	brevo := marketing.NewBrevo(marketing.BrevoConfig{
		BaseURL: b.URL + "/v3", APIKey: "xkeysib-test", ListIDs: []int{3, 7},
		Attributes: map[string]any{"VISIO_USER": true, "SOURCE": "meet"},
	})
	if err := brevo.AddContact(t.Context(), marketing.Contact{Email: "ada@example.org", FullName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	seen := b.seen()
	if len(seen) != 1 {
		t.Fatalf("%d requests, want 1", len(seen))
	}
	r := seen[0]
	if r.method != http.MethodPost || r.path != "/v3/contacts" || r.apiKey != "xkeysib-test" || r.contentType != "application/json" {
		t.Errorf("request = %s %s api-key %q content-type %q", r.method, r.path, r.apiKey, r.contentType)
	}
	want := map[string]any{
		"email": "ada@example.org", "updateEnabled": true, "listIds": []any{3.0, 7.0},
		"attributes": map[string]any{"VISIO_USER": true, "SOURCE": "meet"},
	}
	if got, _ := json.Marshal(r.body); string(got) != string(mustJSON(want)) {
		t.Errorf("body = %s, want %s", got, mustJSON(want))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestBrevoErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		ok     bool
	}{
		{"created", created, true},
		{"updated", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, true},
		{"bad request", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"code":"invalid_parameter","message":"email is not valid"}`, http.StatusBadRequest)
		}, false},
		{"unauthorized", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, false},
		{"server error", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, false},
	}
	for _, tt := range tests {
		b := startBrevo(t, tt.answer)
		err := marketing.NewBrevo(marketing.BrevoConfig{BaseURL: b.URL, APIKey: "k"}).AddContact(t.Context(), marketing.Contact{Email: "a@b.c"})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	// Nothing listening.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if err := marketing.NewBrevo(marketing.BrevoConfig{BaseURL: dead.URL}).AddContact(t.Context(), marketing.Contact{Email: "a@b.c"}); err == nil {
		t.Error("unreachable Brevo: no error")
	}
}

// hanging is a service that answers only when its context ends.
type hanging struct{ calls chan struct{} }

func (h hanging) AddContact(ctx context.Context, _ marketing.Contact) error {
	h.calls <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

type failing struct{}

func (failing) AddContact(context.Context, marketing.Contact) error {
	return errors.New("quota exceeded")
}

func TestSignupsNeverWaitAndCountFailures(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := hanging{calls: make(chan struct{}, 1)}
	s := marketing.NewSignups(h, 200*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	// SignedUp returns while the provider is still hanging on the call it started.
	s.SignedUp(marketing.Contact{Email: "ada@example.org"})
	<-h.calls
	s.Wait() // returns once the timeout ended the call
	if got := testutil.ToFloat64(counter(t, reg, "timeout")); got != 1 {
		t.Errorf("timeout count = %v, want 1", got)
	}
	// No email, nothing to send.
	s.SignedUp(marketing.Contact{})
	s.Wait()

	reg2 := prometheus.NewRegistry()
	f := marketing.NewSignups(failing{}, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), reg2)
	f.SignedUp(marketing.Contact{Email: "ada@example.org"})
	f.Wait()
	if got := testutil.ToFloat64(counter(t, reg2, "failed")); got != 1 {
		t.Errorf("failed count = %v, want 1", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, outcome string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "meetcoord_marketing_contacts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no meetcoord_marketing_contacts_total{outcome=%q}", outcome)
	return nil
}
