package room

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"math/big"
	"sort"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/livekit/protocol/livekit"

	"meetcoord/messages"
)

// Telephony (rooms.md): a room with telephony has a PIN, and a SIP dispatch rule SIP_<room id>
// exists only while at least one WebRTC participant is in the LiveKit room, so that a dial-in
// caller can never reach an empty room. The actor knows who is in the room from webhooks (and
// from LiveKit itself when it reconciles), and holds at most one rule: creation and deletion are
// never run twice at once, however many joins arrive together.

// presence is who is in the LiveKit room, by identity, as of the newest event about each.
type presence map[string]*messages.Presence

// occupied: a WebRTC participant is in the room.
func (p presence) occupied() bool {
	for _, e := range p {
		if e.GetPresent() && !e.GetSip() {
			return true
		}
	}
	return false
}

func (p presence) snapshot() []*messages.Presence {
	out := make([]*messages.Presence, 0, len(p))
	for _, e := range p {
		if e.GetPresent() {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetIdentity() < out[j].GetIdentity() })
	return out
}

// set records e, making the map on first use (a room nobody joined holds none).
func (p presence) set(e *messages.Presence) presence {
	if p == nil {
		p = presence{}
	}
	p[e.GetIdentity()] = e
	return p
}

func restorePresence(list []*messages.Presence) presence {
	if len(list) == 0 {
		return nil
	}
	p := make(presence, len(list))
	for _, e := range list {
		p[e.GetIdentity()] = e
	}
	return p
}

// sipRuleName is the name of the room's dispatch rule on LiveKit.
func (r *Room) sipRuleName() string { return "SIP_" + r.id }

// newPin draws a numeric PIN of the configured length.
func (r *Room) newPin() string {
	digits := make([]byte, r.deps.Config.PinLength)
	for i := range digits {
		n, _ := rand.Int(rand.Reader, big.NewInt(10))
		digits[i] = byte('0' + n.Int64())
	}
	return string(digits)
}

// participantEvent applies a participant_joined / participant_left webhook.
func (r *Room) participantEvent(event *livekit.WebhookEvent, present bool, at int64, ch *change) {
	p := event.GetParticipant()
	id, sip := p.GetIdentity(), p.GetKind() == livekit.ParticipantInfo_SIP
	if id == "" {
		return
	}
	if !r.live && at < r.liveUpdatedAt {
		return // from a LiveKit session that has finished since (a late delivery)
	}
	cur, known := r.presence[id]
	if known && (at < cur.GetAtUnixMs() || (cur.GetPresent() == present && cur.GetSip() == sip)) {
		return
	}
	if !known && !present {
		return
	}
	r.changingPresence(ch)
	r.presence = r.presence.set(&messages.Presence{Identity: id, Sip: sip, Present: present, AtUnixMs: at})
}

// reconcileSIP moves the dispatch rule towards what the room needs: one rule while a WebRTC
// participant is in the room, none otherwise. One operation at a time; when it ends, the room
// checks again (participants may have come or gone meanwhile).
func (r *Room) reconcileSIP(ctx actor.Context) {
	if !r.deps.Config.TelephonyEnabled || r.sipBusy || !r.loaded {
		return
	}
	want := r.record != nil && r.record.GetPinCode() != "" && r.presence.occupied()
	switch {
	case want && r.sipRuleID == "":
		r.sipBusy = true
		name, room, pin := r.sipRuleName(), r.id, r.record.GetPinCode()
		var created string
		r.runLiveKit(ctx, func(c context.Context) error {
			// A rule of this name left behind (a crash between creating it and storing its id)
			// would let two rules route callers: remove it first.
			stale, err := r.deps.LiveKit.SIPDispatchRuleIDs(c, name)
			if err != nil {
				return err
			}
			for _, id := range stale {
				if err := r.deps.LiveKit.DeleteSIPDispatchRule(c, id); err != nil {
					return err
				}
			}
			created, err = r.deps.LiveKit.CreateSIPDispatchRule(c, name, room, pin)
			return err
		}, func(err error) {
			r.sipBusy = false
			if err != nil {
				r.logger().Warn("sip dispatch rule not created; retrying at the next reconciliation", slog.Any("error", err))
				r.scheduleReconcile(ctx)
				return
			}
			r.setSIPRule(ctx, created)
			r.reconcileSIP(ctx)
		})
	case !want && r.sipRuleID != "":
		r.sipBusy = true
		id := r.sipRuleID
		r.runLiveKit(ctx, func(c context.Context) error {
			return r.deps.LiveKit.DeleteSIPDispatchRule(c, id)
		}, func(err error) {
			r.sipBusy = false
			if err != nil {
				r.logger().Warn("sip dispatch rule not deleted; retrying at the next reconciliation", slog.Any("error", err))
				r.scheduleReconcile(ctx)
				return
			}
			r.setSIPRule(ctx, "")
			r.reconcileSIP(ctx)
		})
	}
}

// setSIPRule stores the rule the room now holds.
func (r *Room) setSIPRule(ctx actor.Context, id string) {
	reply := r.apply(ctx, "", func(ch *change) *messages.RoomReply {
		r.changing(ch)
		r.sipRuleID = id
		return nil
	})
	if reply.GetFailure() != nil {
		// Not stored: the rule (if created) is found by name and replaced next time.
		r.logger().Warn("sip dispatch rule id not stored", slog.String("detail", reply.GetFailure().GetDetail()))
	}
}

// presenceMatters: who is in the room decides something, the dispatch rule of a room with
// telephony. Elsewhere presence is only kept.
func (r *Room) presenceMatters() bool {
	return r.deps.Config.TelephonyEnabled && r.record.GetPinCode() != ""
}

// presenceToCheck: who is in the room matters and may be behind what LiveKit knows. Not yet
// checked since the activation, or the LiveKit room is live: a participant event acknowledged
// by an activation that a newer one had replaced without its knowing is lost with it, and a
// live room's next reconciliation finds what it missed.
func (r *Room) presenceToCheck() bool {
	return (r.presenceUnchecked || r.live) && r.presenceMatters()
}

// reconcilePresence asks LiveKit who is really in the room, correcting webhooks that were lost
// (a participant who vanished without participant_left), then fixes the dispatch rule.
func (r *Room) reconcilePresence(ctx actor.Context) {
	var participants []Participant
	r.runLiveKit(ctx, func(c context.Context) error {
		var err error
		participants, err = r.deps.LiveKit.ListParticipants(c, r.id)
		if errors.Is(err, ErrLiveKitNotFound) {
			return nil // the LiveKit room is gone: nobody is in it
		}
		return err
	}, func(err error) {
		if err != nil {
			r.logger().Warn("reconciliation of participants with livekit failed", slog.Any("error", err))
			return
		}
		now := r.deps.Clock.Now()
		at := now.UnixMilli()
		seen := presence{}
		for _, p := range participants {
			seen[p.Identity] = &messages.Presence{Identity: p.Identity, Sip: p.SIP, Present: true, AtUnixMs: at}
		}
		reply := r.apply(ctx, "", func(ch *change) *messages.RoomReply {
			for id, e := range r.presence {
				if _, there := seen[id]; !there && e.GetPresent() {
					r.changing(ch)
					r.presence[id] = &messages.Presence{Identity: id, Sip: e.GetSip(), Present: false, AtUnixMs: at}
				}
			}
			for id, e := range seen {
				if cur, ok := r.presence[id]; !ok || !cur.GetPresent() {
					r.changing(ch)
					r.presence = r.presence.set(e)
				}
			}
			return nil
		})
		if reply.GetFailure() == nil {
			r.presenceUnchecked = false // else undone: asked again at the next reconciliation
		}
		r.reconcileSIP(ctx)
	})
}
