package room

import (
	"time"

	"meetcoord/messages"
)

// requestEntry is a knock or a poll at the lobby (rooms.md "Lobby"). The bypass is checked on
// every request, since the access level may change while someone waits.
func (r *Room) requestEntry(msg *messages.RequestEntry, ch *change) *messages.RoomReply {
	now := ch.now
	caller := msg.GetCaller()
	role := roleOf(r.record, caller)
	participantID := msg.GetParticipantId()
	if canJoinDirectly(r.record.GetAccessLevel(), caller.GetUser() != nil, role) {
		return r.acceptedReply(caller, role, participantID, msg.GetUsername())
	}
	if _, known := r.lobby.get(participantID, now); !known {
		// A new entry: bounded per room, and paid for by the caller's address (the gateway
		// charges it and asks again), so that rotating cookies buys no flood.
		all, ofClient := r.lobby.waitingCount(msg.GetClient(), now)
		if all >= r.deps.Config.MaxWaiting || (msg.GetClient() != "" && ofClient >= r.deps.Config.MaxWaitingPerClient) {
			return failure(messages.ErrorCode_ERROR_CODE_TOO_MANY, "Too many participants are waiting to enter this room, try again later.")
		}
		if !msg.GetMayCreate() {
			return failure(messages.ErrorCode_ERROR_CODE_ADMISSION_REQUIRED, "A new lobby entry must be charged first.")
		}
	}
	identity := participantID
	if user := caller.GetUser(); user != nil {
		identity = user.GetSub()
	}
	entry, isNew := r.lobby.knock(participantID, identity, msg.GetUsername(), now)
	if isNew {
		r.lobby.setClient(participantID, msg.GetClient())
		r.deps.Metrics.LobbyKnocks.Inc()
		r.announceKnock(ch)
	}
	if entry.status == messages.EntryStatus_ENTRY_STATUS_ACCEPTED {
		return r.acceptedReply(caller, role, participantID, entry.username)
	}
	return entryReply(entry, nil)
}

// acceptedReply is an accepted entry with the LiveKit access that goes with it.
func (r *Room) acceptedReply(caller *messages.Caller, role messages.Role, participantID, username string) *messages.RoomReply {
	identity := participantID
	if user := caller.GetUser(); user != nil {
		identity = user.GetSub()
	}
	name := r.displayName(caller, username)
	access, err := r.liveKitAccess(joinRequest{
		identity:      identity,
		name:          name,
		color:         participantColor(participantID),
		role:          role,
		authenticated: caller.GetUser() != nil,
	})
	if err != nil {
		r.logger().Error("livekit token not minted", "error", err)
		return failure(messages.ErrorCode_ERROR_CODE_UPSTREAM, "LiveKit token could not be issued.")
	}
	return entryReply(lobbyEntry{
		participantID: participantID,
		username:      username,
		status:        messages.EntryStatus_ENTRY_STATUS_ACCEPTED,
	}, access)
}

// listWaiting is the admins' view of the lobby.
func (r *Room) listWaiting(msg *messages.ListWaiting, now time.Time) *messages.RoomReply {
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return denied(msg.GetCaller())
	}
	list := &messages.WaitingList{}
	if r.record.GetAccessLevel() != messages.AccessLevel_ACCESS_LEVEL_PUBLIC {
		for _, e := range r.lobby.waiting(now) {
			list.Participants = append(list.Participants, entryReply(e, nil).GetEntry())
		}
	}
	return &messages.RoomReply{Body: &messages.RoomReply_Waiting{Waiting: list}}
}

// decideEntry admits or denies a waiting (or already decided) participant.
func (r *Room) decideEntry(msg *messages.DecideEntry, ch *change) *messages.RoomReply {
	now := ch.now
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return denied(msg.GetCaller())
	}
	if r.record.GetAccessLevel() == messages.AccessLevel_ACCESS_LEVEL_PUBLIC {
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "Public rooms have no lobby.")
	}
	if _, ok := r.lobby.get(msg.GetParticipantId(), now); !ok {
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "Participant not found.")
	}
	// The decision writes its one entry (lobbystore.go) and the snapshot, which holds its
	// remembered reply (commit).
	r.lobby.decide(msg.GetParticipantId(), msg.GetAllowEntry(), now)
	if msg.GetAllowEntry() {
		r.deps.Metrics.LobbyDecisions.WithLabelValues("admitted").Inc()
		return ack("Participant was allowed access to the room.")
	}
	r.deps.Metrics.LobbyDecisions.WithLabelValues("denied").Inc()
	return ack("Participant was denied access to the room.")
}

func entryReply(e lobbyEntry, access *messages.LiveKitAccess) *messages.RoomReply {
	return &messages.RoomReply{Body: &messages.RoomReply_Entry{Entry: &messages.EntryView{
		ParticipantId: e.participantID,
		Status:        e.status,
		Username:      e.username,
		Color:         participantColor(e.participantID),
		Livekit:       access,
	}}}
}
