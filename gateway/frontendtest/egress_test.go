package frontendtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// egressWorker plays LiveKit's egress worker for a recording the front end started, as far as
// the pages can tell: the worker joins the room as a hidden recorder (LiveKit then marks the
// room as recording, which the front end waits for before it says "Transcribing") and LiveKit
// sends egress_started; when the egress is stopped the worker leaves and egress_ended follows.
type egressWorker struct {
	s        *suite
	t        *testing.T
	egressID string
	room     *lksdk.Room
}

// startEgressWorker waits for the egress of the room's recording and starts recording.
func (s *suite) startEgressWorker(t *testing.T, roomID string) *egressWorker {
	t.Helper()
	w := &egressWorker{s: s, t: t}
	servicetest.Eventually(t, waitFor, "an egress for room "+roomID, func() bool {
		if info := w.egressOf(roomID); info != nil {
			w.egressID = info.GetEgressId()
			return true
		}
		return false
	})
	token, err := auth.NewAccessToken(s.lk.Key, s.lk.Secret).
		SetIdentity("EG_worker_" + w.egressID).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: roomID, Recorder: true, Hidden: true, CanSubscribe: ptr(true)}).
		ToJWT()
	if err != nil {
		t.Fatalf("egress worker token: %v", err)
	}
	w.room, err = servicetest.JoinLiveKit(s.lk.WSURL, token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatalf("egress worker joining room %s: %v", roomID, err)
	}
	t.Cleanup(w.room.Disconnect)
	w.send("egress_started", livekit.EgressStatus_EGRESS_ACTIVE)
	return w
}

// finishWhenStopped waits until the node stopped the egress, then leaves the room and reports
// the egress complete.
func (w *egressWorker) finishWhenStopped() {
	w.t.Helper()
	servicetest.Eventually(w.t, waitFor, "egress "+w.egressID+" to be stopped", func() bool {
		info := w.egressOf("")
		return info != nil && info.GetStatus() == livekit.EgressStatus_EGRESS_ENDING
	})
	w.room.Disconnect()
	w.send("egress_ended", livekit.EgressStatus_EGRESS_COMPLETE)
}

func (w *egressWorker) send(event string, status livekit.EgressStatus) {
	w.t.Helper()
	if got := w.s.egress.Send(event, w.egressID, status); got != http.StatusOK {
		w.t.Fatalf("%s for egress %s: the node answered %d, want 200", event, w.egressID, got)
	}
}

// egressOf is the stand-in's egress for roomID, or the worker's own egress when roomID is "".
func (w *egressWorker) egressOf(roomID string) *livekit.EgressInfo {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := w.s.egress.ListEgress(ctx, &livekit.ListEgressRequest{EgressId: w.egressID})
	if err != nil {
		return nil
	}
	for _, info := range list.GetItems() {
		if roomID == "" || info.GetRoomName() == roomID {
			return info
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
