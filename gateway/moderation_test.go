package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Black-box tests of the in-meeting actions (api.md "In-meeting actions", rooms.md "Subtitles")
// against a real livekit-server: participants join over WebRTC with the tokens the node gives
// them, and every effect is checked on LiveKit's own view (RoomService, AgentDispatchService).
// Each top-level test runs one node and one LiveKit; its cases use rooms of their own.

func TestMain(m *testing.M) {
	// The SDK's participants log every WebRTC state change; tests read only their failures.
	lksdk.SetLogger(protologger.GetDiscardLogger())
	os.Exit(m.Run())
}

const (
	modWithin           = 15 * time.Second // bound for effects that propagate asynchronously
	modNotAuthenticated = "Authentication credentials were not provided."
	modAgentName        = "multi-user-transcriber"
)

// modEnv is a node talking to a real LiveKit, and LiveKit's own service clients.
type modEnv struct {
	n        *servicetest.Node
	lk       *servicetest.LiveKitServer
	rooms    *lksdk.RoomServiceClient
	dispatch *lksdk.AgentDispatchClient
}

func modStart(t *testing.T) *modEnv {
	t.Helper()
	n, lk := servicetest.StartNodeWithLiveKit(t, nil)
	return &modEnv{
		n: n, lk: lk,
		rooms:    lksdk.NewRoomServiceClient(lk.URL, lk.Key, lk.Secret),
		dispatch: lksdk.NewAgentDispatchServiceClient(lk.URL, lk.Key, lk.Secret),
	}
}

// liveKitToken is the LiveKit token GET rooms/{id}/ gives a caller who may join directly.
func (e *modEnv) liveKitToken(t *testing.T, c *servicetest.Client, roomID, username string) string {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("rooms", roomID)+"?username="+username, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("retrieve room %s: %d %s", roomID, res.Status, res.Body)
	}
	var body struct {
		LiveKit *struct {
			Room  string `json:"room"`
			Token string `json:"token"`
		} `json:"livekit"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.LiveKit == nil || body.LiveKit.Token == "" {
		t.Fatalf("retrieve room %s: no livekit token in %s (%v)", roomID, res.Body, err)
	}
	if body.LiveKit.Room != roomID {
		t.Fatalf("livekit room %q, want %s", body.LiveKit.Room, roomID)
	}
	return body.LiveKit.Token
}

// modPeer is a participant connected to LiveKit over WebRTC.
type modPeer struct {
	room     *lksdk.Room
	identity string
	trackSID string // published microphone track, "" when none
}

// join connects a participant with a token; withMic publishes an audio track too.
func (e *modEnv) join(token string, withMic bool) (*modPeer, error) {
	room, err := servicetest.JoinLiveKit(e.lk.WSURL, token, &lksdk.RoomCallback{})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	p := &modPeer{room: room, identity: room.LocalParticipant.Identity()}
	if withMic {
		track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
		if err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("audio track: %w", err)
		}
		// LiveKit lists a published track only once its media arrives.
		if err := track.StartWrite(&modSilence{}, nil); err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("audio samples: %w", err)
		}
		pub, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE})
		if err != nil {
			room.Disconnect()
			return nil, fmt.Errorf("publish: %w", err)
		}
		p.trackSID = pub.SID()
	}
	return p, nil
}

// modSilence is a microphone that says nothing: Opus silence frames, 20 ms apart.
type modSilence struct{ lksdk.BaseSampleProvider }

func (*modSilence) NextSample(context.Context) (media.Sample, error) {
	return media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond}, nil
}

// waitPublished waits until LiveKit lists a peer's microphone track.
func (e *modEnv) waitPublished(t *testing.T, roomID string, p *modPeer) {
	t.Helper()
	servicetest.Eventually(t, modWithin, "LiveKit to list "+p.identity+"'s track", func() bool {
		info, ok := e.participant(t, roomID, p.identity)
		if !ok {
			t.Fatalf("participant %s is not in room %s", p.identity, roomID)
		}
		return slices.ContainsFunc(info.GetTracks(), func(tr *livekit.TrackInfo) bool { return tr.GetSid() == p.trackSID })
	})
}

// joinAnonymous connects len(names) anonymous participants of a public room concurrently, each
// with the token the node gives them.
func (e *modEnv) joinAnonymous(t *testing.T, roomID string, withMic bool, names ...string) []*modPeer {
	t.Helper()
	tokens := make([]string, len(names))
	for i, name := range names {
		tokens[i] = e.liveKitToken(t, e.n.Client(""), roomID, name)
	}
	peers := make([]*modPeer, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() { peers[i], errs[i] = e.join(tokens[i], withMic) })
	}
	wg.Wait()
	for i, p := range peers {
		if p != nil {
			t.Cleanup(p.room.Disconnect)
		}
		if errs[i] != nil {
			t.Fatalf("participant %s: %v", names[i], errs[i])
		}
		if _, err := uuid.Parse(p.identity); err != nil {
			t.Fatalf("anonymous participant %s has identity %q, want a UUID", names[i], p.identity)
		}
	}
	if withMic {
		for _, p := range peers {
			e.waitPublished(t, roomID, p)
		}
	}
	return peers
}

// participant is LiveKit's view of a participant; ok=false when it is not in the room.
func (e *modEnv) participant(t *testing.T, roomID, identity string) (*livekit.ParticipantInfo, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := e.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: roomID})
	if err != nil {
		t.Fatalf("list participants of %s: %v", roomID, err)
	}
	for _, p := range res.GetParticipants() {
		if p.GetIdentity() == identity {
			return p, true
		}
	}
	return nil, false
}

func (e *modEnv) trackMuted(t *testing.T, roomID, identity, trackSID string) bool {
	t.Helper()
	p, ok := e.participant(t, roomID, identity)
	if !ok {
		t.Fatalf("participant %s is not in room %s", identity, roomID)
	}
	for _, tr := range p.GetTracks() {
		if tr.GetSid() == trackSID {
			return tr.GetMuted()
		}
	}
	t.Fatalf("participant %s has no track %s (tracks %v)", identity, trackSID, p.GetTracks())
	return false
}

// dispatches lists the transcriber's dispatches in a running LiveKit room (LiveKit adds a
// dispatch of its own, without an agent name, to every room: it is not counted).
func (e *modEnv) dispatches(t *testing.T, roomID string) []*livekit.AgentDispatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := e.dispatch.ListDispatch(ctx, &livekit.ListAgentDispatchRequest{Room: roomID})
	if err != nil {
		t.Fatalf("list agent dispatches of %s: %v", roomID, err)
	}
	var out []*livekit.AgentDispatch
	for _, d := range res.GetAgentDispatches() {
		if d.GetAgentName() != "" {
			out = append(out, d)
		}
	}
	return out
}

func (e *modEnv) expectOneDispatch(t *testing.T, roomID string) *livekit.AgentDispatch {
	t.Helper()
	d := e.dispatches(t, roomID)
	if len(d) != 1 {
		t.Fatalf("room %s has %d agent dispatches, want exactly 1: %v", roomID, len(d), d)
	}
	if d[0].GetAgentName() != modAgentName || d[0].GetRoom() != roomID {
		t.Fatalf("dispatch %v; want agent %q in room %s", d[0], modAgentName, roomID)
	}
	return d[0]
}

func modPost(c *servicetest.Client, roomID, action string, body any, headers ...string) servicetest.Response {
	return c.Do(http.MethodPost, servicetest.Path("rooms", roomID, action), body, headers...)
}

func modStatus(t *testing.T, res servicetest.Response, want int, what string) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, res.Status, want, res.Body)
	}
	if want >= 400 {
		if d, _ := res.JSON()["detail"].(string); d == "" {
			t.Fatalf("%s: error without a detail string: %s", what, res.Body)
		}
	}
}

func modSuccess(t *testing.T, res servicetest.Response, what string) {
	t.Helper()
	modStatus(t, res, http.StatusOK, what)
	if s, _ := res.JSON()["status"].(string); s != "success" {
		t.Fatalf("%s: body %s, want status success", what, res.Body)
	}
}

// modFieldError asserts a 400 whose body names field.
func modFieldError(t *testing.T, res servicetest.Response, field, what string) {
	t.Helper()
	modStatus(t, res, http.StatusBadRequest, what)
	msgs, ok := res.JSON()[field].([]any)
	if !ok || len(msgs) == 0 {
		t.Fatalf("%s: no messages for %q in %s", what, field, res.Body)
	}
}

// modLiveKitJWT writes a LiveKit access token by hand (the protocol library cannot mint expired
// ones): claims as LiveKit writes them, valid from issued to expires.
func modLiveKitJWT(t *testing.T, key, secret, roomID, identity string, issued, expires time.Time) string {
	t.Helper()
	claims := jwt.MapClaims{
		"iss":   key,
		"sub":   identity,
		"nbf":   issued.Unix(),
		"iat":   issued.Unix(),
		"exp":   expires.Unix(),
		"name":  identity,
		"video": map[string]any{"room": roomID, "roomJoin": true},
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestModerationPermissions: who may mute, update and remove a participant (api.md: privileged
// users; for mute also a LiveKit participant of this room when everyone_can_mute), with the
// effect checked on LiveKit for the allowed callers and its absence for the refused ones.
func TestModerationPermissions(t *testing.T) {
	e := modStart(t)
	owner, admin, member, stranger := e.n.NewUser("owner"), e.n.NewUser("admin"), e.n.NewUser("member"), e.n.NewUser("stranger")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	owner.Grant(roomID, admin.ID, "administrator")
	owner.Grant(roomID, member.ID, "member")
	otherRoom := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	// Participants may mute by default (frontend.md): this room keeps muting to privileged users
	// until everyone_can_mute is turned on below.
	modStatus(t, owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"configuration": map[string]any{"everyone_can_mute": false}}),
		http.StatusOK, "disable everyone_can_mute")

	anonymous := e.n.Client("")
	participantHere := e.n.Client(e.liveKitToken(t, e.n.Client(""), roomID, "Here"))
	participantElsewhere := e.n.Client(e.liveKitToken(t, e.n.Client(""), otherRoom, "Elsewhere"))

	// victim is the target of every refused call; the others of one allowed call each.
	peers := e.joinAnonymous(t, roomID, true, "Victim", "MutedByAdmin", "MutedByOwner", "MutedByParticipant", "RemovedByAdmin", "RemovedByOwner")
	victim, mutedByAdmin, mutedByOwner, mutedByParticipant, removedByAdmin, removedByOwner := peers[0], peers[1], peers[2], peers[3], peers[4], peers[5]
	updated := mutedByAdmin

	muteBody := func(p *modPeer) map[string]any {
		return map[string]any{"participant_identity": p.identity, "track_sid": p.trackSID}
	}
	updateBody := func(p *modPeer, metadata string) map[string]any {
		return map[string]any{"participant_identity": p.identity, "metadata": metadata}
	}
	removeBody := func(p *modPeer) map[string]any { return map[string]any{"participant_identity": p.identity} }

	refused := []struct {
		name   string
		caller *servicetest.Client
		want   int
	}{
		{"anonymous", anonymous, http.StatusUnauthorized},
		{"authenticated without role", stranger.Client, http.StatusForbidden},
		{"member", member.Client, http.StatusForbidden},
		{"livekit participant of this room with everyone_can_mute false", participantHere, http.StatusForbidden},
		{"livekit participant of another room", participantElsewhere, http.StatusForbidden},
	}
	actions := []struct {
		action string
		body   map[string]any
	}{
		{"mute-participant", muteBody(victim)},
		{"update-participant", updateBody(victim, "refused")},
		{"remove-participant", removeBody(victim)},
	}
	for _, a := range actions {
		for _, tc := range refused {
			t.Run(a.action+"/"+tc.name, func(t *testing.T) {
				res := modPost(tc.caller, roomID, a.action, a.body)
				modStatus(t, res, tc.want, a.action)
				if tc.want == http.StatusUnauthorized && res.JSON()["detail"] != modNotAuthenticated {
					t.Errorf("401 detail %q, want %q", res.JSON()["detail"], modNotAuthenticated)
				}
			})
		}
	}

	t.Run("mute-participant/administrator", func(t *testing.T) {
		modSuccess(t, modPost(admin.Client, roomID, "mute-participant", muteBody(mutedByAdmin)), "mute by admin")
		servicetest.Eventually(t, modWithin, "track muted by the administrator", func() bool {
			return e.trackMuted(t, roomID, mutedByAdmin.identity, mutedByAdmin.trackSID)
		})
	})
	t.Run("mute-participant/owner", func(t *testing.T) {
		modSuccess(t, modPost(owner.Client, roomID, "mute-participant", muteBody(mutedByOwner)), "mute by owner")
		servicetest.Eventually(t, modWithin, "track muted by the owner", func() bool {
			return e.trackMuted(t, roomID, mutedByOwner.identity, mutedByOwner.trackSID)
		})
	})
	for _, tc := range []struct{ name, metadata string }{{"administrator", "set-by-admin"}, {"owner", "set-by-owner"}} {
		caller := map[string]servicetest.User{"administrator": admin, "owner": owner}[tc.name]
		t.Run("update-participant/"+tc.name, func(t *testing.T) {
			modSuccess(t, modPost(caller.Client, roomID, "update-participant", updateBody(updated, tc.metadata)), "update by "+tc.name)
			servicetest.Eventually(t, modWithin, "metadata set by the "+tc.name, func() bool {
				p, ok := e.participant(t, roomID, updated.identity)
				return ok && p.GetMetadata() == tc.metadata
			})
		})
	}
	t.Run("remove-participant/administrator", func(t *testing.T) {
		modSuccess(t, modPost(admin.Client, roomID, "remove-participant", removeBody(removedByAdmin)), "remove by admin")
		servicetest.Eventually(t, modWithin, "participant removed by the administrator", func() bool {
			_, ok := e.participant(t, roomID, removedByAdmin.identity)
			return !ok
		})
	})
	t.Run("remove-participant/owner", func(t *testing.T) {
		modSuccess(t, modPost(owner.Client, roomID, "remove-participant", removeBody(removedByOwner)), "remove by owner")
		servicetest.Eventually(t, modWithin, "participant removed by the owner", func() bool {
			_, ok := e.participant(t, roomID, removedByOwner.identity)
			return !ok
		})
	})

	// everyone_can_mute lets participants of this room mute, and nothing more.
	res := owner.Do(http.MethodPatch, servicetest.Path("rooms", roomID), map[string]any{"configuration": map[string]any{"everyone_can_mute": true}})
	modStatus(t, res, http.StatusOK, "enable everyone_can_mute")

	t.Run("mute-participant/livekit participant of this room with everyone_can_mute", func(t *testing.T) {
		modSuccess(t, modPost(participantHere, roomID, "mute-participant", muteBody(mutedByParticipant)), "mute by participant")
		servicetest.Eventually(t, modWithin, "track muted by a participant", func() bool {
			return e.trackMuted(t, roomID, mutedByParticipant.identity, mutedByParticipant.trackSID)
		})
	})
	for _, tc := range []struct {
		name   string
		caller *servicetest.Client
		action string
		body   map[string]any
	}{
		{"mute-participant/livekit participant of another room with everyone_can_mute", participantElsewhere, "mute-participant", muteBody(victim)},
		{"update-participant/livekit participant of this room with everyone_can_mute", participantHere, "update-participant", updateBody(victim, "refused")},
		{"remove-participant/livekit participant of this room with everyone_can_mute", participantHere, "remove-participant", removeBody(victim)},
		{"mute-participant/member with everyone_can_mute", member.Client, "mute-participant", muteBody(victim)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			modStatus(t, modPost(tc.caller, roomID, tc.action, tc.body), http.StatusForbidden, tc.action)
		})
	}

	t.Run("refused calls left the victim alone", func(t *testing.T) {
		p, ok := e.participant(t, roomID, victim.identity)
		if !ok {
			t.Fatal("victim was removed by a refused call")
		}
		if p.GetMetadata() != "" {
			t.Errorf("victim metadata %q after refused updates", p.GetMetadata())
		}
		if e.trackMuted(t, roomID, victim.identity, victim.trackSID) {
			t.Error("victim's track muted by a refused call")
		}
	})
}

// TestModerationValidation: request bodies are checked before anything reaches LiveKit; an
// unknown participant is a 404.
func TestModerationValidation(t *testing.T) {
	e := modStart(t)
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	peer := e.joinAnonymous(t, roomID, true, "Target")[0]
	id := peer.identity

	cases := []struct {
		name, action string
		body         any
		field        string
	}{
		{"mute without participant_identity", "mute-participant", map[string]any{"track_sid": peer.trackSID}, "participant_identity"},
		{"mute with blank participant_identity", "mute-participant", map[string]any{"participant_identity": "", "track_sid": peer.trackSID}, "participant_identity"},
		{"mute with empty body", "mute-participant", nil, "participant_identity"},
		{"mute without track_sid", "mute-participant", map[string]any{"participant_identity": id}, "track_sid"},
		{"mute with track_sid not a string", "mute-participant", map[string]any{"participant_identity": id, "track_sid": 12}, "track_sid"},
		{"update without participant_identity", "update-participant", map[string]any{"metadata": "m"}, "participant_identity"},
		{"update with nothing to change", "update-participant", map[string]any{"participant_identity": id}, "non_field_errors"},
		{"update with only nulls", "update-participant", map[string]any{"participant_identity": id, "metadata": nil, "name": nil, "attributes": nil, "permission": nil}, "non_field_errors"},
		{"update with unknown permission key", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"can_fly": true}}, "permission"},
		{"update with forbidden permission hidden", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"hidden": true}}, "permission"},
		{"update with forbidden permission recorder", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"recorder": true}}, "permission"},
		{"update with forbidden permission agent", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"agent": false}}, "permission"},
		{"update with invalid source", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"can_publish_sources": []string{"microphone", "hologram"}}}, "permission"},
		{"update with sources not a list", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"can_publish_sources": "microphone"}}, "permission"},
		{"update with permission flag not a boolean", "update-participant", map[string]any{"participant_identity": id, "permission": map[string]any{"can_publish": "no"}}, "permission"},
		{"update with permission not an object", "update-participant", map[string]any{"participant_identity": id, "permission": []string{"can_publish"}}, "permission"},
		{"update with attribute not a string", "update-participant", map[string]any{"participant_identity": id, "attributes": map[string]any{"a": 1}}, "attributes"},
		{"update with attributes a list", "update-participant", map[string]any{"participant_identity": id, "attributes": []string{"a"}}, "attributes"},
		{"update with attributes a string", "update-participant", map[string]any{"participant_identity": id, "attributes": "a=b"}, "attributes"},
		{"update with valid name and forbidden permission", "update-participant", map[string]any{"participant_identity": id, "name": "Not Applied", "permission": map[string]any{"hidden": true}}, "permission"},
		{"remove without participant_identity", "remove-participant", map[string]any{}, "participant_identity"},
		{"remove with participant_identity not a string", "remove-participant", map[string]any{"participant_identity": 7}, "participant_identity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			modFieldError(t, modPost(owner.Client, roomID, tc.action, tc.body), tc.field, tc.name)
		})
	}

	t.Run("invalid bodies changed nothing", func(t *testing.T) {
		p, ok := e.participant(t, roomID, id)
		if !ok {
			t.Fatal("target left the room")
		}
		if p.GetName() == "Not Applied" || p.GetPermission().GetHidden() {
			t.Errorf("a refused update was applied: name %q, permission %v", p.GetName(), p.GetPermission())
		}
		if e.trackMuted(t, roomID, id, peer.trackSID) {
			t.Error("track muted by an invalid request")
		}
	})

	unknown := "nobody-" + uuid.NewString()
	for _, tc := range []struct {
		action string
		body   map[string]any
	}{
		{"mute-participant", map[string]any{"participant_identity": unknown, "track_sid": peer.trackSID}},
		{"update-participant", map[string]any{"participant_identity": unknown, "metadata": "m"}},
		{"remove-participant", map[string]any{"participant_identity": unknown}},
	} {
		t.Run(tc.action+" of an unknown participant", func(t *testing.T) {
			modStatus(t, modPost(owner.Client, roomID, tc.action, tc.body), http.StatusNotFound, tc.action)
		})
	}

	t.Run("unknown room", func(t *testing.T) {
		for _, action := range []string{"mute-participant", "update-participant", "remove-participant"} {
			res := modPost(owner.Client, uuid.NewString(), action, map[string]any{"participant_identity": id, "track_sid": peer.trackSID, "metadata": "m"})
			modStatus(t, res, http.StatusNotFound, action+" in an unknown room")
		}
	})
}

// TestModerationEffects: what mute, update and remove do on LiveKit, and that a removed guest
// must knock again.
func TestModerationEffects(t *testing.T) {
	e := modStart(t)
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	peers := e.joinAnonymous(t, roomID, true, "Muted", "Updated")
	muted, updated := peers[0], peers[1]

	t.Run("mute sets the track muted", func(t *testing.T) {
		if e.trackMuted(t, roomID, muted.identity, muted.trackSID) {
			t.Fatal("track muted before the call")
		}
		res := modPost(owner.Client, roomID, "mute-participant", map[string]any{"participant_identity": muted.identity, "track_sid": muted.trackSID})
		modSuccess(t, res, "mute")
		servicetest.Eventually(t, modWithin, "the track muted on LiveKit", func() bool {
			return e.trackMuted(t, roomID, muted.identity, muted.trackSID)
		})
	})

	t.Run("update sets name, metadata, attributes and permission", func(t *testing.T) {
		res := modPost(owner.Client, roomID, "update-participant", map[string]any{
			"participant_identity": updated.identity,
			"name":                 "Renamed",
			"metadata":             `{"hand":"raised"}`,
			"attributes":           map[string]string{"team": "blue"},
			"permission":           map[string]any{"can_subscribe": true, "can_publish": false, "can_publish_sources": []string{"microphone"}},
		})
		modSuccess(t, res, "update")
		var last *livekit.ParticipantInfo
		servicetest.Eventually(t, modWithin, "the update applied on LiveKit", func() bool {
			p, ok := e.participant(t, roomID, updated.identity)
			if !ok {
				t.Fatal("updated participant left the room")
			}
			last = p
			perm := p.GetPermission()
			return p.GetName() == "Renamed" && p.GetMetadata() == `{"hand":"raised"}` &&
				p.GetAttributes()["team"] == "blue" && perm.GetCanSubscribe() && !perm.GetCanPublish() &&
				slices.Equal(perm.GetCanPublishSources(), []livekit.TrackSource{livekit.TrackSource_MICROPHONE})
		})
		if last.GetAttributes()["room_role"] == "" {
			t.Errorf("attributes set by the token were lost: %v", last.GetAttributes())
		}
	})

	t.Run("remove disconnects the participant and clears their lobby entry", func(t *testing.T) {
		restricted := owner.CreateRoom(map[string]any{"access_level": "restricted"}).ID
		// The owner stays in the room throughout, so that the LiveKit room does not finish
		// (which would clear the lobby by itself).
		ownerPeer, err := e.join(e.liveKitToken(t, owner.Client, restricted, ""), false)
		if err != nil {
			t.Fatalf("owner: %v", err)
		}
		t.Cleanup(ownerPeer.room.Disconnect)

		guest := e.n.Client("")
		knock := func() (status, id, token string) {
			t.Helper()
			res := guest.Do(http.MethodPost, servicetest.Path("rooms", restricted, "request-entry"), map[string]any{"username": "Guest"})
			modStatus(t, res, http.StatusOK, "request-entry")
			var body struct {
				ID      string `json:"id"`
				Status  string `json:"status"`
				LiveKit *struct {
					Token string `json:"token"`
				} `json:"livekit"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil {
				t.Fatalf("request-entry body %s: %v", res.Body, err)
			}
			if (body.Status == "accepted") != (body.LiveKit != nil) {
				t.Fatalf("request-entry %s: livekit present only when accepted", res.Body)
			}
			if body.LiveKit != nil {
				token = body.LiveKit.Token
			}
			return body.Status, body.ID, token
		}
		status, entryID, _ := knock()
		if status != "waiting" {
			t.Fatalf("first knock: %q, want waiting", status)
		}
		res := owner.Do(http.MethodPost, servicetest.Path("rooms", restricted, "enter"), map[string]any{"participant_id": entryID, "allow_entry": true})
		modStatus(t, res, http.StatusOK, "admit the guest")
		status, _, token := knock()
		if status != "accepted" || token == "" {
			t.Fatalf("knock after admission: %q, want accepted with a token", status)
		}
		guestPeer, err := e.join(token, true)
		if err != nil {
			t.Fatalf("guest: %v", err)
		}
		t.Cleanup(guestPeer.room.Disconnect)
		if guestPeer.identity != entryID {
			t.Fatalf("guest's LiveKit identity %q, want their lobby id %s", guestPeer.identity, entryID)
		}
		e.waitPublished(t, restricted, guestPeer)

		modSuccess(t, modPost(owner.Client, restricted, "remove-participant", map[string]any{"participant_identity": guestPeer.identity}), "remove guest")
		servicetest.Eventually(t, modWithin, "the guest gone from LiveKit", func() bool {
			_, ok := e.participant(t, restricted, guestPeer.identity)
			return !ok
		})
		if _, ok := e.participant(t, restricted, ownerPeer.identity); !ok {
			t.Fatal("the owner left too: the lobby check below would prove nothing")
		}
		status, _, token = knock()
		if status != "waiting" || token != "" {
			t.Fatalf("removed guest's next request-entry: %q (token %v), want waiting: they must knock again", status, token != "")
		}
	})
}

// TestModerationIdempotency: a retried remove (same Idempotency-Key) gets the first answer
// instead of LiveKit's 404 for a participant who is gone; the key is the caller's own.
func TestModerationIdempotency(t *testing.T) {
	e := modStart(t)
	owner, admin := e.n.NewUser("owner"), e.n.NewUser("admin")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	owner.Grant(roomID, admin.ID, "administrator")
	peers := e.joinAnonymous(t, roomID, false, "Removed", "Stays")
	removed, stays := peers[0], peers[1]
	key := "remove-" + uuid.NewString()

	first := modPost(owner.Client, roomID, "remove-participant", map[string]any{"participant_identity": removed.identity}, "Idempotency-Key", key)
	modSuccess(t, first, "first remove")
	servicetest.Eventually(t, modWithin, "the participant gone from LiveKit", func() bool {
		_, ok := e.participant(t, roomID, removed.identity)
		return !ok
	})

	t.Run("same key repeats the first answer", func(t *testing.T) {
		second := modPost(owner.Client, roomID, "remove-participant", map[string]any{"participant_identity": removed.identity}, "Idempotency-Key", key)
		if second.Status != first.Status || string(second.Body) != string(first.Body) {
			t.Fatalf("retried remove: %d %s; want the first answer %d %s", second.Status, second.Body, first.Status, first.Body)
		}
	})

	t.Run("without the key a second remove is a 404", func(t *testing.T) {
		res := modPost(owner.Client, roomID, "remove-participant", map[string]any{"participant_identity": removed.identity})
		modStatus(t, res, http.StatusNotFound, "remove again")
	})

	t.Run("another caller's same key is not the first caller's request", func(t *testing.T) {
		res := modPost(admin.Client, roomID, "remove-participant", map[string]any{"participant_identity": stays.identity}, "Idempotency-Key", key)
		modSuccess(t, res, "admin remove with the owner's key")
		servicetest.Eventually(t, modWithin, "the second participant gone from LiveKit", func() bool {
			_, ok := e.participant(t, roomID, stays.identity)
			return !ok
		})
	})
}

// TestStartSubtitle: a participant of the room (by their LiveKit token) dispatches the
// transcriber once per LiveKit room session.
func TestStartSubtitle(t *testing.T) {
	e := modStart(t)
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	otherRoom := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	// One participant is connected (the LiveKit room runs); the caller need not be.
	e.joinAnonymous(t, roomID, false, "Present")
	firstClient := e.n.Client(e.liveKitToken(t, e.n.Client(""), roomID, "Caller"))

	t.Run("no dispatch before the start", func(t *testing.T) {
		if d := e.dispatches(t, roomID); len(d) != 0 {
			t.Fatalf("dispatches before any start: %v", d)
		}
	})

	var dispatchID string
	t.Run("participant of this room starts subtitles", func(t *testing.T) {
		res := modPost(firstClient, roomID, "start-subtitle", nil)
		modStatus(t, res, http.StatusOK, "start-subtitle")
		if got := res.JSON(); len(got) != 1 || got["status"] != "success" {
			t.Fatalf("start-subtitle body %s, want {\"status\":\"success\"}", res.Body)
		}
		dispatchID = e.expectOneDispatch(t, roomID).GetId()
	})

	t.Run("second start by the same participant: no second dispatch", func(t *testing.T) {
		modSuccess(t, modPost(firstClient, roomID, "start-subtitle", nil), "second start")
		if d := e.expectOneDispatch(t, roomID); d.GetId() != dispatchID {
			t.Fatalf("dispatch %s replaced by %s", dispatchID, d.GetId())
		}
	})

	t.Run("start by another participant: no second dispatch", func(t *testing.T) {
		other := e.n.Client(e.liveKitToken(t, owner.Client, roomID, ""))
		modSuccess(t, modPost(other, roomID, "start-subtitle", nil), "start by another participant")
		e.expectOneDispatch(t, roomID)
	})

	t.Run("concurrent starts dispatch once", func(t *testing.T) {
		fresh := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		e.joinAnonymous(t, fresh, false, "Present")
		var wg sync.WaitGroup
		statuses := make([]int, 5)
		for i := range statuses {
			c := e.n.Client(e.liveKitToken(t, e.n.Client(""), fresh, fmt.Sprintf("P%d", i)))
			wg.Go(func() { statuses[i] = modPost(c, fresh, "start-subtitle", nil).Status })
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Errorf("concurrent start %d: %d", i, s)
			}
		}
		e.expectOneDispatch(t, fresh)
	})

	t.Run("token of another room is 403", func(t *testing.T) {
		c := e.n.Client(e.liveKitToken(t, e.n.Client(""), otherRoom, "Elsewhere"))
		modStatus(t, modPost(c, roomID, "start-subtitle", nil), http.StatusForbidden, "start with another room's token")
	})

	t.Run("token of another room with a key already used in this room is 403", func(t *testing.T) {
		// Idempotency keys are the caller's own: a participant of another room must not get
		// the answer remembered for this room's participant.
		// The first start of a room is the one whose answer is remembered.
		fresh := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		e.joinAnonymous(t, fresh, false, "Present")
		key := "subtitle-" + uuid.NewString()
		here := e.n.Client(e.liveKitToken(t, e.n.Client(""), fresh, "Here"))
		modSuccess(t, modPost(here, fresh, "start-subtitle", nil, "Idempotency-Key", key), "first start with a key")
		e.expectOneDispatch(t, fresh)
		elsewhere := e.n.Client(e.liveKitToken(t, e.n.Client(""), otherRoom, "Elsewhere"))
		modStatus(t, modPost(elsewhere, fresh, "start-subtitle", nil, "Idempotency-Key", key), http.StatusForbidden, "another room's token with the same key")
	})

	t.Run("hand-minted token of this room is accepted", func(t *testing.T) {
		// Control for the expired case: the same minting, still valid.
		now := time.Now()
		token := modLiveKitJWT(t, e.lk.Key, e.lk.Secret, roomID, "minted-"+uuid.NewString()[:8], now.Add(-time.Minute), now.Add(time.Hour))
		modSuccess(t, modPost(e.n.Client(token), roomID, "start-subtitle", nil), "start with a valid hand-minted token")
	})

	for _, tc := range []struct {
		name  string
		token string
	}{
		{"expired token", modLiveKitJWT(t, e.lk.Key, e.lk.Secret, roomID, "late", time.Now().Add(-3*time.Hour), time.Now().Add(-2*time.Hour))},
		{"token signed with another secret", modLiveKitJWT(t, e.lk.Key, "not-the-secret-of-this-livekit-server", roomID, "forger", time.Now(), time.Now().Add(time.Hour))},
		{"no token", ""},
		{"user token", owner.Token},
		{"garbage token", "not-a-jwt"},
	} {
		t.Run(tc.name+" is 401", func(t *testing.T) {
			modStatus(t, modPost(e.n.Client(tc.token), roomID, "start-subtitle", nil), http.StatusUnauthorized, "start with "+tc.name)
		})
	}

	t.Run("refused starts dispatched nothing more", func(t *testing.T) {
		e.expectOneDispatch(t, roomID)
	})

	t.Run("unknown room is 404", func(t *testing.T) {
		unknown := uuid.NewString()
		token := modLiveKitJWT(t, e.lk.Key, e.lk.Secret, unknown, "nobody", time.Now(), time.Now().Add(time.Hour))
		modStatus(t, modPost(e.n.Client(token), unknown, "start-subtitle", nil), http.StatusNotFound, "start in an unknown room")
	})
}
