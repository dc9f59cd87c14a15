package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"
)

// EgressStandIn stands in for LiveKit's egress workers, which need a browser and GStreamer and
// cannot run here. It serves the Egress Twirp API (StartRoomCompositeEgress, StopEgress,
// ListEgress) in front of the real livekit-server, and sends egress webhooks to the node signed
// as LiveKit signs them, when and as often as the test says: before the start call has
// returned, twice, out of order, or never.
type EgressStandIn struct {
	livekit.Egress // other methods are not served

	node *Node          // webhooks go to this in-process node, or
	lk   *LiveKitServer // are signed with this server's key for SendTo
	mu   sync.Mutex
	info map[string]*livekit.EgressInfo
	seq  atomic.Int64

	// Set with their setters: a test may change them while an earlier call is still being
	// answered (a start held past the node's timeout), so they are read under mu.
	//
	// beforeStartReturns, when set, runs inside StartRoomCompositeEgress once the egress exists
	// and before the call answers.
	beforeStartReturns func(info *livekit.EgressInfo)
	// failStart / failStop, when set, are returned by those calls.
	failStart, failStop error
	// StopStatus is the status StopEgress answers with (default EGRESS_ENDING).
	StopStatus livekit.EgressStatus

	Starts atomic.Int64 // StartRoomCompositeEgress calls that created an egress
	Last   atomic.Value // *livekit.RoomCompositeEgressRequest of the last start
}

// SetBeforeStartReturns makes f run inside each later start, once the egress exists and before
// the call answers (nil: none).
func (e *EgressStandIn) SetBeforeStartReturns(f func(info *livekit.EgressInfo)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.beforeStartReturns = f
}

// SetFailStart makes later starts fail with err (nil: succeed).
func (e *EgressStandIn) SetFailStart(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failStart = err
}

// SetFailStop makes later stops fail with err (nil: succeed).
func (e *EgressStandIn) SetFailStop(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failStop = err
}

// StartRoomCompositeEgress implements livekit.Egress.
func (e *EgressStandIn) StartRoomCompositeEgress(_ context.Context, req *livekit.RoomCompositeEgressRequest) (*livekit.EgressInfo, error) {
	e.mu.Lock()
	failStart, beforeStartReturns := e.failStart, e.beforeStartReturns
	e.mu.Unlock()
	if failStart != nil {
		return nil, failStart
	}
	e.Last.Store(req)
	info := &livekit.EgressInfo{
		EgressId: fmt.Sprintf("EG_standin_%d", e.seq.Add(1)), RoomName: req.GetRoomName(),
		Status: livekit.EgressStatus_EGRESS_STARTING, StartedAt: time.Now().UnixNano(),
	}
	e.mu.Lock()
	e.info[info.EgressId] = info
	e.mu.Unlock()
	e.Starts.Add(1)
	if beforeStartReturns != nil {
		beforeStartReturns(proto.CloneOf(info))
	}
	return e.snapshot(info.EgressId), nil
}

// StopEgress implements livekit.Egress.
func (e *EgressStandIn) StopEgress(_ context.Context, req *livekit.StopEgressRequest) (*livekit.EgressInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failStop != nil {
		return nil, e.failStop
	}
	info, ok := e.info[req.GetEgressId()]
	if !ok {
		return nil, twirp.NotFoundError("egress not found")
	}
	info.Status = livekit.EgressStatus_EGRESS_ENDING
	if e.StopStatus != 0 {
		info.Status = e.StopStatus
	}
	return proto.CloneOf(info), nil
}

// ListEgress implements livekit.Egress.
func (e *EgressStandIn) ListEgress(_ context.Context, req *livekit.ListEgressRequest) (*livekit.ListEgressResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := &livekit.ListEgressResponse{}
	for id, info := range e.info {
		if req.GetEgressId() == "" || req.GetEgressId() == id {
			res.Items = append(res.Items, proto.CloneOf(info))
		}
	}
	return res, nil
}

// SetStatus changes what LiveKit knows of an egress, without telling the node (a webhook lost).
// An unknown egress id makes a new egress (for webhooks about egresses nobody started).
func (e *EgressStandIn) SetStatus(egressID string, status livekit.EgressStatus) *livekit.EgressInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.info[egressID]
	if !ok {
		info = &livekit.EgressInfo{EgressId: egressID}
		e.info[egressID] = info
	}
	info.Status = status
	return proto.CloneOf(info)
}

func (e *EgressStandIn) snapshot(egressID string) *livekit.EgressInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return proto.CloneOf(e.info[egressID])
}

// Send moves an egress to status and posts the webhook LiveKit would (egress_started,
// egress_updated or egress_ended) to the node; it returns the node's HTTP status.
func (e *EgressStandIn) Send(event, egressID string, status livekit.EgressStatus) int {
	info := e.SetStatus(egressID, status)
	return e.node.PostWebhook(&livekit.WebhookEvent{
		Event: event, Id: fmt.Sprintf("EV_%s_%d", egressID, time.Now().UnixNano()),
		CreatedAt: time.Now().Unix(), EgressInfo: info,
	}).Status
}

// StartEgressStandIn starts a real livekit-server and the egress stand-in in front of it, for
// nodes that run as processes: they take the returned API URL as LIVEKIT_API_URL (and the
// server's key and secret); the test posts egress webhooks to any node with SendTo.
func StartEgressStandIn(t testing.TB) (*EgressStandIn, *LiveKitServer, string) {
	t.Helper()
	lk := StartLiveKit(t, LiveKitOptions{})
	e := &EgressStandIn{info: map[string]*livekit.EgressInfo{}, lk: lk}
	return e, lk, startEgressProxy(t, lk, e)
}

// SendTo is Send to the node at baseURL, signed with the stand-in's LiveKit key.
func (e *EgressStandIn) SendTo(t testing.TB, baseURL, event, egressID string, status livekit.EgressStatus) int {
	t.Helper()
	info := e.SetStatus(egressID, status)
	body := WebhookBody(t, &livekit.WebhookEvent{
		Event: event, Id: fmt.Sprintf("EV_%s_%d", egressID, time.Now().UnixNano()),
		CreatedAt: time.Now().Unix(), EgressInfo: info,
	})
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/api/v1.0/rooms/webhooks-livekit/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/webhook+json")
	req.Header.Set("Authorization", SignWebhook(t, body, e.lk.Key, e.lk.Secret, 5*time.Minute))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s to %s: %v", event, baseURL, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// startEgressProxy serves the stand-in's Egress API and passes everything else to LiveKit.
func startEgressProxy(t interface {
	Cleanup(func())
}, lk *LiveKitServer, standIn *EgressStandIn) string {
	target, _ := url.Parse(lk.URL)
	toLiveKit := httputil.NewSingleHostReverseProxy(target)
	egress := livekit.NewEgressServer(standIn)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, egress.PathPrefix()) {
			egress.ServeHTTP(w, r)
			return
		}
		toLiveKit.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	return server.URL
}
