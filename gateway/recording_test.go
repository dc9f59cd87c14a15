package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Black-box tests of recording and transcription (rooms.md "Recording", "Notifications",
// "Idempotence and missed events"; webhooks.md; api.md "Recording and transcription") against a
// real livekit-server, with the egress stand-in answering LiveKit's Egress API and sending the
// egress webhooks when each test says. Every top-level test runs one node; its cases use rooms
// of their own.

const recWithin = 10 * time.Second // bound for effects that propagate asynchronously

// recEnv is a node with recording enabled, its LiveKit, the egress stand-in and LiveKit's
// RoomService.
type recEnv struct {
	n     *servicetest.Node
	lk    *servicetest.LiveKitServer
	eg    *servicetest.EgressStandIn
	rooms *lksdk.RoomServiceClient

	mu      sync.Mutex
	egress  map[string]string // room id -> id of the last egress started for it
	onStart atomic.Pointer[func(info *livekit.EgressInfo)]
	config  map[string]bool // room id -> everyone_can_mute last set by metadataBarrier
}

// recStart starts a node with recording enabled (env adds to or overrides that).
func recStart(t *testing.T, env map[string]string) *recEnv {
	t.Helper()
	merged := map[string]string{"RECORDING_ENABLE": "true"}
	for k, v := range env {
		merged[k] = v
	}
	n, lk, eg := servicetest.StartNodeWithEgress(t, merged)
	e := &recEnv{n: n, lk: lk, eg: eg, rooms: lksdk.NewRoomServiceClient(lk.URL, lk.Key, lk.Secret),
		egress: map[string]string{}, config: map[string]bool{}}
	// Set once, before any request: remembers each room's egress id (the API does not show it)
	// and runs the hook the current case installed, if any.
	eg.SetBeforeStartReturns(func(info *livekit.EgressInfo) {
		e.mu.Lock()
		e.egress[info.GetRoomName()] = info.GetEgressId()
		e.mu.Unlock()
		if hook := e.onStart.Load(); hook != nil {
			(*hook)(info)
		}
	})
	return e
}

// hook installs a function run inside every start call before it answers, until the case ends.
func (e *recEnv) hook(t *testing.T, f func(info *livekit.EgressInfo)) {
	e.onStart.Store(&f)
	t.Cleanup(func() { e.onStart.Store(nil) })
}

func (e *recEnv) egressOf(t *testing.T, roomID string) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.egress[roomID]
	if id == "" {
		t.Fatalf("no egress was started for room %s", roomID)
	}
	return id
}

// send posts an egress webhook through the stand-in and expects 200.
func (e *recEnv) send(t *testing.T, event, egressID string, status livekit.EgressStatus) {
	t.Helper()
	if got := e.eg.Send(event, egressID, status); got != http.StatusOK {
		t.Fatalf("%s %s for %s: webhook answered %d, want 200", event, status, egressID, got)
	}
}

// liveKitRoom makes the LiveKit room run (its metadata can then be read) without anyone in it.
func (e *recEnv) liveKitRoom(t *testing.T, roomID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: roomID, EmptyTimeout: 600}); err != nil {
		t.Fatalf("create livekit room %s: %v", roomID, err)
	}
}

// metadata is LiveKit's metadata of running rooms, by room name.
func (e *recEnv) metadata(t *testing.T, roomIDs ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := e.rooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: roomIDs})
	if err != nil {
		t.Fatalf("list livekit rooms: %v", err)
	}
	out := map[string]string{}
	for _, r := range res.GetRooms() {
		out[r.GetName()] = r.GetMetadata()
	}
	return out
}

// recMeta is the decoded room metadata; ok=false when there is none (or it is not JSON).
func recMeta(raw string) (map[string]any, bool) {
	var m map[string]any
	if raw == "" || json.Unmarshal([]byte(raw), &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// recStatusOf is the metadata's recording_status, "" when the recording keys are absent. It
// fails when only one of recording_mode / recording_status is present.
func recStatusOf(t *testing.T, m map[string]any) string {
	t.Helper()
	status, hasStatus := m["recording_status"]
	_, hasMode := m["recording_mode"]
	if hasStatus != hasMode {
		t.Fatalf("metadata %v has only one of recording_mode and recording_status", m)
	}
	s, _ := status.(string)
	return s
}

// waitMetadata waits until the room's LiveKit metadata satisfies cond and returns it.
func (e *recEnv) waitMetadata(t *testing.T, roomID, what string, cond func(m map[string]any) bool) map[string]any {
	t.Helper()
	var last map[string]any
	servicetest.Eventually(t, recWithin, "metadata of "+roomID+": "+what, func() bool {
		m, ok := recMeta(e.metadata(t, roomID)[roomID])
		last = m
		return ok && cond(m)
	})
	return last
}

// metadataBarrier changes the room's configuration (which rewrites the whole LiveKit metadata,
// queued after every earlier metadata update of the room) and returns the metadata as that
// update left it: whatever the room's recording status is now, not a moment ago.
func (e *recEnv) metadataBarrier(t *testing.T, owner servicetest.User, roomID string) map[string]any {
	t.Helper()
	e.mu.Lock()
	value := !e.config[roomID]
	e.config[roomID] = value
	e.mu.Unlock()
	res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"configuration": map[string]any{"everyone_can_mute": value}})
	if res.Status != http.StatusOK {
		t.Fatalf("patch room configuration: %d %s", res.Status, res.Body)
	}
	return e.waitMetadata(t, roomID, fmt.Sprintf("everyone_can_mute %v", value), func(m map[string]any) bool {
		cfg, _ := m["configuration"].(map[string]any)
		return cfg["everyone_can_mute"] == value
	})
}

type recRecording struct {
	ID   string `json:"id"`
	Room struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Slug        string `json:"slug"`
		AccessLevel string `json:"access_level"`
	} `json:"room"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	Status    string         `json:"status"`
	Mode      string         `json:"mode"`
	Options   map[string]any `json:"options"`
}

func recDecode(t *testing.T, res servicetest.Response, what string) recRecording {
	t.Helper()
	var r recRecording
	if err := json.Unmarshal(res.Body, &r); err != nil || r.ID == "" {
		t.Fatalf("%s: no recording in %s (%v)", what, res.Body, err)
	}
	return r
}

func recPost(c *servicetest.Client, roomID, action string, body any, headers ...string) servicetest.Response {
	return c.Do(http.MethodPost, servicetest.Path("rooms", roomID, action), body, headers...)
}

func recExpect(t *testing.T, res servicetest.Response, want int, what string) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, res.Status, want, res.Body)
	}
}

// startOK starts a recording and checks the 201 answer.
func (e *recEnv) startOK(t *testing.T, c *servicetest.Client, roomID, mode string, headers ...string) recRecording {
	t.Helper()
	res := recPost(c, roomID, "start-recording", map[string]any{"mode": mode}, headers...)
	recExpect(t, res, http.StatusCreated, "start "+mode)
	r := recDecode(t, res, "start "+mode)
	if r.Status != "active" || r.Mode != mode || r.Room.ID != roomID {
		t.Fatalf("start %s: status %q mode %q room %q, want active / %s / %s", mode, r.Status, r.Mode, r.Room.ID, mode, roomID)
	}
	return r
}

// recordings lists the caller's recordings (one page of 100).
func recList(t *testing.T, c *servicetest.Client) []recRecording {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("recordings")+"?page_size=100", nil)
	recExpect(t, res, http.StatusOK, "list recordings")
	var body struct {
		Count   int            `json:"count"`
		Results []recRecording `json:"results"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.Results == nil {
		t.Fatalf("list recordings: body %s (%v)", res.Body, err)
	}
	return body.Results
}

// recGet is GET recordings/{id}/ by c.
func recGet(t *testing.T, c *servicetest.Client, id string) (recRecording, int) {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("recordings", id), nil)
	if res.Status != http.StatusOK {
		return recRecording{}, res.Status
	}
	return recDecode(t, res, "retrieve recording"), res.Status
}

// waitStatus waits until the recording shows status to c (retrieve and list agree).
func recWaitStatus(t *testing.T, c *servicetest.Client, id, status string, within time.Duration) recRecording {
	t.Helper()
	return recWaitStatusTicking(t, c, id, status, within, func() {})
}

// recWaitReconciled is recWaitStatus for a change that only the room's reconciliation timer
// brings: it moves the node's clock past ROOM_RECONCILE_INTERVAL at each look.
func (e *recEnv) recWaitReconciled(t *testing.T, c *servicetest.Client, id, status string, within time.Duration) recRecording {
	t.Helper()
	return recWaitStatusTicking(t, c, id, status, within, func() { e.n.Clock.Advance(time.Second) })
}

func recWaitStatusTicking(t *testing.T, c *servicetest.Client, id, status string, within time.Duration, tick func()) recRecording {
	t.Helper()
	var last recRecording
	servicetest.Eventually(t, within, "recording "+id+" to be "+status, func() bool {
		tick()
		r, code := recGet(t, c, id)
		last = r
		return code == http.StatusOK && r.Status == status
	})
	i := slices.IndexFunc(recList(t, c), func(r recRecording) bool { return r.ID == id })
	if i < 0 {
		t.Fatalf("recording %s is not in the list", id)
	}
	if got := recList(t, c)[i].Status; got != status {
		t.Fatalf("recording %s is %q in the list, %q when retrieved", id, got, status)
	}
	return last
}

// recPeer is a participant in the LiveKit room, recording what reaches it.
type recPeer struct {
	room     *lksdk.Room
	mu       sync.Mutex
	metadata []string
	data     []string
	probed   atomic.Bool // a probe sent by dataReady arrived
}

// probeTopic marks the data packets dataReady sends; they are not counted as received.
const probeTopic = "meetcoord-test-probe"

// join connects an anonymous participant of a public room with the token the node gives it.
func (e *recEnv) join(t *testing.T, roomID string) *recPeer {
	t.Helper()
	res := e.n.Client("").Do(http.MethodGet, servicetest.Path("rooms", roomID)+"?username=Guest", nil)
	recExpect(t, res, http.StatusOK, "retrieve room")
	lkAccess, _ := res.JSON()["livekit"].(map[string]any)
	token, _ := lkAccess["token"].(string)
	if token == "" {
		t.Fatalf("retrieve room: no livekit token in %s", res.Body)
	}
	p := &recPeer{}
	cb := &lksdk.RoomCallback{OnRoomMetadataChanged: func(m string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.metadata = append(p.metadata, m)
	}}
	cb.OnDataPacket = func(data lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		if u, ok := data.(*lksdk.UserDataPacket); ok {
			if u.Topic == probeTopic {
				p.probed.Store(true)
				return
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			p.data = append(p.data, string(u.Payload))
		}
	}
	room, err := servicetest.JoinLiveKit(e.lk.WSURL, token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatalf("participant could not join: %v", err)
	}
	p.room = room
	t.Cleanup(room.Disconnect)
	return p
}

// statuses is the sequence of recording_status values the participant saw ("" = keys absent),
// consecutive repeats collapsed.
func (p *recPeer) statuses(t *testing.T) []string {
	t.Helper()
	p.mu.Lock()
	raw := append([]string(nil), p.metadata...)
	p.mu.Unlock()
	var out []string
	for _, r := range raw {
		m, ok := recMeta(r)
		if !ok {
			continue
		}
		s := recStatusOf(t, m)
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func (p *recPeer) lastMeta() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.metadata) == 0 {
		return nil
	}
	m, _ := recMeta(p.metadata[len(p.metadata)-1])
	return m
}

func (p *recPeer) waitStatus(t *testing.T, status string) {
	t.Helper()
	servicetest.Eventually(t, recWithin, fmt.Sprintf("participant to see recording_status %q", status), func() bool {
		m := p.lastMeta()
		return m != nil && recStatusOf(t, m) == status
	})
}

func (p *recPeer) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.data...)
}

// dataReady waits until the participant's data channel is open: it opens shortly after
// ConnectToRoom returns, and LiveKit drops reliable data for a participant whose channel is not
// up yet. It sends the participant probes through LiveKit until one arrives.
func (e *recEnv) dataReady(t *testing.T, roomID string, p *recPeer) {
	t.Helper()
	identity := p.room.LocalParticipant.Identity()
	var lastProbe time.Time
	servicetest.Eventually(t, recWithin, "the participant's data channel to open", func() bool {
		if p.probed.Load() {
			return true
		}
		if time.Since(lastProbe) >= 100*time.Millisecond {
			lastProbe = time.Now()
			_, _ = e.rooms.SendData(context.Background(), &livekit.SendDataRequest{
				Room: roomID, Data: []byte("probe"), Kind: livekit.DataPacket_RELIABLE,
				DestinationIdentities: []string{identity}, Topic: proto.String(probeTopic),
			})
		}
		return false
	})
}

// checkEgressRequest checks what LiveKit was asked to record for a recording.
func (e *recEnv) checkEgressRequest(t *testing.T, roomID, recordingID string, audioOnly bool) {
	t.Helper()
	req, _ := e.eg.Last.Load().(*livekit.RoomCompositeEgressRequest)
	if req == nil {
		t.Fatal("the stand-in received no start request")
	}
	if req.GetRoomName() != roomID {
		t.Fatalf("egress for room %q, want %s", req.GetRoomName(), roomID)
	}
	if req.GetAudioOnly() != audioOnly {
		t.Errorf("audio_only %v, want %v", req.GetAudioOnly(), audioOnly)
	}
	wantLayout, wantType, ext := "speaker-light", livekit.EncodedFileType_MP4, "mp4"
	if audioOnly {
		wantLayout, wantType, ext = "", livekit.EncodedFileType_OGG, "ogg"
	}
	if !audioOnly && req.GetLayout() != wantLayout {
		t.Errorf("layout %q, want %q", req.GetLayout(), wantLayout)
	}
	outputs := req.GetFileOutputs()
	if len(outputs) != 1 {
		t.Fatalf("%d file outputs, want 1: %v", len(outputs), req)
	}
	if outputs[0].GetFileType() != wantType {
		t.Errorf("file type %v, want %v", outputs[0].GetFileType(), wantType)
	}
	if want := "recordings/" + recordingID + "." + ext; outputs[0].GetFilepath() != want {
		t.Errorf("filepath %q, want %q", outputs[0].GetFilepath(), want)
	}
	if n := len(req.GetSegmentOutputs()) + len(req.GetStreamOutputs()) + len(req.GetImageOutputs()); n != 0 {
		t.Errorf("%d other outputs, want none", n)
	}
}

// TestRecording covers the lifecycle, the egress request, limit-reached notifications,
// LiveKit failures, idempotency, permissions, validation, visibility and the
// webhook-overtakes-start race, on one node.
func TestRecording(t *testing.T) {
	e := recStart(t, nil)
	owner := e.n.NewUser("owner")

	t.Run("screen recording lifecycle seen by a participant", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		peer := e.join(t, roomID)

		rec := e.startOK(t, owner.Client, roomID, "screen_recording")
		e.checkEgressRequest(t, roomID, rec.ID, false)
		egressID := e.egressOf(t, roomID)
		peer.waitStatus(t, "starting")
		if m := peer.lastMeta(); m["recording_mode"] != "screen_recording" || m["access_level"] != "public" {
			t.Fatalf("metadata %v: want recording_mode screen_recording and access_level public", m)
		}

		e.send(t, "egress_started", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		peer.waitStatus(t, "started")

		recExpect(t, recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "screen_recording"}),
			http.StatusConflict, "second start while active")
		recExpect(t, recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "transcript"}),
			http.StatusConflict, "transcript while a screen recording is active")

		res := recPost(owner.Client, roomID, "stop-recording", nil)
		recExpect(t, res, http.StatusOK, "stop")
		if stopped := recDecode(t, res, "stop"); stopped.ID != rec.ID || stopped.Status != "stopped" {
			t.Fatalf("stop: recording %s status %q, want %s stopped", stopped.ID, stopped.Status, rec.ID)
		}
		e.send(t, "egress_updated", egressID, livekit.EgressStatus_EGRESS_ENDING)
		peer.waitStatus(t, "saving")

		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		peer.waitStatus(t, "")
		if m := peer.lastMeta(); m["access_level"] != "public" || m["configuration"] == nil {
			t.Fatalf("metadata after the egress ended %v: want access_level and configuration kept", m)
		}
		if got, want := peer.statuses(t), []string{"starting", "started", "saving", ""}; !slices.Equal(got[max(slices.Index(got, "starting"), 0):], want) {
			t.Fatalf("participant saw recording_status %q, want %q", got, want)
		}

		saved := recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)
		if saved.Mode != "screen_recording" || saved.Room.ID != roomID || saved.Room.AccessLevel != "public" || saved.Room.Name == "" {
			t.Fatalf("saved recording %+v", saved)
		}
		recExpect(t, recPost(owner.Client, roomID, "stop-recording", nil), http.StatusNotFound, "stop with no active recording")
		// Another recording can be started once the first ended.
		e.startOK(t, owner.Client, roomID, "transcript")
	})

	t.Run("limit reached notifies the room and saves the recording", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		peer := e.join(t, roomID)
		for i, c := range []struct{ mode, notification string }{
			{"transcript", "transcriptionLimitReached"},
			{"screen_recording", "screenRecordingLimitReached"},
		} {
			rec := e.startOK(t, owner.Client, roomID, c.mode)
			e.checkEgressRequest(t, roomID, rec.ID, c.mode == "transcript")
			egressID := e.egressOf(t, roomID)
			e.send(t, "egress_started", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
			peer.waitStatus(t, "started")
			if m := peer.lastMeta(); m["recording_mode"] != c.mode {
				t.Fatalf("metadata %v: want recording_mode %s", m, c.mode)
			}
			e.dataReady(t, roomID, peer)

			e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_LIMIT_REACHED)
			servicetest.Eventually(t, recWithin, "the "+c.notification+" notification", func() bool {
				return len(peer.received()) > i
			})
			var msg map[string]any
			if err := json.Unmarshal([]byte(peer.received()[i]), &msg); err != nil || msg["type"] != c.notification || len(msg) != 1 {
				t.Fatalf("data message %q, want {\"type\":%q}", peer.received()[i], c.notification)
			}
			recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)
			peer.waitStatus(t, "")
		}
		time.Sleep(200 * time.Millisecond)
		if got := peer.received(); len(got) != 2 {
			t.Fatalf("participant received %q, want exactly the two notifications", got)
		}
	})

	t.Run("LiveKit failures", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		e.liveKitRoom(t, roomID)
		startsBefore := e.eg.Starts.Load()
		e.eg.SetFailStart(twirp.InternalError("boom"))
		res := recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "screen_recording"})
		e.eg.SetFailStart(nil)
		recExpect(t, res, http.StatusBadGateway, "start refused by LiveKit")
		if e.eg.Starts.Load() != startsBefore {
			t.Fatal("an egress was created by a failed start")
		}
		i := slices.IndexFunc(recList(t, owner.Client), func(r recRecording) bool { return r.Room.ID == roomID })
		if i < 0 {
			t.Fatalf("the failed recording of room %s is not listed", roomID)
		}
		failed := recList(t, owner.Client)[i]
		if failed.Status != "failed_to_start" {
			t.Fatalf("recording of a refused start is %q, want failed_to_start", failed.Status)
		}
		// The "starting" metadata written before the call is taken back.
		e.waitMetadata(t, roomID, "set, without recording keys", func(m map[string]any) bool {
			return m["access_level"] != nil && recStatusOf(t, m) == ""
		})

		// A new start is possible afterwards.
		rec := e.startOK(t, owner.Client, roomID, "screen_recording")
		if rec.ID == failed.ID {
			t.Fatal("the new start reused the failed recording")
		}
		e.send(t, "egress_started", e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_ACTIVE)
		e.waitMetadata(t, roomID, "recording started", func(m map[string]any) bool { return recStatusOf(t, m) == "started" })

		e.eg.SetFailStop(twirp.InternalError("boom"))
		res = recPost(owner.Client, roomID, "stop-recording", nil)
		e.eg.SetFailStop(nil)
		recExpect(t, res, http.StatusBadGateway, "stop refused by LiveKit")
		if got, _ := recGet(t, owner.Client, rec.ID); got.Status != "failed_to_stop" {
			t.Fatalf("recording whose stop failed is %q, want failed_to_stop", got.Status)
		}
	})

	t.Run("one Idempotency-Key starts one egress", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		before := e.eg.Starts.Load()
		first := e.startOK(t, owner.Client, roomID, "screen_recording", "Idempotency-Key", "rec-key-1")
		second := e.startOK(t, owner.Client, roomID, "screen_recording", "Idempotency-Key", "rec-key-1")
		if first.ID != second.ID {
			t.Fatalf("repeated start answered recording %s, then %s", first.ID, second.ID)
		}
		if got := e.eg.Starts.Load() - before; got != 1 {
			t.Fatalf("%d egresses started for one request, want 1", got)
		}
		// Another key is another request: the room already records.
		recExpect(t, recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "screen_recording"}, "Idempotency-Key", "rec-key-2"),
			http.StatusConflict, "start with another key")
	})

	t.Run("one Idempotency-Key sent concurrently starts one egress", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		// A slow LiveKit makes sure the repeats arrive while the first call is under way.
		e.hook(t, func(*livekit.EgressInfo) { time.Sleep(300 * time.Millisecond) })
		before := e.eg.Starts.Load()
		const senders = 5
		results := make([]servicetest.Response, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				results[i] = recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "transcript"}, "Idempotency-Key", "rec-concurrent")
			})
		}
		wg.Wait()
		ids := map[string]bool{}
		for i, res := range results {
			recExpect(t, res, http.StatusCreated, fmt.Sprintf("concurrent start %d", i))
			ids[recDecode(t, res, "concurrent start").ID] = true
		}
		if len(ids) != 1 {
			t.Fatalf("concurrent repeats answered %d recordings, want 1", len(ids))
		}
		if got := e.eg.Starts.Load() - before; got != 1 {
			t.Fatalf("%d egresses started for one request, want 1", got)
		}
	})

	t.Run("permissions", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		member, admin, stranger := e.n.NewUser("member"), e.n.NewUser("admin"), e.n.NewUser("stranger")
		owner.Grant(roomID, member.ID, "member")
		owner.Grant(roomID, admin.ID, "administrator")
		body := map[string]any{"mode": "screen_recording"}
		before := e.eg.Starts.Load()

		recExpect(t, recPost(e.n.Client(""), roomID, "start-recording", body), http.StatusUnauthorized, "anonymous start")
		recExpect(t, recPost(stranger.Client, roomID, "start-recording", body), http.StatusForbidden, "start without a role")
		recExpect(t, recPost(member.Client, roomID, "start-recording", body), http.StatusForbidden, "member start")
		if e.eg.Starts.Load() != before {
			t.Fatal("a refused caller started an egress")
		}
		rec := e.startOK(t, admin.Client, roomID, "screen_recording")

		recExpect(t, recPost(e.n.Client(""), roomID, "stop-recording", nil), http.StatusUnauthorized, "anonymous stop")
		recExpect(t, recPost(stranger.Client, roomID, "stop-recording", nil), http.StatusForbidden, "stop without a role")
		recExpect(t, recPost(member.Client, roomID, "stop-recording", nil), http.StatusForbidden, "member stop")
		if got, _ := recGet(t, admin.Client, rec.ID); got.Status != "active" {
			t.Fatalf("recording is %q after refused stops, want active", got.Status)
		}

		// Visible to whoever started it and to the room's owner, to nobody else.
		for _, u := range []servicetest.User{admin, owner} {
			if _, code := recGet(t, u.Client, rec.ID); code != http.StatusOK {
				t.Errorf("%s: recordings/%s answered %d, want 200", u.Subject, rec.ID, code)
			}
			if !slices.ContainsFunc(recList(t, u.Client), func(r recRecording) bool { return r.ID == rec.ID }) {
				t.Errorf("%s does not see the recording in recordings/", u.Subject)
			}
		}
		for _, u := range []servicetest.User{stranger, member} {
			if _, code := recGet(t, u.Client, rec.ID); code != http.StatusNotFound {
				t.Errorf("%s: recordings/%s answered %d, want 404", u.Subject, rec.ID, code)
			}
			if slices.ContainsFunc(recList(t, u.Client), func(r recRecording) bool { return r.ID == rec.ID }) {
				t.Errorf("%s sees a recording they neither started nor own the room of", u.Subject)
			}
		}
		recExpect(t, e.n.Client("").Do(http.MethodGet, servicetest.Path("recordings"), nil), http.StatusUnauthorized, "anonymous list")
		recExpect(t, e.n.Client("").Do(http.MethodGet, servicetest.Path("recordings", rec.ID), nil), http.StatusUnauthorized, "anonymous retrieve")

		recExpect(t, recPost(admin.Client, roomID, "stop-recording", nil), http.StatusOK, "administrator stop")
	})

	t.Run("validation", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		before := e.eg.Starts.Load()
		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"missing mode", map[string]any{}, "mode"},
			{"null mode", map[string]any{"mode": nil}, "mode"},
			{"bad mode", map[string]any{"mode": "podcast"}, "mode"},
			{"mode not a string", map[string]any{"mode": 3}, "mode"},
			{"unknown option", map[string]any{"mode": "transcript", "options": map[string]any{"speed": 2}}, "options"},
			{"transcribe not a bool", map[string]any{"mode": "transcript", "options": map[string]any{"transcribe": "yes"}}, "transcribe"},
			{"options not an object", map[string]any{"mode": "transcript", "options": []any{"language"}}, "options"},
		} {
			res := recPost(owner.Client, roomID, "start-recording", c.body)
			recExpect(t, res, http.StatusBadRequest, c.name)
			if !strings.Contains(string(res.Body), c.field) {
				t.Errorf("%s: body %s does not name %q", c.name, res.Body, c.field)
			}
		}
		if e.eg.Starts.Load() != before {
			t.Fatal("an invalid request started an egress")
		}
		// Valid options are kept.
		res := recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "transcript",
			"options": map[string]any{"language": "fr", "transcribe": true, "original_mode": "screen_recording"}})
		recExpect(t, res, http.StatusCreated, "start with options")
		rec := recDecode(t, res, "start with options")
		if rec.Options["language"] != "fr" || rec.Options["transcribe"] != true || rec.Options["original_mode"] != "screen_recording" {
			t.Fatalf("options %v, want them as sent", rec.Options)
		}
	})

	t.Run("webhooks overtaking 100 concurrent starts", func(t *testing.T) {
		const rooms = 100
		unknownBefore := e.n.Metric("meetcoord_webhook_unknown_egress_total")
		ids := make([]string, rooms)
		for i := range ids {
			ids[i] = owner.CreateRoom(map[string]any{"access_level": "public"}).ID
			e.liveKitRoom(t, ids[i])
		}
		var mu sync.Mutex
		sent := map[string]int{} // room -> status of the egress_started posted inside the start call
		e.hook(t, func(info *livekit.EgressInfo) {
			status := e.eg.Send("egress_started", info.GetEgressId(), livekit.EgressStatus_EGRESS_ACTIVE)
			mu.Lock()
			sent[info.GetRoomName()] = status
			mu.Unlock()
		})
		results := make([]servicetest.Response, rooms)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				results[i] = recPost(owner.Client, ids[i], "start-recording", map[string]any{"mode": "screen_recording"})
			})
		}
		wg.Wait()
		for i, res := range results {
			recExpect(t, res, http.StatusCreated, "start in room "+ids[i])
			if r := recDecode(t, res, "start"); r.Status != "active" || r.Room.ID != ids[i] {
				t.Fatalf("start in room %s: %+v", ids[i], r)
			}
			mu.Lock()
			status, ok := sent[ids[i]]
			mu.Unlock()
			if !ok || status != http.StatusOK {
				t.Fatalf("egress_started for room %s, sent before the start returned: sent=%v status %d, want 200", ids[i], ok, status)
			}
		}
		if got := e.n.Metric("meetcoord_webhook_unknown_egress_total") - unknownBefore; got != 0 {
			t.Fatalf("%v egress webhooks counted as unknown, want 0", got)
		}
		var missing []string
		servicetest.Eventually(t, 2*recWithin, "every room's metadata to say started", func() bool {
			meta := e.metadata(t, ids...)
			missing = missing[:0]
			for _, id := range ids {
				m, ok := recMeta(meta[id])
				if !ok || recStatusOf(t, m) != "started" {
					missing = append(missing, id)
				}
			}
			return len(missing) == 0
		})
		if got := e.n.Metric("meetcoord_webhook_unknown_egress_total") - unknownBefore; got != 0 {
			t.Fatalf("%v egress webhooks counted as unknown, want 0", got)
		}
	})
}

// TestRecordingMissedAndRepeatedEvents: late, repeated and lost egress webhooks (rooms.md
// "Idempotence and missed events"), with a fast reconciliation timer.
func TestRecordingMissedAndRepeatedEvents(t *testing.T) {
	e := recStart(t, map[string]string{"ROOM_RECONCILE_INTERVAL": "0.3"})
	owner := e.n.NewUser("owner")

	// started makes a running LiveKit room with an active recording whose egress LiveKit said
	// is active (egress_started).
	started := func(t *testing.T) (roomID string, rec recRecording, egressID string) {
		t.Helper()
		roomID = owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		e.liveKitRoom(t, roomID)
		rec = e.startOK(t, owner.Client, roomID, "screen_recording")
		egressID = e.egressOf(t, roomID)
		e.send(t, "egress_started", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		e.waitMetadata(t, roomID, "recording started", func(m map[string]any) bool { return recStatusOf(t, m) == "started" })
		return roomID, rec, egressID
	}

	t.Run("a lost egress_ended is reconciled", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		e.eg.SetStatus(egressID, livekit.EgressStatus_EGRESS_COMPLETE) // no webhook
		e.recWaitReconciled(t, owner.Client, rec.ID, "saved", 5*time.Second)
		e.waitMetadata(t, roomID, "recording keys removed", func(m map[string]any) bool { return recStatusOf(t, m) == "" })
		e.startOK(t, owner.Client, roomID, "transcript")
	})

	t.Run("egress_updated ACTIVE after ENDING does not bring started back", func(t *testing.T) {
		roomID, _, egressID := started(t)
		e.send(t, "egress_updated", egressID, livekit.EgressStatus_EGRESS_ENDING)
		e.waitMetadata(t, roomID, "recording saving", func(m map[string]any) bool { return recStatusOf(t, m) == "saving" })
		e.send(t, "egress_updated", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		e.send(t, "egress_started", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		if got := recStatusOf(t, e.metadataBarrier(t, owner, roomID)); got != "saving" {
			t.Fatalf("recording_status %q after a late ACTIVE, want saving", got)
		}
	})

	t.Run("a repeated egress_ended changes nothing", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		ended := &livekit.WebhookEvent{Event: "egress_ended", Id: "EV_ended_" + uuid.NewString(), CreatedAt: time.Now().Unix(),
			EgressInfo: &livekit.EgressInfo{EgressId: egressID, RoomName: roomID, Status: livekit.EgressStatus_EGRESS_COMPLETE}}
		e.eg.SetStatus(egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		recExpect(t, e.n.PostWebhook(ended), http.StatusOK, "egress_ended")
		saved := recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)
		e.waitMetadata(t, roomID, "recording keys removed", func(m map[string]any) bool { return recStatusOf(t, m) == "" })
		next := e.startOK(t, owner.Client, roomID, "transcript") // the room records again meanwhile

		e.n.Clock.Advance(10 * time.Millisecond) // a change would show in updated_at
		recExpect(t, e.n.PostWebhook(ended), http.StatusOK, "the same egress_ended again")
		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_ABORTED)
		if again, _ := recGet(t, owner.Client, rec.ID); again.Status != saved.Status || again.UpdatedAt != saved.UpdatedAt {
			t.Fatalf("recording after repeated egress_ended %+v, want unchanged %+v", again, saved)
		}
		if cur, _ := recGet(t, owner.Client, next.ID); cur.Status != "active" {
			t.Fatalf("the room's next recording is %q after the old egress ended again, want active", cur.Status)
		}
		if got := recStatusOf(t, e.metadataBarrier(t, owner, roomID)); got != "starting" {
			t.Fatalf("recording_status %q, want starting (the new recording's)", got)
		}
	})

	t.Run("egress event for an unknown egress", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		before := e.n.Metric("meetcoord_webhook_unknown_egress_total")
		for _, room := range []string{roomID, uuid.NewString()} {
			for _, kind := range []string{"egress_started", "egress_updated", "egress_ended"} {
				res := e.n.PostWebhook(&livekit.WebhookEvent{Event: kind, Id: "EV_" + uuid.NewString(), CreatedAt: time.Now().Unix(),
					EgressInfo: &livekit.EgressInfo{EgressId: "EG_nobody_knows", RoomName: room, Status: livekit.EgressStatus_EGRESS_ACTIVE}})
				recExpect(t, res, http.StatusOK, kind+" of an unknown egress")
			}
		}
		if got := e.n.Metric("meetcoord_webhook_unknown_egress_total") - before; got < 3 {
			t.Errorf("unknown egress counter rose by %v, want at least 3", got)
		}
		e.startOK(t, owner.Client, roomID, "screen_recording")
	})

	// Spec: "Events that would move a recording backwards (late or duplicated webhooks) are
	// ignored." A late egress_updated after egress_ended must not put the keys back.
	t.Run("egress_updated after egress_ended does not bring the recording keys back", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)
		e.send(t, "egress_updated", egressID, livekit.EgressStatus_EGRESS_ACTIVE)
		if m := e.metadataBarrier(t, owner, roomID); recStatusOf(t, m) != "" {
			t.Fatalf("metadata %v after a late egress_updated of an ended egress, want no recording keys", m)
		}
	})

	// Spec: the actor reconciles "while it holds an active recording ... on a slow timer", not
	// only once some webhook happened to arm the timer.
	t.Run("a lost egress_ended is reconciled when no webhook followed the start", func(t *testing.T) {
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID // no LiveKit room: no room webhooks either
		rec := e.startOK(t, owner.Client, roomID, "screen_recording")
		e.eg.SetStatus(e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_COMPLETE) // egress_started and egress_ended lost
		e.recWaitReconciled(t, owner.Client, rec.ID, "saved", 5*time.Second)
	})

	// The usual end of a recording is stop, then egress_ended: losing that egress_ended must
	// not leave the recording "stopped" (and the metadata "saving") for ever.
	t.Run("a lost egress_ended after stop is reconciled", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		recExpect(t, recPost(owner.Client, roomID, "stop-recording", nil), http.StatusOK, "stop")
		e.send(t, "egress_updated", egressID, livekit.EgressStatus_EGRESS_ENDING)
		e.eg.SetStatus(egressID, livekit.EgressStatus_EGRESS_COMPLETE) // no webhook
		e.recWaitReconciled(t, owner.Client, rec.ID, "saved", 5*time.Second)
		e.waitMetadata(t, roomID, "recording keys removed", func(m map[string]any) bool { return recStatusOf(t, m) == "" })
	})

	// rooms.md "Persistence and failover": the actor writes its state on every change; nothing
	// acknowledged is lost. Runs last: it restarts the node.
	t.Run("an active recording survives a restart", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		startsBefore := e.eg.Starts.Load()
		e.n.Restart()
		if res := recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "screen_recording"}); res.Status != http.StatusConflict {
			t.Errorf("start after a restart while a recording is active: %d %s, want 409", res.Status, res.Body)
		}
		if got := e.eg.Starts.Load() - startsBefore; got != 0 {
			t.Errorf("%d more egresses started after the restart, want 0", got)
		}
		e.send(t, "egress_ended", egressID, livekit.EgressStatus_EGRESS_COMPLETE)
		recWaitStatus(t, owner.Client, rec.ID, "saved", 3*time.Second)
		e.waitMetadata(t, roomID, "recording keys removed", func(m map[string]any) bool { return recStatusOf(t, m) == "" })
	})

	// rooms.md: the actor reconciles "on a slow timer and on activation". No webhook reaches the
	// room after the restart: only the activation's own check can find the egress ended.
	t.Run("an egress that ended while the node was down is reconciled on activation", func(t *testing.T) {
		roomID, rec, egressID := started(t)
		e.eg.SetStatus(egressID, livekit.EgressStatus_EGRESS_COMPLETE) // egress_ended lost
		e.n.Restart()
		recExpect(t, owner.Do(http.MethodGet, servicetest.Path("rooms", roomID), nil), http.StatusOK, "retrieve room (activates it)")
		recWaitStatus(t, owner.Client, rec.ID, "saved", 3*time.Second)
	})
}

// TestRecordingDisabled: with RECORDING_ENABLE false, start and stop are refused.
func TestRecordingDisabled(t *testing.T) {
	n := servicetest.StartNode(t, map[string]string{"RECORDING_ENABLE": "false"})
	owner := n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	recExpect(t, recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "screen_recording"}), http.StatusForbidden, "start")
	recExpect(t, recPost(owner.Client, roomID, "stop-recording", nil), http.StatusForbidden, "stop")
	recExpect(t, recPost(n.Client(""), roomID, "start-recording", map[string]any{"mode": "screen_recording"}), http.StatusUnauthorized, "anonymous start")
	if got := recList(t, owner.Client); len(got) != 0 {
		t.Fatalf("recordings %v, want none", got)
	}
}

// TestRecordingOutputToS3: egress output goes to the configured S3-compatible storage, under the
// output folder, in a file named after the recording id.
func TestRecordingOutputToS3(t *testing.T) {
	n, _, egress := servicetest.StartNodeWithEgress(t, map[string]string{
		"RECORDING_ENABLE": "true", "RECORDING_OUTPUT_FOLDER": "meet/records",
		"AWS_STORAGE_BUCKET_NAME": "meet-bucket", "AWS_S3_ENDPOINT_URL": "https://s3.example.org",
		"AWS_S3_REGION_NAME": "eu-west-3", "AWS_S3_ACCESS_KEY_ID": "AKID", "AWS_S3_SECRET_ACCESS_KEY": "s3cr3t",
	})
	owner := n.Client(n.Token("owner", "owner@example.org", "Olive Owner"))
	roomID := owner.CreateRoom(map[string]any{"name": "Archive"}).ID
	res := owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "start-recording"), map[string]any{"mode": "screen_recording"})
	if res.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	req, _ := egress.Last.Load().(*livekit.RoomCompositeEgressRequest)
	if req == nil || len(req.GetFileOutputs()) != 1 {
		t.Fatalf("egress request: %v", req)
	}
	file := req.GetFileOutputs()[0]
	if want := "meet/records/" + res.JSON()["id"].(string) + ".mp4"; file.GetFilepath() != want {
		t.Fatalf("file path %q, want %q", file.GetFilepath(), want)
	}
	s3 := file.GetS3()
	if s3.GetBucket() != "meet-bucket" || s3.GetEndpoint() != "https://s3.example.org" || s3.GetRegion() != "eu-west-3" ||
		s3.GetAccessKey() != "AKID" || s3.GetSecret() != "s3cr3t" || !s3.GetForcePathStyle() {
		t.Fatalf("S3 output %v", s3)
	}
}
