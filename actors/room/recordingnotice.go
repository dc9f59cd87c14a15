package room

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"meetcoord/actors"
)

// External notification of saved recordings (rooms.md: `saved`, then `notification_succeeded`
// when the notification succeeds). The notice is sent once the save is stored, off the actor's
// goroutine (a slow service must not hold up the lobby), and its success is recorded by the
// actor like any change. A failure leaves the recording `saved`, logged and counted: the
// recording itself is fine, only the outside service missed it.

// recordingSaved asks the actor to notify the outside of a recording it has stored as saved.
type recordingSaved struct{ recordingID string }

// queueRecordingNotice schedules the notice of a recording moving to saved, to run once the
// change is stored (effects run only after a successful save).
func (r *Room) queueRecordingNotice(recordingID string) {
	if r.deps.RecordingNotifier == nil {
		return
	}
	self, system := r.self, r.system
	r.effects = append(r.effects, func(context.Context) {
		system.Root.Send(self, recordingSaved{recordingID: recordingID})
	})
}

// notifyRecordingSaved sends the notice of a saved recording and, when the service took it,
// moves the recording to notification_succeeded.
func (r *Room) notifyRecordingSaved(ctx actor.Context, recordingID string) {
	rec := r.recordingByID(recordingID)
	if rec == nil || rec.GetStatus() != statusSaved || r.notifying[recordingID] || r.record == nil {
		return
	}
	notice := actors.RecordingNotice{Recording: rec, Room: r.record, Owners: r.ownerUsers()}
	r.notifying[recordingID] = true
	notifier := r.deps.RecordingNotifier
	runOffActor(ctx, r.deps.Config.RecordingNoticeTimeout, func(c context.Context) error {
		return notifier.RecordingSaved(c, notice)
	}, func(err error) {
		delete(r.notifying, recordingID)
		if err != nil {
			r.deps.Metrics.RecordingNotices.WithLabelValues("failed").Inc()
			r.log.Warn("recording notification failed; the recording stays saved",
				slog.String("recording", recordingID), slog.Any("error", err))
			return
		}
		r.deps.Metrics.RecordingNotices.WithLabelValues("succeeded").Inc()
		now := r.deps.Clock.Now()
		r.before, r.extra, r.effects = nil, nil, nil
		if current := r.recordingByID(recordingID); current != nil {
			r.moveRecording(current, statusNotificationSucceeded, now)
		}
		r.commit(ctx, "", nil, now)
	})
}
