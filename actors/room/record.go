package room

import (
	"cmp"
	"context"
	"crypto/rand"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// createRoom makes the room with the caller as owner. The gateway has validated the fields.
func (r *Room) createRoom(msg *messages.CreateRoom, ch *change) *messages.RoomReply {
	now := ch.now
	if r.record != nil || r.deleted {
		return failure(messages.ErrorCode_ERROR_CODE_CONFLICT, "A room with this id already exists.")
	}
	owner := msg.GetCaller().GetUser()
	if owner == nil {
		return denied(msg.GetCaller())
	}
	r.changing(ch)
	level := msg.GetAccessLevel()
	if level == messages.AccessLevel_ACCESS_LEVEL_UNSPECIFIED {
		level = messages.AccessLevel_ACCESS_LEVEL_PUBLIC
	}
	// The front end chooses the slug (its name slugified); the external API leaves it, and may
	// leave the name, to the room.
	slug := msg.GetSlug()
	ch.clientSlug = slug
	if slug == "" {
		slug = newSlug()
	}
	r.record = &messages.RoomRecord{
		Id:            r.id,
		Name:          cmp.Or(msg.GetName(), slug),
		Slug:          slug,
		AccessLevel:   level,
		Configuration: configurationOrEmpty(msg.GetConfiguration()),
		Accesses: []*messages.Access{{
			Id:   uuid.NewString(),
			User: owner,
			Role: messages.Role_ROLE_OWNER,
		}},
		CreatedUnixMs: now.UnixMilli(),
	}
	if r.deps.Config.TelephonyEnabled {
		r.record.PinCode = r.newPin()
	}
	if id := msg.GetCallbackId(); id != "" {
		ch.extra = append(ch.extra, IndexOp{Index: IndexCallback, Key: id, TTL: r.deps.Config.CallbackTTL, Exclusive: true})
	}
	return r.roomReply(msg.GetCaller(), msg.GetUsername(), "")
}

// getRoom is the room as this caller may see it (api.md GET rooms/{room}/).
func (r *Room) getRoom(msg *messages.GetRoom) *messages.RoomReply {
	return r.roomReply(msg.GetCaller(), msg.GetUsername(), msg.GetParticipantId())
}

func (r *Room) roomReply(caller *messages.Caller, username, participantID string) *messages.RoomReply {
	role := roleOf(r.record, caller)
	view := &messages.RoomView{
		Id:              r.record.GetId(),
		Name:            r.record.GetName(),
		Slug:            r.record.GetSlug(),
		AccessLevel:     r.record.GetAccessLevel(),
		Configuration:   r.record.GetConfiguration(),
		IsAdministrable: isPrivileged(role),
	}
	if isPrivileged(role) {
		view.Accesses = r.record.GetAccesses()
	}
	if canJoinDirectly(r.record.GetAccessLevel(), caller.GetUser() != nil, role) {
		view.PinCode = r.record.GetPinCode()
		identity := participantID
		if user := caller.GetUser(); user != nil {
			identity = user.GetSub()
		}
		if identity == "" {
			identity = uuid.NewString()
		}
		if participantID == "" {
			participantID = identity
		}
		access, err := r.liveKitAccess(joinRequest{
			identity:      identity,
			name:          r.displayName(caller, username),
			color:         participantColor(participantID),
			role:          role,
			authenticated: caller.GetUser() != nil,
		})
		if err != nil {
			r.logger().Error("livekit token not minted", "error", err)
			return failure(messages.ErrorCode_ERROR_CODE_UPSTREAM, "LiveKit token could not be issued.")
		}
		view.Livekit = access
	}
	return &messages.RoomReply{Body: &messages.RoomReply_Room{Room: view}}
}

// updateRoom changes name, access level and configuration (privileged callers). When what
// LiveKit clients see changed, the LiveKit room metadata follows.
func (r *Room) updateRoom(msg *messages.UpdateRoom, ch *change) *messages.RoomReply {
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return denied(msg.GetCaller())
	}
	r.changingRecord(ch)
	metadataBefore := r.metadata()
	if msg.Name != nil {
		r.record.Name = msg.GetName()
	}
	if level := msg.GetAccessLevel(); level != messages.AccessLevel_ACCESS_LEVEL_UNSPECIFIED {
		r.record.AccessLevel = level
	}
	if cfg := msg.GetConfiguration(); cfg != nil {
		r.record.Configuration = proto.CloneOf(cfg)
	}
	if metadata := r.metadata(); metadata != metadataBefore {
		ch.effects = append(ch.effects, r.updateMetadataEffect(metadata))
	}
	return r.roomReply(msg.GetCaller(), "", "")
}

// deleteRoom removes the room (owner only): record, lobby and indexes. A tombstone stays for a
// while so that a retried delete gets the same answer.
func (r *Room) deleteRoom(msg *messages.DeleteRoom, ch *change) *messages.RoomReply {
	if roleOf(r.record, msg.GetCaller()) != messages.Role_ROLE_OWNER {
		return denied(msg.GetCaller())
	}
	r.changing(ch)
	if id := r.sipRuleID; id != "" {
		ch.effects = append(ch.effects, func(c context.Context) {
			if err := r.deps.LiveKit.DeleteSIPDispatchRule(c, id); err != nil {
				r.logger().Warn("sip dispatch rule of a deleted room not deleted", "rule", id, "error", err)
			}
		})
	}
	r.record = nil
	r.deleted = true
	r.sipRuleID = ""
	r.lobby.clear()
	return ack("Room deleted.")
}

func configurationOrEmpty(c *messages.RoomConfiguration) *messages.RoomConfiguration {
	if c == nil {
		return &messages.RoomConfiguration{}
	}
	return proto.CloneOf(c)
}

// newSlug makes a slug shaped like abc-defg-hij from 10 random lowercase letters (26^10, about
// 1.4e14 values) for rooms created without one: collisions are rare, refused by the store's
// exclusive slug index, and drawn again.
func newSlug() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:3]) + "-" + string(b[3:7]) + "-" + string(b[7:])
}
