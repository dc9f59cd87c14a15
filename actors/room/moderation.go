package room

import (
	"context"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/livekit/protocol/livekit"

	"meetcoord/messages"
)

// isParticipantOfThisRoom: the caller holds a LiveKit token for this room.
func (r *Room) isParticipantOfThisRoom(caller *messages.Caller) bool {
	p := caller.GetLivekitParticipant()
	return p != nil && p.GetRoom() == r.id
}

// muteParticipant: privileged users, or participants of this room unless the room keeps muting
// to them (canMute).
func (r *Room) muteParticipant(ctx actor.Context, msg *messages.MuteParticipant, ch *change) *messages.RoomReply {
	caller := msg.GetCaller()
	if !canMute(roleOf(r.record, caller), r.isParticipantOfThisRoom(caller), r.record.GetConfiguration()) {
		return moderationDenied(caller)
	}
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.MutePublishedTrack(c, r.id, msg.GetParticipantIdentity(), msg.GetTrackSid())
	}, r.onSuccess(func(*change) *messages.RoomReply { return ack("Participant muted.") }))
	return nil
}

// updateParticipant changes a participant's name, metadata, attributes or permission.
func (r *Room) updateParticipant(ctx actor.Context, msg *messages.UpdateParticipant, ch *change) *messages.RoomReply {
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return moderationDenied(msg.GetCaller())
	}
	update := ParticipantUpdate{Name: msg.Name, Metadata: msg.Metadata, Attributes: msg.GetAttributes()}
	if p := msg.GetPermission(); p != nil {
		update.Permission = permissionOf(p)
	}
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.UpdateParticipant(c, r.id, msg.GetParticipantIdentity(), update)
	}, r.onSuccess(func(*change) *messages.RoomReply { return ack("Participant updated.") }))
	return nil
}

// removeParticipant disconnects a participant and clears their lobby entry, so that they must
// knock again.
func (r *Room) removeParticipant(ctx actor.Context, msg *messages.RemoveParticipant, ch *change) *messages.RoomReply {
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return moderationDenied(msg.GetCaller())
	}
	identity := msg.GetParticipantIdentity()
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.RemoveParticipant(c, r.id, identity)
	}, r.onSuccess(func(ch *change) *messages.RoomReply {
		r.changing(ch)
		r.lobby.removeIdentity(identity, ch.now)
		return ack("Participant removed.")
	}))
	return nil
}

// startSubtitle dispatches the transcriber agent once per LiveKit room session.
func (r *Room) startSubtitle(ctx actor.Context, msg *messages.StartSubtitle, ch *change) *messages.RoomReply {
	if !r.isParticipantOfThisRoom(msg.GetCaller()) {
		return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "This token is not valid for this room.")
	}
	if r.subtitlesDispatched {
		return ack("Subtitles started.")
	}
	// One dispatch in flight per room, whatever the request ids: later starts join it.
	r.liveKitCommand(ctx, "subtitles", msg.GetRequestId(), func(c context.Context) error {
		return r.deps.LiveKit.DispatchAgent(c, r.id, r.deps.Config.SubtitleAgentName)
	}, r.onSuccess(func(ch *change) *messages.RoomReply {
		r.changing(ch)
		r.subtitlesDispatched = true
		return ack("Subtitles started.")
	}))
	return nil
}

func moderationDenied(caller *messages.Caller) *messages.RoomReply {
	if caller.GetUser() == nil && caller.GetLivekitParticipant() == nil {
		return failure(messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "Authentication credentials were not provided.")
	}
	return failure(messages.ErrorCode_ERROR_CODE_FORBIDDEN, "You do not have permission to perform this action.")
}

// permissionOf is LiveKit's permission message for the fields the caller set.
func permissionOf(p *messages.ParticipantPermission) *livekit.ParticipantPermission {
	out := &livekit.ParticipantPermission{
		CanSubscribe:        p.GetCanSubscribe(),
		CanPublish:          p.GetCanPublish(),
		CanPublishData:      p.GetCanPublishData(),
		Hidden:              p.GetHidden(),
		Recorder:            p.GetRecorder(),
		CanUpdateMetadata:   p.GetCanUpdateMetadata(),
		Agent:               p.GetAgent(),
		CanSubscribeMetrics: p.GetCanSubscribeMetrics(),
	}
	for _, s := range p.GetCanPublishSources().GetSources() {
		out.CanPublishSources = append(out.CanPublishSources, livekit.TrackSource(livekit.TrackSource_value[strings.ToUpper(s)]))
	}
	return out
}
