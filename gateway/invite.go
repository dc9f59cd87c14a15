package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"meetcoord/gateway/invitations"
	"meetcoord/gateway/ratelimit"
)

// Inviter sends room invitations by email (gateway/invitations). Invite returns the addresses
// whose email could not be sent, or invitations.ErrQueueFull when none was accepted. Throttled
// counts emails the gateway refused under INVITATION_THROTTLE_RATES, beside the Inviter's own outcomes.
type Inviter interface {
	Invite(ctx context.Context, inv invitations.Invitation, to []string) (failed []string, err error)
	Throttled(n int)
}

// maxInvitees bounds one request: invitations are for a meeting's guests, not a mailing list.
const maxInvitees = 100

// invite: POST rooms/{room}/invite/ (api.md). The room is asked who the caller is to it (the
// room decides permissions); the emails are sent outside the room, by the Inviter's workers,
// and the request waits for their results (bounded by EMAIL_TIMEOUT) so that it can say which
// addresses failed.
func (g *Gateway) invite(w http.ResponseWriter, r *http.Request) {
	u, ok := g.user(w, r)
	if !ok {
		return
	}
	if g.cfg.Inviter == nil {
		writeError(w, http.StatusServiceUnavailable, "Invitations are not configured.")
		return
	}
	roomID, ok := g.roomID(w, r)
	if !ok {
		return
	}
	room, ok := g.administeredRoom(w, r, u, roomID)
	if !ok {
		return
	}
	fields, ok := decodeObject(w, r)
	if !ok {
		return
	}
	errs := fieldErrors{}
	emails := emailsField(fields, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	// Charged per address, after validation and the permission check (an invalid or forbidden
	// request costs nothing): what the limit protects is our SMTP account, so a hundred
	// addresses in one request count as a hundred.
	spent, ok := g.spend(w, r, g.inviteLimit, g.clientKey(r, u, ""), len(emails))
	if !ok {
		return
	}
	if !spent.Allowed {
		g.refuseInvitations(w, u, roomID, len(emails), spent)
		return
	}

	sender := u.FullName
	if strings.TrimSpace(sender) == "" {
		sender = u.Email
	}
	failed, err := g.cfg.Inviter.Invite(r.Context(), invitations.Invitation{
		Room: room.GetName(), Slug: room.GetSlug(), Sender: sender, Language: u.Language,
	}, emails)
	switch {
	case errors.Is(err, invitations.ErrQueueFull), errors.Is(err, invitations.ErrClosed):
		g.log.Warn("invitations refused", "room", roomID, "count", len(emails), "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "Too many invitations are being sent, try again later.")
	case errors.Is(err, context.Canceled):
		// The client left; the accepted emails are still being sent.
	case err != nil:
		g.log.Error("invitations failed", "room", roomID, "error", err)
		writeError(w, http.StatusInternalServerError, "The invitations could not be prepared.")
	case len(failed) == len(emails):
		writeJSON(w, http.StatusBadGateway, map[string]any{
			"detail": "The invitations could not be sent, try again later.", "failed": failed,
		})
	case len(failed) > 0:
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "partial", "message": "some invitations could not be sent", "failed": failed,
		})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "success", "message": "invitations sent"})
	}
}

// refuseInvitations answers a request over the caller's INVITATION_THROTTLE_RATES: 429, nothing sent.
func (g *Gateway) refuseInvitations(w http.ResponseWriter, u *userRecord, roomID string, count int, d ratelimit.Decision) {
	limit := g.cfg.InvitationsRate
	g.cfg.Inviter.Throttled(count)
	g.log.Warn("invitations throttled", "user", u.ID, "room", roomID, "count", count, "rate", limit.String())
	if d.RetryAfter == 0 {
		// No wait would let this request through: say so rather than suggest a retry.
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"Too many addresses for the invitations limit (%s per user).", limit))
		return
	}
	writeThrottled(w, d, fmt.Sprintf("Too many invitations sent (limit %s per user): try again in %d seconds.",
		limit, retryAfterSeconds(d)))
}

// emailsField reads "emails": a non-empty list of valid addresses, duplicates (ignoring case)
// collapsed to their first spelling, in order.
func emailsField(fields map[string]jsonRaw, errs fieldErrors) []string {
	raw, present := fields["emails"]
	if !present || string(raw) == "null" {
		errs.add("emails", "This field is required.")
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		errs.add("emails", "Expected a list of items.")
		return nil
	}
	if len(list) == 0 {
		errs.add("emails", "This list may not be empty.")
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, item := range list {
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			errs.add("emails", "Not a valid string: "+string(item)+".")
			continue
		}
		addr, ok := validEmail(s)
		if !ok {
			errs.add("emails", "Enter a valid email address: \""+s+"\".")
			continue
		}
		if key := strings.ToLower(addr); !seen[key] {
			seen[key] = true
			out = append(out, addr)
		}
	}
	if len(out) > maxInvitees {
		errs.add("emails", "Ensure this list has no more than "+strconv.Itoa(maxInvitees)+" distinct addresses.")
	}
	return out
}

// validEmail accepts a bare address (no display name, no comments) whose domain has a dot.
func validEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	return s, true
}
