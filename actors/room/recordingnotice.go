package room

import (
	"meetcoord/messages"

	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// External notification of saved recordings (rooms.md: `saved`, then `notification_succeeded`
// when the notification succeeds). The notice is sent once the save is stored, off the actor's
// goroutine (a slow service must not hold up the lobby), and its success is recorded by the
// actor like any change. A failure leaves the recording `saved`, logged and counted: the
// recording itself is fine, only the outside service missed it.

// recordingSaved asks the actor to notify the outside of a recording it has stored as saved.
type recordingSaved struct{ recordingID string }

// queueRecordingNotice notes that the change saves a recording, to announce once it is stored.
func (r *Room) queueRecordingNotice(ch *change, recordingID string) {
	if r.deps.RecordingNotifier != nil {
		ch.noticesDue = append(ch.noticesDue, recordingID)
	}
}

// queueNotices, once a change is stored, puts its notices in the actor's own mailbox (not in the
// LiveKit outbox, where they would wait behind slow calls or be dropped when it is full), and
// marks them pending so that the room does not passivate before they are sent.
func (r *Room) queueNotices(ctx actor.Context, ch *change) {
	for _, id := range ch.noticesDue {
		work := r.recordingWork()
		if _, pending := work.notifying[id]; !pending {
			if work.notifying == nil {
				work.notifying = map[string]bool{}
			}
			work.notifying[id] = false
			ctx.Send(ctx.Self(), recordingSaved{recordingID: id})
		}
	}
}

// notifyRecordingSaved sends the notice of a saved recording and, when the service took it,
// moves the recording to notification_succeeded.
func (r *Room) notifyRecordingSaved(ctx actor.Context, recordingID string) {
	rec := r.recordingByID(recordingID)
	work := r.recordingWork()
	if started, pending := work.notifying[recordingID]; !pending || started {
		return
	}
	if rec == nil || rec.CurrentStatus() != statusSaved || r.record == nil {
		delete(work.notifying, recordingID)
		return
	}
	// Copies: the notice is encoded on another goroutine while the actor goes on changing its
	// record.
	owners := r.ownerUsers()
	for i, u := range owners {
		owners[i] = proto.CloneOf(u)
	}
	notice := RecordingNotice{Recording: proto.CloneOf(rec), Room: proto.CloneOf(r.record), Owners: owners}
	work.notifying[recordingID] = true
	notifier := r.deps.RecordingNotifier
	runOffActor(ctx, r.deps.Config.RecordingNoticeTimeout, func(c context.Context) error {
		return notifier.RecordingSaved(c, notice)
	}, func(err error) {
		delete(work.notifying, recordingID)
		if err != nil {
			r.deps.Metrics.RecordingNotices.WithLabelValues("failed").Inc()
			r.logger().Warn("recording notification failed; the recording stays saved",
				slog.String("recording", recordingID), slog.Any("error", err))
			return
		}
		r.deps.Metrics.RecordingNotices.WithLabelValues("succeeded").Inc()
		r.apply(ctx, "", func(ch *change) *messages.RoomReply {
			if current := r.recordingByID(recordingID); current != nil {
				r.moveRecording(current, statusNotificationSucceeded, ch)
			}
			return nil
		})
	})
}
