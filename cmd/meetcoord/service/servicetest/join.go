package servicetest

import (
	"fmt"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

// JoinLiveKit connects a participant to a LiveKit room as a real client does: a failed
// connection is tried again, backing off up to 2 s, for up to 2 minutes. On a loaded machine
// livekit-server can take longer than the SDK's own timeout to answer a signal connection (a
// fresh server, fifty participants joining at once), which is no fault of what a test checks.
func JoinLiveKit(wsURL, token string, cb *lksdk.RoomCallback, opts ...lksdk.ConnectOption) (*lksdk.Room, error) {
	deadline := time.Now().Add(2 * time.Minute)
	pause := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		room, err := lksdk.ConnectToRoomWithToken(wsURL, token, cb, opts...)
		if err == nil {
			return room, nil
		}
		if time.Now().Add(pause).After(deadline) {
			return nil, fmt.Errorf("join LiveKit room (%d attempts in 2 min): %w", attempt, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 2*time.Second)
	}
}
