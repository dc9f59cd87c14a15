package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

const (
	// rememberedReplies and rememberedEvents bound the idempotency memory kept in the snapshot:
	// enough to cover cluster and client retries, which come within seconds.
	rememberedReplies = 64
	rememberedEvents  = 128
	// tombstoneTTL keeps a deleted room's snapshot (with its remembered replies) long enough for
	// a retried delete to get the first answer, then lets Redis forget it.
	tombstoneTTL = 24 * time.Hour
)

// handler is the one shape of the room's request handlers: the command's change in (its time in
// ch.now), the reply out. A handler records every modification of the room's state in ch
// (changing, then the index entries, LiveKit calls and notices that go with it); nil means the
// reply is sent later, by the continuation of a LiveKit call (livekitcalls.go).
type handler func(ch *change) *messages.RoomReply

// command runs a handler that may change state. If it did (or, when only the lobby changed, the
// lobby entries changed), the change is written to the store before the reply goes out, and the
// LiveKit calls it queued are made only once the write succeeded. A failed write rolls the actor
// back to the state it had, so nothing is half-applied.
func (r *Room) command(ctx actor.Context, requestID string, needsRoom bool, handle handler) {
	r.commandShowing(ctx, requestID, needsRoom, nil, handle)
}

// commandShowing is command for a room's creation, whose reply is the room as its creator sees
// it: view answers a repeat of the request (see RememberedReply.room_view). Nobody else knows
// the room before that reply, so the room a repeat shows is the one the first reply showed, with
// a LiveKit token minted afresh. Other commands keep their first reply whole: a repeat must not
// show a change another request made in between (the checked history rejects it).
func (r *Room) commandShowing(ctx actor.Context, requestID string, needsRoom bool, view func() *messages.RoomReply, handle handler) {
	if reply := r.precheck(ctx, requestID, needsRoom, view); reply != nil {
		ctx.Respond(reply)
		return
	}
	now := r.deps.Clock.Now()
	var reply *messages.RoomReply
	// A collision on an exclusive index (a random slug or PIN another room holds) undoes the
	// command; running it again draws new ones.
	for attempt := 0; ; attempt++ {
		ch := r.openChange(now)
		ch.repeatShowsRoom = view != nil
		reply = r.commit(ctx, requestID, ch, handle(ch))
		if reply.GetFailure().GetCode() != messages.ErrorCode_ERROR_CODE_CONFLICT || !r.indexTaken || attempt >= r.deps.Config.IndexRetries {
			break
		}
	}
	if reply != nil {
		ctx.Respond(reply)
	}
	if r.record == nil {
		// Deleted, or a creation that failed: nothing worth keeping in memory.
		ctx.Stop(ctx.Self())
	}
}

// precheck answers a command that must not run: room not loaded, an activation that a stall of
// the node may have left stale (verifyCurrent), a repeated request id (with the first reply), or
// a room that does not exist. nil means go ahead.
func (r *Room) precheck(ctx actor.Context, requestID string, needsRoom bool, view func() *messages.RoomReply) *messages.RoomReply {
	if !r.loaded {
		return r.unavailableOrMissing(ctx)
	}
	if reply := r.verifyCurrent(ctx); reply != nil {
		return reply
	}
	if remembered := r.rememberedReply(requestID); remembered != nil {
		r.deps.Metrics.DuplicateCommands.Inc()
		switch {
		case !remembered.GetRoomView():
			return remembered.GetReply()
		case r.record == nil || view == nil:
			return r.unavailableOrMissing(ctx)
		}
		return view()
	}
	if needsRoom && r.record == nil {
		return r.unavailableOrMissing(ctx)
	}
	return nil
}

// commit stores what the change holds (if anything) and returns the reply to give. Its LiveKit
// calls and notices go out once it is stored, or at once when it changed no state (a notice
// alone, sendDueKnockNotice); never when the write failed and the change was undone. The change
// is then empty: committing it again does nothing.
func (r *Room) commit(ctx actor.Context, requestID string, ch *change, reply *messages.RoomReply) *messages.RoomReply {
	r.indexTaken = false
	if ch.before != nil || r.lobby.changedByCommand() {
		if requestID != "" {
			// The remembered reply must be stored with the change it answers: a change of the
			// lobby alone writes its entries without the snapshot, which holds the replies, and
			// a retry reaching the next activation (the first answer lost as its node stopped)
			// would run the command again on a room that may have changed meanwhile.
			r.changing(ch)
		}
		repliesBefore := r.replies
		r.remember(requestID, reply, ch.repeatShowsRoom)
		if err := r.save(ch); err != nil {
			r.replies = repliesBefore
			reply = r.saveFailed(ctx, ch, err)
			ch.effects, ch.noticesDue = nil, nil
		}
	}
	for _, e := range ch.effects {
		r.liveKitOutbox().push(e)
	}
	r.queueNotices(ctx, ch)
	*ch = change{now: ch.now}
	r.lobby.beginCommand()
	return reply
}

// saveFailed undoes the command and turns the failure into a reply. A fenced activation stops:
// a newer one owns the room and the caller's retry will reach it.
func (r *Room) saveFailed(ctx actor.Context, ch *change, err error) *messages.RoomReply {
	if ch.before != nil {
		r.load(ch.before, r.deps.Clock.Now())
	}
	r.lobby.rollback()
	switch {
	case errors.Is(err, ErrFenced):
		r.deps.Metrics.Fenced.Inc()
		r.logger().Warn("room activation fenced by a newer one, stopping", slog.Any("error", err))
		r.stopAsStale(ctx)
		return moved()
	case errors.Is(err, ErrIndexTaken) && ch.clientSlug != "" && takenIndex(err, IndexSlug) == ch.clientSlug:
		return invalid("name", "Room with this Slug already exists.")
	case errors.Is(err, ErrIndexTaken) && takenIndex(err, IndexCallback) != "":
		// A callback id names one creation: another room (another user's) cannot take it over.
		return invalid("callback_id", "This callback id is already in use.")
	case errors.Is(err, ErrIndexTaken):
		r.indexTaken = true
		return failure(messages.ErrorCode_ERROR_CODE_CONFLICT, "Could not reserve a unique slug or PIN, try again.")
	default:
		r.deps.Metrics.StoreErrors.Inc()
		r.logger().Error("room state could not be saved", slog.Any("error", err))
		return failure(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "Room state could not be saved, try again.")
	}
}

// takenIndex is the key of index a save collided on, "" when it collided on another index.
func takenIndex(err error, index Index) string {
	var taken *IndexTakenError
	if errors.As(err, &taken) && taken.Index == index {
		return taken.Key
	}
	return ""
}

// supersede stops this activation when another member activated the room at a newer epoch:
// without it, this one would serve stale reads until its next write was fenced.
func (r *Room) supersede(ctx actor.Context, msg *messages.Superseded) {
	if !r.loaded || msg.GetEpoch() <= r.epoch {
		return // this activation is the announced one, or newer
	}
	r.deps.Metrics.Superseded.Inc()
	r.logger().Info("room activated elsewhere at a newer epoch, stopping", slog.Int64("epoch", r.epoch), slog.Int64("newer", msg.GetEpoch()))
	r.stopAsStale(ctx)
}

// loadFromStore takes this activation's epoch and loads the stored state. It returns the
// other members that held the room before (see handover).
func (r *Room) loadFromStore() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
	defer cancel()
	activation, err := r.deps.Store.Activate(ctx, r.id, r.holder)
	if err != nil {
		return nil, err
	}
	epoch, data := activation.Epoch, activation.State
	r.epoch = epoch
	state := &messages.RoomState{}
	if err := proto.Unmarshal(data, state); err != nil {
		return nil, fmt.Errorf("decode state of room %s: %w", r.id, err)
	}
	var lobbyRecords [][]byte
	if data != nil {
		if lobbyRecords, err = r.deps.Store.LobbyEntries(ctx, r.id); err != nil {
			return nil, err
		}
	}
	now := r.deps.Clock.Now()
	r.load(state, now)
	if err := r.lobby.restoreStored(state.GetLobby(), state.GetExactDeadlines(), lobbyRecords, epoch, now); err != nil {
		return nil, fmt.Errorf("load lobby of room %s: %w", r.id, err)
	}
	r.loaded = true
	return activation.Holders, nil
}

// save writes what the command changed: when only lobby entries changed, those entries alone;
// otherwise the state, with the index changes derived from what the command changed and the
// lobby entries not stored yet, in one atomic write.
func (r *Room) save(ch *change) error {
	now := ch.now
	lobbyChange, err := r.lobby.pendingChange(now, 0)
	if err != nil {
		return fmt.Errorf("lobby of room %s: %w", r.id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
	defer cancel()
	if ch.before == nil && !r.lobby.inOldSnapshot() {
		if lobbyChange == nil {
			return nil
		}
		if err := r.deps.Store.SaveLobbyEntries(ctx, r.id, r.epoch, *lobbyChange); err != nil {
			return err
		}
		r.lobby.saved(lobbyChange, now)
		return nil
	}
	state := r.stateSharing()
	data, err := proto.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode state of room %s: %w", r.id, err)
	}
	var index []IndexOp
	if ch.before != nil {
		index = indexChanges(r.id, ch.before.GetRecord(), state.GetRecord())
	}
	snapshot := Snapshot{
		RoomID: r.id,
		Epoch:  r.epoch,
		Holder: r.holder,
		State:  data,
		Index:  append(index, ch.extra...),
		Lobby:  lobbyChange,
	}
	if r.deleted {
		snapshot.TTL = tombstoneTTL
	}
	epoch, err := r.deps.Store.Save(ctx, snapshot)
	if err != nil {
		return err
	}
	r.epoch = epoch
	r.presenceUnsaved = false
	r.lobby.saved(lobbyChange, now)
	r.lobby.snapshotSaved()
	return nil
}

// savePresence writes the presence changed since the last write (changingPresence) when the
// activation stops while serving, so that the next one starts from it. Nothing else is pending:
// every other change was written before its reply.
func (r *Room) savePresence() {
	if !r.presenceUnsaved || !r.loaded || r.epoch == 0 || r.record == nil {
		return
	}
	// A before-image equal to the state: save writes the snapshot and derives no index change.
	ch := &change{now: r.deps.Clock.Now(), before: r.stateSharing()}
	if err := r.save(ch); err != nil && !errors.Is(err, ErrFenced) {
		r.logger().Warn("participants not saved on stop; the next activation asks LiveKit", slog.Any("error", err))
	}
}

// saveExactDeadlines writes the lobby's in-memory waiting deadlines when the grain stops while
// participants are still waiting (a graceful move to another node): polls do not write, so
// without this the next activation would have to guess them. Only the lobby entries are written,
// marked exact for the next activation. See lobby.restore and lobby.restoreStored.
func (r *Room) saveExactDeadlines() {
	if !r.loaded || r.record == nil {
		return
	}
	now := r.deps.Clock.Now()
	if all, _ := r.lobby.waitingCount("", now); all == 0 {
		return
	}
	change, err := r.lobby.pendingChange(now, r.epoch)
	if err == nil && change != nil {
		ctx, cancel := context.WithTimeout(context.Background(), r.deps.Config.StoreTimeout)
		defer cancel()
		err = r.deps.Store.SaveLobbyEntries(ctx, r.id, r.epoch, *change)
	}
	if err != nil {
		r.logger().Warn("lobby deadlines not saved on stop", slog.Any("error", err))
	}
}

// stateSharing is the persisted form of the room sharing the room's record: for a write, which
// encodes it at once on the room's goroutine, and for a change's before-image, whose record the
// room no longer modifies once it is kept (changingRecord). Cloning the record for them was most
// of what a webhook cost the room (docs/performance.md).
func (r *Room) stateSharing() *messages.RoomState {
	metadataStatus, _ := r.recordingMetadata()
	return &messages.RoomState{
		Record:                  r.record,
		Live:                    r.live,
		LiveUpdatedUnixMs:       r.liveUpdatedAt,
		AppliedEventIds:         append([]string(nil), r.appliedEvents...),
		Replies:                 append([]*messages.RememberedReply(nil), r.replies...),
		Deleted:                 r.deleted,
		SubtitlesDispatched:     r.subtitlesDispatched,
		Participants:            r.presence.snapshot(),
		SipDispatchRuleId:       r.sipRuleID,
		Recordings:              append([]*messages.Recording(nil), r.recordingList()...),
		RecordingMetadataStatus: metadataStatus,
	}
}

// load replaces the in-memory state with a persisted one, but for the lobby entries, which are
// stored apart (loadFromStore restores them).
func (r *Room) load(s *messages.RoomState, now time.Time) {
	r.record = proto.CloneOf(s.GetRecord())
	r.live = s.GetLive()
	r.liveUpdatedAt = s.GetLiveUpdatedUnixMs()
	r.appliedEvents = append([]string(nil), s.GetAppliedEventIds()...)
	r.replies = append([]*messages.RememberedReply(nil), s.GetReplies()...)
	r.deleted = s.GetDeleted()
	r.subtitlesDispatched = s.GetSubtitlesDispatched()
	r.presence = restorePresence(s.GetParticipants())
	r.sipRuleID = s.GetSipDispatchRuleId()
	if recordings := s.GetRecordings(); len(recordings) > 0 || r.recs != nil {
		r.recordingWork().recordings = append([]*messages.Recording(nil), recordings...)
	}
	mode := ""
	if rec := r.currentRecording(); rec != nil {
		mode = rec.GetMode()
	} else if rec := r.watchedRecording(); rec != nil {
		mode = rec.GetMode()
	}
	if status := s.GetRecordingMetadataStatus(); status != "" || mode != "" || r.recs != nil {
		e := r.recordingWork()
		e.metaStatus, e.metaMode = status, mode
	}
}

// rememberedReply is what was kept of the first reply given to a request id, if it is still
// remembered.
func (r *Room) rememberedReply(requestID string) *messages.RememberedReply {
	if requestID == "" {
		return nil
	}
	for _, rr := range r.replies {
		if rr.GetRequestId() == requestID {
			return rr
		}
	}
	return nil
}

// remember keeps the reply given to a request id, for its repeats. With asView, the reply (a room
// view) is not kept, only that it was one: a repeat is shown the room again (precheck).
func (r *Room) remember(requestID string, reply *messages.RoomReply, asView bool) {
	if requestID == "" {
		return
	}
	kept := &messages.RememberedReply{RequestId: requestID, Reply: reply}
	if asView && reply.GetRoom() != nil {
		kept = &messages.RememberedReply{RequestId: requestID, RoomView: true}
	}
	r.replies = append(r.replies, kept)
	if over := len(r.replies) - rememberedReplies; over > 0 {
		r.replies = r.replies[over:]
	}
}

// indexChanges derives the index operations that keep the user-rooms, slug and access indexes in
// step with the room record. after is nil when the room was deleted.
func indexChanges(roomID string, before, after *messages.RoomRecord) []IndexOp {
	var ops []IndexOp
	summaryChanged := before.GetName() != after.GetName() || before.GetAccessLevel() != after.GetAccessLevel() ||
		before.GetSlug() != after.GetSlug()
	var summary []byte
	if after != nil {
		summary, _ = proto.Marshal(&messages.RoomSummary{
			Id: roomID, Name: after.GetName(), Slug: after.GetSlug(),
			AccessLevel: after.GetAccessLevel(), CreatedUnixMs: after.GetCreatedUnixMs(),
		})
	}
	beforeUsers := map[string]bool{}
	beforeAccesses := map[string]bool{}
	for _, a := range before.GetAccesses() {
		beforeUsers[a.GetUser().GetId()] = true
		beforeAccesses[a.GetId()] = true
	}
	afterUsers := map[string]bool{}
	for _, a := range after.GetAccesses() {
		userID := a.GetUser().GetId()
		afterUsers[userID] = true
		if summaryChanged || !beforeUsers[userID] {
			ops = append(ops, IndexOp{Index: IndexUserRooms, Key: userID, Summary: summary})
		}
		if !beforeAccesses[a.GetId()] {
			ops = append(ops, IndexOp{Index: IndexAccess, Key: a.GetId()})
		}
		delete(beforeAccesses, a.GetId())
	}
	for userID := range beforeUsers {
		if !afterUsers[userID] {
			ops = append(ops, IndexOp{Index: IndexUserRooms, Key: userID, Remove: true})
		}
	}
	for accessID := range beforeAccesses {
		ops = append(ops, IndexOp{Index: IndexAccess, Key: accessID, Remove: true})
	}
	if before.GetPinCode() != after.GetPinCode() {
		if before.GetPinCode() != "" {
			ops = append(ops, IndexOp{Index: IndexPin, Key: before.GetPinCode(), Remove: true})
		}
		if after.GetPinCode() != "" {
			ops = append(ops, IndexOp{Index: IndexPin, Key: after.GetPinCode(), Exclusive: true})
		}
	}
	ops = append(ops, accessIndexOps(roomID, before, after)...)
	switch {
	case after != nil && before.GetSlug() != after.GetSlug():
		ops = append(ops, IndexOp{Index: IndexSlug, Key: after.GetSlug(), Exclusive: true})
	case after == nil && before.GetSlug() != "":
		ops = append(ops, IndexOp{Index: IndexSlug, Key: before.GetSlug(), Remove: true})
	}
	return ops
}
