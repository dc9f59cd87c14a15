package gatewayfuzz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/auth"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"meetcoord/actors/store"
	"meetcoord/gateway"
	gwauth "meetcoord/gateway/auth"
	"meetcoord/gateway/lobbyid"
	"meetcoord/messages"
)

// Fuzz targets of what anonymous and authenticated callers send. They run in `make fuzz` (a
// while each) and, from their seed corpus and testdata/fuzz, in every `go test`. A finding is a
// handler panic (counted by the guard) or a 5xx for input that is the caller's fault.

// fuzzRooms answers every room message with a plain success, so that fuzzing exercises the
// gateway's decoding and validation, not the actors (which have tests of their own).
type fuzzRooms struct{}

func (fuzzRooms) Ask(_ context.Context, roomID string, msg proto.Message) (*messages.RoomReply, error) {
	if knock, ok := msg.(*messages.RequestEntry); ok {
		// As a room answers a new knock: charge the address first, then the entry.
		if !knock.GetMayCreate() {
			return &messages.RoomReply{Failure: &messages.Failure{Code: messages.ErrorCode_ERROR_CODE_ADMISSION_REQUIRED}}, nil
		}
		return &messages.RoomReply{Body: &messages.RoomReply_Entry{Entry: &messages.EntryView{
			ParticipantId: knock.GetParticipantId(), Status: messages.EntryStatus_ENTRY_STATUS_WAITING, Username: knock.GetUsername(),
		}}}, nil
	}
	return &messages.RoomReply{Body: &messages.RoomReply_Room{Room: &messages.RoomView{Id: roomID, Slug: "abc-defg-hij"}}}, nil
}

// fuzzVerifier accepts the bearer token "user" as one user and refuses anything else.
type fuzzVerifier struct{}

func (fuzzVerifier) Verify(_ context.Context, raw string) (gwauth.Claims, error) {
	if raw != "user" {
		return gwauth.Claims{}, errors.New("bad token")
	}
	return gwauth.Claims{Subject: "fuzz-user", Email: "fuzz@example.org", FullName: "Fuzz User"}, nil
}

const fuzzWebhookKey, fuzzWebhookSecret = "fuzzkey", "fuzz-secret-of-at-least-32-characters!!"

// fuzzGateway is a gateway on an in-process store whose room grains always succeed; panics
// reads its count of handler panics.
func fuzzGateway(t testing.TB) (g *gateway.Gateway, panics func() float64) {
	key, err := lobbyid.NewKey([]byte(strings.Repeat("k", lobbyid.MinKeyBytes)))
	if err != nil {
		t.Fatal(err)
	}
	mem := store.NewMemory()
	registry := prometheus.NewRegistry()
	g = gateway.New(gateway.Config{
		Rooms: fuzzRooms{}, Directory: mem, Users: mem, Verifier: fuzzVerifier{},
		Ready:           func(context.Context) error { return nil },
		LobbyCookieName: "lobbyParticipantId", LobbyKey: key,
		DefaultAccessLevel: "public", ValidSource: func(s string) bool { return s == "camera" || s == "microphone" },
		WebhookKeys:   auth.NewSimpleKeyProvider(fuzzWebhookKey, fuzzWebhookSecret),
		LiveKitAPIKey: fuzzWebhookKey, LiveKitAPISecret: fuzzWebhookSecret,
		RecordingEnabled: true, LanguageCode: "en-us", LanguageCodes: []string{"en-us", "fr-fr"},
		Logger: slog.New(slog.DiscardHandler), Registry: registry,
	})
	return g, func() float64 {
		families, err := registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "meetcoord_http_panics_total" {
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no meetcoord_http_panics_total metric")
		return 0
	}
}

// fuzzRoutes are the endpoints that decode a JSON body, with the credentials they need.
var fuzzRoutes = []struct{ method, path, token string }{
	{http.MethodPost, "/api/v1.0/rooms/", "user"},
	{http.MethodPatch, "/api/v1.0/rooms/%s/", "user"},
	{http.MethodPut, "/api/v1.0/rooms/%s/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/request-entry/", ""},
	{http.MethodPost, "/api/v1.0/rooms/%s/enter/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/mute-participant/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/update-participant/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/remove-participant/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/start-recording/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/invite/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/%s/update-participant-role/", "user"},
	{http.MethodPost, "/api/v1.0/rooms/creation-callback/", ""},
	{http.MethodPost, "/api/v1.0/resource-accesses/", "user"},
	{http.MethodPatch, "/api/v1.0/resource-accesses/%s/", "user"},
	{http.MethodPatch, "/api/v1.0/users/%s/", "user"},
	{http.MethodGet, "/api/v1.0/rooms/?page=%s", ""},
	{http.MethodPost, "/api/v1.0/rooms/" + fuzzRoomID + "/toggle-hand/", "livekit"},
	{http.MethodPost, "/api/v1.0/rooms/" + fuzzRoomID + "/rename/", "livekit"},
	{http.MethodPost, "/api/v1.0/rooms/" + fuzzRoomID + "/start-subtitle/", "livekit"},
}

// fuzzRoomID is the room of the LiveKit token the in-meeting routes are called with.
const fuzzRoomID = "6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60"

// liveKitToken is a participant's token of fuzzRoomID, as the front end sends it in a meeting.
func liveKitToken(t testing.TB) string {
	at := auth.NewAccessToken(fuzzWebhookKey, fuzzWebhookSecret).SetIdentity("fuzz-participant").
		SetValidFor(time.Hour).SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: fuzzRoomID})
	token, err := at.ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func FuzzRequestDecoders(f *testing.F) {
	for i := range fuzzRoutes {
		for _, body := range []string{``, `{}`, `{"name":"Café du matin"}`, `{"name":"","access_level":"secret","configuration":{"can_publish_sources":["camera",1],"everyone_can_mute":"yes"}}`,
			`{"username":"` + strings.Repeat("é", 300) + `"}`, `{"participant_id":"x","allow_entry":1}`, `{"mode":"transcript","options":{"collect_metadata":null,"language":"fr"}}`,
			`{"emails":["a@b.c",null,7]}`, `{"permission":{"can_publish_sources":["camera"],"hidden":true},"attributes":{"a":1}}`,
			`{"timezone":"Europe/Paris","language":"fr-fr","default_room_configuration":null}`, `[1,2]`, `{"callback_id":"` + strings.Repeat("c", 300) + `"}`, `null`, `{"name":"\u0000\ud800"}`, `{"raised":true}`, `{"raised":"yes"}`} {
			f.Add(uint8(i), []byte(body), "abc-defg-hij")
		}
	}
	f.Add(uint8(len(fuzzRoutes)-1), []byte(``), "461168601842738792")
	g, panics := fuzzGateway(f)
	participant := liveKitToken(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte, segment string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := rt.path
		if strings.Contains(path, "%s") {
			path = strings.Replace(path, "%s", urlSegment(segment), 1)
		}
		req := httptest.NewRequest(rt.method, "http://node"+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		switch rt.token {
		case "livekit":
			req.Header.Set("Authorization", "Bearer "+participant)
		case "":
		default:
			req.Header.Set("Authorization", "Bearer "+rt.token)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if panics() > 0 {
			t.Fatalf("%s %s with body %q panicked", rt.method, path, body)
		}
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with body %q: %d %s", rt.method, path, body, rec.Code, rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && rec.Code != http.StatusNoContent {
			t.Fatalf("%s %s: %d without a JSON body", rt.method, path, rec.Code)
		}
	})
}

// urlSegment keeps a fuzzed path segment a single, parseable segment.
func urlSegment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == '/' || r == '?' || r == '#' || r == '%' || r > '~' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return uuid.Nil.String()
	}
	return s
}

func FuzzWebhookReceiver(f *testing.F) {
	for _, body := range []string{
		`{"event":"room_started","id":"EV_1","createdAt":"1700000000","room":{"name":"6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60"}}`,
		`{"event":"egress_ended","id":"EV_2","egressInfo":{"egressId":"EG_1","roomName":"6f1c7a8e-2b1d-4c3e-9f0a-1b2c3d4e5f60","status":"EGRESS_LIMIT_REACHED"}}`,
		`{"event":"participant_joined","room":{"name":"not-a-uuid"},"participant":{"identity":"x","kind":"SIP"}}`,
		`{"event":"nonsense"}`, `{"event":123}`, `not json`, ``, `{}`,
	} {
		f.Add([]byte(body), true)
		f.Add([]byte(body), false)
	}
	g, panics := fuzzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		req := httptest.NewRequest(http.MethodPost, "http://node/api/v1.0/rooms/webhooks-livekit/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/webhook+json")
		if signed {
			req.Header.Set("Authorization", signWebhook(t, body))
		} else if len(body) > 0 && body[0]%2 == 0 {
			req.Header.Set("Authorization", string(body))
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if panics() > 0 {
			t.Fatalf("webhook %q (signed %v) panicked", body, signed)
		}
		if rec.Code >= 500 {
			t.Fatalf("webhook %q (signed %v): %d %s", body, signed, rec.Code, rec.Body)
		}
		if !signed && rec.Code == http.StatusOK {
			t.Fatalf("unsigned webhook %q accepted", body)
		}
	})
}

// signWebhook signs body as LiveKit does: a JWT whose sha256 claim is the body's hash.
func signWebhook(t *testing.T, body []byte) string {
	sum := sha256.Sum256(body)
	at := auth.NewAccessToken(fuzzWebhookKey, fuzzWebhookSecret).SetValidFor(5 * time.Minute).SetSha256(base64.StdEncoding.EncodeToString(sum[:]))
	token, err := at.ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return token
}
