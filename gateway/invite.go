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
func (g *Gateway) invite(w http.ResponseWriter, r *http.Request) error {
	u, err := g.user(r)
	if err != nil {
		return err
	}
	if g.cfg.Inviter == nil {
		return errInvitationsOff
	}
	roomID, err := g.roomID(r)
	if err != nil {
		return err
	}
	room, err := g.administeredRoom(r, u, roomID)
	if err != nil {
		return err
	}
	fields, err := decodeObject(w, r)
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	emails := emailsField(fields, errs)
	if len(errs) > 0 {
		return errs.invalid()
	}
	// Charged per address, after validation and the permission check (an invalid or forbidden
	// request costs nothing): what the limit protects is our SMTP account, so a hundred
	// addresses in one request count as a hundred.
	spent, err := g.spend(r, g.inviteLimit, g.clientKey(r, u, ""), len(emails))
	if err != nil {
		return err
	}
	if !spent.Allowed {
		return g.refuseInvitations(u, roomID, len(emails), spent)
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
		return errInvitationsBusy.because(fmt.Errorf("invitations of room %s refused (%d addresses): %w", roomID, len(emails), err))
	case errors.Is(err, context.Canceled):
		// The client left; the accepted emails are still being sent.
	case err != nil:
		return errInvitationsFailed.because(fmt.Errorf("invitations of room %s: %w", roomID, err))
	case len(failed) == len(emails):
		return errInvitationsUnsent.with("failed", failed)
	case len(failed) > 0:
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "partial", "message": "some invitations could not be sent", "failed": failed,
		})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "success", "message": "invitations sent"})
	}
	return nil
}

// refuseInvitations answers a request over the caller's INVITATION_THROTTLE_RATES: 429, nothing sent.
func (g *Gateway) refuseInvitations(u *userRecord, roomID string, count int, d ratelimit.Decision) error {
	limit := g.cfg.InvitationsRate
	g.cfg.Inviter.Throttled(count)
	g.log.Warn("invitations throttled", "user", u.ID, "room", roomID, "count", count, "rate", limit.String())
	if d.RetryAfter == 0 {
		// No wait would let this request through: say so rather than suggest a retry.
		return invitationsOverLimit(limit)
	}
	return invitationsThrottled(limit, d)
}

// emailsField reads "emails": a non-empty list of valid addresses, duplicates (ignoring case)
// collapsed to their first spelling, in order.
func emailsField(fields map[string]jsonRaw, errs fieldErrors) []string {
	raw, present := fields["emails"]
	if !present || string(raw) == "null" {
		errs.add("emails", fieldRequired)
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
