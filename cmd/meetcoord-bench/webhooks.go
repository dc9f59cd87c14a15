package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	webhookRooms = 10000
	// Distinct events per second of a run: more than the node can take, so that no event is a
	// duplicate (a duplicate costs the node less, and would flatter it). The run fails if wrk
	// wraps around.
	webhookEventsPerSecond = 60000
	webhookWarmUpEvents    = 40000
)

// measureWebhooks: signed participant_joined/left webhooks with distinct event ids over 10,000
// rooms, against a bare handler reading the same bodies.
func measureWebhooks(ctx context.Context, s settings) ([]row, error) {
	n, owner, err := startFreshNode(ctx, s, "webhooks")
	if err != nil {
		return nil, err
	}
	defer n.stop()
	rooms, err := owner.createRooms(webhookRooms, 16)
	if err != nil {
		return nil, err
	}
	warmUp := filepath.Join(s.workDir, "webhooks-warmup.txt")
	if err := writeWebhooks(warmUp, rooms, webhookWarmUpEvents); err != nil {
		return nil, err
	}
	// A file of distinct events for each round: no event reaches the node twice.
	webhookEvents := int(roundLength(s).Seconds() * webhookEventsPerSecond)
	measured := make([]string, rounds)
	for i := range measured {
		measured[i] = filepath.Join(s.workDir, fmt.Sprintf("webhooks-%d.txt", i+1))
		if err := writeWebhooks(measured[i], rooms, webhookEvents); err != nil {
			return nil, err
		}
	}
	nodeRun, bareRun, err := compareWithBare(ctx, s, n, "webhooks", warmUp, measured, "application/webhook+json", func(run wrkResult) error {
		if run.requests > int64(webhookEvents) {
			return fmt.Errorf("the node took %d webhooks, more than the %d distinct events made: raise webhookEventsPerSecond", run.requests, webhookEvents)
		}
		applied, err := n.metric(`meetcoord_webhooks_total{event="participant_joined",outcome="applied"}`)
		if err != nil || applied == 0 {
			return fmt.Errorf("no participant_joined webhook applied (%v): the run measured rejections", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []row{{
		figure:   fmt.Sprintf("signed webhooks (%d rooms, distinct ids, wrk -c%d)", webhookRooms, wrkConnections),
		measured: nodeRun.rateAndCPU(), counterpart: bareRun.rateAndCPU(),
		result: nodeRun.perSecond / bareRun.perSecond, unit: "ratio", goal: 0.5,
	}}, nil
}

// writeWebhooks writes count signed events, a participant joining then leaving, over rooms.
func writeWebhooks(path string, rooms []string, count int) error {
	reqs := make([]replayed, 0, count)
	now := time.Now()
	for i := range count {
		room := rooms[i%len(rooms)]
		event := "participant_joined"
		if (i/len(rooms))%2 == 1 {
			event = "participant_left"
		}
		identity := fmt.Sprintf("guest-%d", (i/(2*len(rooms)))%50)
		body, err := protojson.Marshal(&livekit.WebhookEvent{
			Event: event, Id: "EV_" + uuid.NewString(), CreatedAt: now.Unix(),
			Room:        &livekit.Room{Name: room, Sid: "RM_bench"},
			Participant: &livekit.ParticipantInfo{Identity: identity, Sid: "PA_" + identity, Name: identity},
		})
		if err != nil {
			return err
		}
		auth, err := signWebhook(body, now)
		if err != nil {
			return err
		}
		reqs = append(reqs, replayed{path: "/api/v1.0/rooms/webhooks-livekit/", header: "Authorization", value: auth, body: string(body)})
	}
	return writeRequests(path, reqs)
}

// signWebhook is LiveKit's Authorization value for a body: an HS256 JWT of the API key whose
// sha256 claim is the body's digest.
func signWebhook(body []byte, now time.Time) (string, error) {
	sum := sha256.Sum256(body)
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": liveKitKey, "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"sha256": base64.StdEncoding.EncodeToString(sum[:]),
	}).SignedString([]byte(liveKitSecret))
}
