package room

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// Recording (rooms.md): one recording at a time per room, driven by the start/stop commands and
// by LiveKit's egress webhooks, all handled by this actor in turn. An egress webhook that
// overtakes the start call it reports on (the reference product's "recording not found") is
// kept until the call returns and then applied.

// Short names of the recording statuses (the enum is messages.RecordingStatus).
const (
	statusInitiated             = messages.RecordingStatus_RECORDING_STATUS_INITIATED
	statusActive                = messages.RecordingStatus_RECORDING_STATUS_ACTIVE
	statusStopped               = messages.RecordingStatus_RECORDING_STATUS_STOPPED
	statusSaved                 = messages.RecordingStatus_RECORDING_STATUS_SAVED
	statusAborted               = messages.RecordingStatus_RECORDING_STATUS_ABORTED
	statusFailedToStart         = messages.RecordingStatus_RECORDING_STATUS_FAILED_TO_START
	statusFailedToStop          = messages.RecordingStatus_RECORDING_STATUS_FAILED_TO_STOP
	statusNotificationSucceeded = messages.RecordingStatus_RECORDING_STATUS_NOTIFICATION_SUCCEEDED
)

const (
	modeScreenRecording = "screen_recording"
	modeTranscript      = "transcript"

	// recordingsKept bounds the recordings kept in the room's snapshot; the users' index keeps
	// every recording.
	recordingsKept = 50
)

// statusRank orders statuses so that late or repeated events never move a recording back.
// Statuses that end a recording outrank everything it could still receive.
var statusRank = map[messages.RecordingStatus]int{
	statusInitiated: 0, statusActive: 1, statusFailedToStop: 2, statusStopped: 2,
	statusSaved: 3, statusNotificationSucceeded: 4, statusAborted: 5, statusFailedToStart: 5,
}

// The recording_status values of the LiveKit room metadata (the front end reads them there).
const (
	metadataStarting = "starting"
	metadataStarted  = "started"
	metadataSaving   = "saving"
	metadataAborted  = "aborted"
)

// metadataRank orders the recording_status values of the room metadata the same way.
var metadataRank = map[string]int{metadataStarting: 0, metadataStarted: 1, metadataSaving: 2, metadataAborted: 3}

// currentRecording is the room's recording that is initiated or active, if any.
func (r *Room) currentRecording() *messages.Recording {
	for _, rec := range r.recordingList() {
		if rec.CurrentStatus() == statusInitiated || rec.CurrentStatus() == statusActive {
			return rec
		}
	}
	return nil
}

// watchedRecording is the recording whose egress has not been seen ending (active, stopped or
// failed to stop): the one reconciliation asks LiveKit about, in case egress_ended was lost.
func (r *Room) watchedRecording() *messages.Recording {
	recordings := r.recordingList()
	for i := len(recordings) - 1; i >= 0; i-- {
		rec := recordings[i]
		switch rec.CurrentStatus() {
		case statusActive, statusStopped, statusFailedToStop:
			if rec.GetEgressId() != "" {
				return rec
			}
		}
	}
	return nil
}

func (r *Room) recordingByEgress(egressID string) *messages.Recording {
	for _, rec := range r.recordingList() {
		if rec.GetEgressId() == egressID {
			return rec
		}
	}
	return nil
}

// setRecording replaces a recording (copy-on-write, so that an undone command restores the
// old one) and refreshes its users' index entries.
func (r *Room) setRecording(rec *messages.Recording, ch *change) {
	now := ch.now
	r.changing(ch)
	rec.UpdatedUnixMs = now.UnixMilli()
	work := r.recordingWork()
	replaced := false
	for i, old := range work.recordings {
		if old.GetId() == rec.GetId() {
			work.recordings[i] = rec
			replaced = true
		}
	}
	if !replaced {
		work.recordings = append(work.recordings, rec)
		ch.extra = append(ch.extra, IndexOp{Index: IndexRecording, Key: rec.GetId()})
		if over := len(work.recordings) - recordingsKept; over > 0 {
			work.recordings = work.recordings[over:]
		}
	}
	entry, _ := proto.Marshal(r.recordingEntry(rec))
	users := map[string]bool{rec.GetStartedBy(): true}
	for _, a := range r.record.GetAccesses() {
		if a.GetRole() == messages.Role_ROLE_OWNER {
			users[a.GetUser().GetId()] = true
		}
	}
	for user := range users {
		if user != "" {
			ch.extra = append(ch.extra, IndexOp{Index: IndexUserRecordings, Key: user, Field: rec.GetId(), Summary: entry})
		}
	}
}

// recordingEntry is a recording with the room it belongs to, as the API and the users' index
// show it.
func (r *Room) recordingEntry(rec *messages.Recording) *messages.RecordingEntry {
	return &messages.RecordingEntry{Recording: rec, Room: &messages.RoomSummary{
		Id: r.id, Name: r.record.GetName(), Slug: r.record.GetSlug(), AccessLevel: r.record.GetAccessLevel(),
	}}
}

// recordingReply answers a recording command.
func (r *Room) recordingReply(id string) *messages.RoomReply {
	return &messages.RoomReply{Body: &messages.RoomReply_Recording{Recording: r.recordingEntry(r.recordingByID(id))}}
}

// moveRecording changes a recording's status unless that would move it backwards.
func (r *Room) moveRecording(rec *messages.Recording, status messages.RecordingStatus, ch *change) bool {
	if statusRank[status] <= statusRank[rec.CurrentStatus()] {
		return false
	}
	next := proto.CloneOf(rec)
	next.SetStatus(status)
	r.setRecording(next, ch)
	if status == statusSaved {
		r.queueRecordingNotice(ch, next.GetId())
	}
	return true
}

// setRecordingMetadata sets (or with "" removes) the recording keys of the LiveKit room
// metadata, never moving them backwards within one recording.
func (r *Room) setRecordingMetadata(status string, ch *change) {
	current, _ := r.recordingMetadata()
	if status == current {
		return
	}
	if status != "" && status != metadataStarting && current != "" && metadataRank[status] < metadataRank[current] {
		return
	}
	r.changing(ch)
	r.recordingWork().metaStatus = status
	ch.effects = append(ch.effects, r.updateMetadataEffect(r.metadata()))
}

// startRecording: privileged callers, one recording at a time.
func (r *Room) startRecording(ctx actor.Context, msg *messages.StartRecording, ch *change) *messages.RoomReply {
	now := ch.now
	if _, retried := r.inFlight[msg.GetRequestId()]; retried {
		r.inFlight[msg.GetRequestId()] = append(r.inFlight[msg.GetRequestId()], ctx.Sender())
		return nil
	}
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return denied(msg.GetCaller())
	}
	if r.currentRecording() != nil {
		return failure(messages.ErrorCode_ERROR_CODE_CONFLICT, "A recording is already in progress in this room.")
	}
	// The recording exists (initiated) before LiveKit is asked, so that a crash in between
	// leaves a trace, and webhooks arriving during the call know a start is under way.
	rec := &messages.Recording{
		Id: uuid.NewString(), Mode: msg.GetMode(), Options: msg.GetOptions(),
		CreatedUnixMs: now.UnixMilli(), StartedBy: msg.GetCaller().GetUser().GetId(),
	}
	rec.SetStatus(statusInitiated)
	r.setRecording(rec, ch)
	r.recordingWork().metaMode = rec.GetMode()
	r.setRecordingMetadata(metadataStarting, ch)
	if reply := r.commit(ctx, "", ch, nil); reply.GetFailure() != nil {
		return reply
	}
	var egressID string
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		var err error
		egressID, err = r.deps.LiveKit.StartRoomCompositeEgress(c, r.id, rec.GetMode() == modeTranscript, rec.GetId())
		return err
	}, func(ch *change, err error) *messages.RoomReply {
		current := r.recordingByID(rec.GetId())
		if err != nil {
			r.moveRecording(current, statusFailedToStart, ch)
			r.setRecordingMetadata("", ch)
			r.recordingWork().pending = nil
			r.logger().Warn("recording not started", slog.Any("error", err))
			return failure(messages.ErrorCode_ERROR_CODE_UPSTREAM, "LiveKit could not start the recording.")
		}
		active := proto.CloneOf(current)
		active.SetStatus(statusActive)
		active.EgressId = egressID
		r.setRecording(active, ch)
		// Webhooks that overtook this call are applied now that the egress id is known.
		work := r.recordingWork()
		pending := work.pending
		work.pending = nil
		for _, e := range pending {
			r.applyEgress(e, ch)
		}
		r.scheduleReconcile(ctx)
		return r.recordingReply(rec.GetId())
	})
	return nil
}

func (r *Room) recordingByID(id string) *messages.Recording {
	for _, rec := range r.recordingList() {
		if rec.GetId() == id {
			return rec
		}
	}
	return nil
}

// stopRecording: StopEgress; ENDING means stopped, ABORTED aborted, a failure failed_to_stop.
func (r *Room) stopRecording(ctx actor.Context, msg *messages.StopRecording, ch *change) *messages.RoomReply {
	if _, retried := r.inFlight[msg.GetRequestId()]; retried {
		r.inFlight[msg.GetRequestId()] = append(r.inFlight[msg.GetRequestId()], ctx.Sender())
		return nil
	}
	if !isPrivileged(roleOf(r.record, msg.GetCaller())) {
		return denied(msg.GetCaller())
	}
	rec := r.currentRecording()
	switch {
	case rec == nil:
		return failure(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "No active recording found for this room.")
	case rec.GetEgressId() == "":
		return failure(messages.ErrorCode_ERROR_CODE_CONFLICT, "The recording is still starting, try again.")
	}
	var status livekit.EgressStatus
	r.liveKitCommand(ctx, msg.GetRequestId(), msg.GetRequestId(), func(c context.Context) error {
		var err error
		status, err = r.deps.LiveKit.StopEgress(c, rec.GetEgressId())
		return err
	}, func(ch *change, err error) *messages.RoomReply {
		current := r.recordingByID(rec.GetId())
		switch {
		case err != nil:
			r.moveRecording(current, statusFailedToStop, ch)
			r.logger().Warn("recording not stopped", slog.Any("error", err))
			return failure(messages.ErrorCode_ERROR_CODE_UPSTREAM, "LiveKit could not stop the recording.")
		case status == livekit.EgressStatus_EGRESS_ABORTED:
			r.moveRecording(current, statusAborted, ch)
		default:
			r.moveRecording(current, statusStopped, ch)
		}
		return r.recordingReply(rec.GetId())
	})
	return nil
}

// egressEvent applies an egress webhook (egress_started, egress_updated, egress_ended).
func (r *Room) egressEvent(event *livekit.WebhookEvent, ch *change) {
	info := event.GetEgressInfo()
	if r.recordingByEgress(info.GetEgressId()) == nil {
		if rec := r.currentRecording(); rec != nil && rec.CurrentStatus() == statusInitiated {
			// The start call has not returned yet: keep the event for when it does.
			work := r.recordingWork()
			work.pending = append(work.pending, event)
			return
		}
		r.deps.Metrics.UnknownEgress.Inc()
		r.logger().Warn("egress event for no recording of this room", slog.String("egress", info.GetEgressId()), slog.String("event", event.GetEvent()))
		return
	}
	r.applyEgress(event, ch)
}

func (r *Room) applyEgress(event *livekit.WebhookEvent, ch *change) {
	info := event.GetEgressInfo()
	rec := r.recordingByEgress(info.GetEgressId())
	if rec == nil {
		return
	}
	ended := event.GetEvent() == webhook.EventEgressEnded
	if statusRank[rec.CurrentStatus()] >= statusRank[statusSaved] {
		return // the recording has ended: a repeated or late event changes nothing
	}
	if !ended {
		switch info.GetStatus() {
		case livekit.EgressStatus_EGRESS_ACTIVE:
			r.setRecordingMetadata(metadataStarted, ch)
		case livekit.EgressStatus_EGRESS_ENDING:
			r.setRecordingMetadata(metadataSaving, ch)
		case livekit.EgressStatus_EGRESS_ABORTED:
			r.setRecordingMetadata(metadataAborted, ch)
		}
		return
	}
	r.setRecordingMetadata("", ch)
	switch info.GetStatus() {
	case livekit.EgressStatus_EGRESS_LIMIT_REACHED:
		if rec.CurrentStatus() == statusActive {
			r.moveRecording(rec, statusStopped, ch)
			notification := "screenRecordingLimitReached"
			if rec.GetMode() == modeTranscript {
				notification = "transcriptionLimitReached"
			}
			r.notifyIfLive(ch, notification)
		}
		r.moveRecording(r.recordingByEgress(info.GetEgressId()), statusSaved, ch)
	case livekit.EgressStatus_EGRESS_COMPLETE:
		r.moveRecording(rec, statusSaved, ch)
	default: // EGRESS_ABORTED, EGRESS_FAILED
		r.moveRecording(rec, statusAborted, ch)
	}
}

// reconcileRecording asks LiveKit about the active recording's egress, in case its
// egress_ended webhook was lost.
func (r *Room) reconcileRecording(ctx actor.Context) {
	rec := r.watchedRecording()
	if rec == nil {
		return
	}
	var info *livekit.EgressInfo
	r.runLiveKit(ctx, func(c context.Context) error {
		var err error
		info, err = r.deps.LiveKit.Egress(c, rec.GetEgressId())
		return err
	}, func(err error) {
		if err != nil {
			r.logger().Warn("recording reconciliation failed", slog.Any("error", err))
			return
		}
		switch info.GetStatus() {
		case livekit.EgressStatus_EGRESS_COMPLETE, livekit.EgressStatus_EGRESS_ABORTED,
			livekit.EgressStatus_EGRESS_FAILED, livekit.EgressStatus_EGRESS_LIMIT_REACHED:
			r.apply(ctx, "", func(ch *change) *messages.RoomReply {
				r.applyEgress(&livekit.WebhookEvent{Event: webhook.EventEgressEnded, EgressInfo: info}, ch)
				return nil
			})
		}
	})
}
