package marketing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// BrevoURL is Brevo's API base URL.
const BrevoURL = "https://api.brevo.com/v3"

// Brevo adds contacts through Brevo's API (POST /contacts).
type Brevo struct {
	baseURL    string
	apiKey     string
	listIDs    []int
	attributes map[string]any
	client     *http.Client
}

var _ Service = (*Brevo)(nil)

// BrevoConfig is the account and what each contact gets.
type BrevoConfig struct {
	BaseURL    string         // empty: BrevoURL
	APIKey     string         // BREVO_API_KEY
	ListIDs    []int          // BREVO_API_CONTACT_LIST_IDS
	Attributes map[string]any // BREVO_API_CONTACT_ATTRIBUTES, sent with every contact
	// Client makes the calls; nil: a plain client (the deadline comes from the context).
	Client *http.Client
}

// NewBrevo returns the Brevo implementation of Service.
func NewBrevo(cfg BrevoConfig) *Brevo {
	if cfg.BaseURL == "" {
		cfg.BaseURL = BrevoURL
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	return &Brevo{baseURL: strings.TrimRight(cfg.BaseURL, "/"), apiKey: cfg.APIKey, listIDs: cfg.ListIDs,
		attributes: cfg.Attributes, client: cfg.Client}
}

// AddContact creates the contact, or updates it when Brevo already knows the email
// (updateEnabled): a user who once unsubscribed elsewhere is not an error.
func (b *Brevo) AddContact(ctx context.Context, c Contact) error {
	body := map[string]any{
		"email":         c.Email,
		"updateEnabled": true,
		"listIds":       append([]int{}, b.listIDs...),
		"attributes":    b.attributes,
	}
	if b.attributes == nil {
		body["attributes"] = map[string]any{}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("brevo: encode contact: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.baseURL+"/contacts", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("brevo: %w", err)
	}
	req.Header.Set("api-key", b.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("brevo: add contact: %w", err)
	}
	defer res.Body.Close()
	// 201: created; 204: updated.
	if res.StatusCode/100 != 2 {
		detail, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("brevo: add contact: status %d: %s", res.StatusCode, bytes.TrimSpace(detail))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}
