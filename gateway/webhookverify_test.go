package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// BenchmarkReceiveWebhook is a participant_joined webhook's verification and decoding, as the
// bench's load sends them (`go test -run '^$' -bench ReceiveWebhook ./gateway/`).
func BenchmarkReceiveWebhook(b *testing.B) {
	const key, secret = "bench-key", "bench-secret-of-at-least-32-characters"
	body, err := protojson.Marshal(&livekit.WebhookEvent{
		Event: "participant_joined", Id: "EV_9b2f5e1c8a7d4f3e", CreatedAt: time.Now().Unix(),
		Room:        &livekit.Room{Name: "9b2f5e1c-8a7d-4f3e-9c1b-2d4e6f8a0b1c", Sid: "RM_bench"},
		Participant: &livekit.ParticipantInfo{Identity: "guest-1", Sid: "PA_guest-1", Name: "guest-1"},
	})
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(body)
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": key, "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"sha256": base64.StdEncoding.EncodeToString(sum[:]),
	}).SignedString([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	keys := auth.NewSimpleKeyProvider(key, secret)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/v1.0/rooms/webhooks-livekit/", bytes.NewReader(body))
		r.Header.Set("Authorization", token)
		event, err := receiveWebhook(httptest.NewRecorder(), r, keys)
		if err != nil || event.GetParticipant().GetIdentity() != "guest-1" {
			b.Fatalf("receive: %v %v", event, err)
		}
	}
}

// TestDecodeWebhookEventAsProtojson: the lean decoding reads the fields rooms use as protojson
// reads them, in every encoding protojson accepts, and refuses what protojson refuses in them.
func TestDecodeWebhookEventAsProtojson(t *testing.T) {
	tests := []struct {
		name string
		body string
		bad  bool
	}{
		{"as LiveKit writes it", `{"event":"participant_joined","id":"EV_1","createdAt":"1800000000","room":{"name":"r","sid":"RM_1"},"participant":{"identity":"alice","sid":"PA_1","name":"Alice","kind":"SIP"}}`, false},
		{"numbers for int64 and enum", `{"event":"participant_left","id":"EV_2","createdAt":1800000001,"room":{"name":"r"},"participant":{"identity":"bob","kind":3}}`, false},
		{"unknown enum name", `{"event":"participant_joined","id":"EV_3","participant":{"identity":"c","kind":"HOLOGRAM"}}`, false},
		{"nulls and unknown fields", `{"event":"room_started","id":null,"createdAt":null,"room":null,"participant":null,"numDropped":4,"extra":{"a":[1,2]}}`, false},
		{"room only", `{"event":"room_finished","id":"EV_4","createdAt":"5","room":{"name":"r","sid":"RM_2","numParticipants":3}}`, false},
		{"egress event, whole", `{"event":"egress_ended","id":"EV_5","egressInfo":{"egressId":"EG_1","roomName":"r","status":"EGRESS_COMPLETE","fileResults":[{"filename":"a.mp4"}]}}`, false},
		{"not json", `{not json`, true},
		{"not an object", `["event"]`, true},
		{"event not a string", `{"event":5}`, true},
		{"room not an object", `{"event":"room_started","room":"r"}`, true},
		{"identity not a string", `{"event":"participant_joined","participant":{"identity":7}}`, true},
		{"createdAt not a number", `{"event":"room_started","createdAt":"soon"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeWebhookEvent([]byte(tt.body))
			want := &livekit.WebhookEvent{}
			wantErr := (protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}).Unmarshal([]byte(tt.body), want)
			if (wantErr != nil) != tt.bad {
				t.Fatalf("protojson error %v: the case is wrong", wantErr)
			}
			if tt.bad {
				if err == nil {
					t.Fatalf("decoded %v, want an error as protojson's (%v)", got, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want.GetEgressInfo() == nil {
				// What rooms read of a room's or participant's event.
				want = &livekit.WebhookEvent{Event: want.GetEvent(), Id: want.GetId(), CreatedAt: want.GetCreatedAt(),
					Room: leanRoomOf(want.GetRoom()), Participant: leanParticipantOf(want.GetParticipant())}
			}
			if !proto.Equal(got, want) {
				t.Fatalf("decoded\n %v\nwant\n %v", got, want)
			}
		})
	}
}

func leanRoomOf(r *livekit.Room) *livekit.Room {
	if r == nil {
		return nil
	}
	return &livekit.Room{Name: r.GetName(), Sid: r.GetSid()}
}

func leanParticipantOf(p *livekit.ParticipantInfo) *livekit.ParticipantInfo {
	if p == nil {
		return nil
	}
	return &livekit.ParticipantInfo{Identity: p.GetIdentity(), Sid: p.GetSid(), Name: p.GetName(), Kind: p.GetKind()}
}
