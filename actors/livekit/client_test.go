package livekit_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	lk "meetcoord/actors/livekit"
	"meetcoord/actors/room"
	"meetcoord/cmd/meetcoord/service/servicetest"
)

func TestMain(m *testing.M) {
	// The SDK's participant logs every WebRTC state change; tests read only their failures.
	lksdk.SetLogger(protologger.GetDiscardLogger())
	os.Exit(m.Run())
}

func clientFor(s *servicetest.LiveKitServer, url string, verifyTLS bool) *lk.Client {
	return lk.New(lk.Config{URL: url, APIKey: s.Key, APISecret: s.Secret, VerifyTLS: verifyTLS, Timeout: 3 * time.Second})
}

// TestClientAgainstLiveKit runs the adapter against a real livekit-server: metadata, data
// messages received by a participant who joined over WebRTC, and the mapping of LiveKit's errors.
func TestClientAgainstLiveKit(t *testing.T) {
	server := servicetest.StartLiveKit(t, servicetest.LiveKitOptions{})
	client := clientFor(server, server.URL, true)
	ctx := context.Background()

	t.Run("metadata of a room that is not running", func(t *testing.T) {
		err := client.UpdateRoomMetadata(ctx, "no-such-room", `{"a":1}`)
		if !errors.Is(err, room.ErrLiveKitNotFound) {
			t.Fatalf("err = %v, want ErrLiveKitNotFound", err)
		}
	})

	// A participant joins, which starts the room.
	received := make(chan []byte, 4)
	metadata := make(chan string, 4)
	var once sync.Once
	callback := &lksdk.RoomCallback{OnRoomMetadataChanged: func(m string) { metadata <- m }}
	callback.OnDataPacket = func(data lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		if p, ok := data.(*lksdk.UserDataPacket); ok {
			received <- p.Payload
		}
	}
	participant, err := lksdk.ConnectToRoom(server.WSURL, lksdk.ConnectInfo{
		APIKey: server.Key, APISecret: server.Secret, RoomName: "room-1", ParticipantIdentity: "alice",
	}, callback)
	if err != nil {
		t.Fatalf("participant could not join: %v", err)
	}
	t.Cleanup(func() { once.Do(participant.Disconnect) })

	t.Run("metadata reaches the participant", func(t *testing.T) {
		if err := client.UpdateRoomMetadata(ctx, "room-1", `{"access_level":"trusted"}`); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-metadata:
			if m != `{"access_level":"trusted"}` {
				t.Fatalf("participant saw metadata %q", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("participant saw no metadata change")
		}
	})

	t.Run("data message reaches the participant", func(t *testing.T) {
		// ConnectToRoom returns once signalling joined; the data channel the server uses to
		// reach the participant opens a moment later, and LiveKit drops what it cannot deliver
		// before that. So send until the first message arrives, then check its content.
		deadline := time.After(15 * time.Second)
		for {
			if err := client.SendData(ctx, "room-1", []byte(`{"type":"participantWaiting"}`)); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-received:
				if string(p) != `{"type":"participantWaiting"}` {
					t.Fatalf("participant received %q", p)
				}
				return
			case <-time.After(250 * time.Millisecond):
			case <-deadline:
				t.Fatal("participant received no data message")
			}
		}
	})

	t.Run("wrong secret is refused", func(t *testing.T) {
		bad := lk.New(lk.Config{URL: server.URL, APIKey: server.Key, APISecret: "not-the-secret-of-this-livekit-server", VerifyTLS: true, Timeout: 3 * time.Second})
		err := bad.UpdateRoomMetadata(ctx, "room-1", "{}")
		if !errors.Is(err, lk.ErrRefused) {
			t.Fatalf("err = %v, want ErrRefused", err)
		}
	})

	t.Run("TLS verification as configured", func(t *testing.T) {
		target, _ := url.Parse(server.URL)
		tlsProxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
		defer tlsProxy.Close()
		err := clientFor(server, tlsProxy.URL, true).UpdateRoomMetadata(ctx, "room-1", "{}")
		if !errors.Is(err, lk.ErrUnavailable) {
			t.Fatalf("self-signed certificate with verification on: err = %v, want ErrUnavailable", err)
		}
		if err := clientFor(server, tlsProxy.URL, false).UpdateRoomMetadata(ctx, "room-1", "{}"); err != nil {
			t.Fatalf("self-signed certificate with LIVEKIT_VERIFY_SSL=false: %v", err)
		}
	})
}

// TestClientTimeout: a LiveKit that accepts connections and never answers costs one call
// timeout, not a hang.
func TestClientTimeout(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	client := lk.New(lk.Config{URL: "http://" + listener.Addr().String(), APIKey: "k", APISecret: "secret-of-at-least-32-characters!!", Timeout: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- client.SendData(context.Background(), "room", []byte("{}")) }()
	select {
	case err := <-done:
		if !errors.Is(err, lk.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendData still blocked 10 s after a 200 ms timeout")
	}
}
