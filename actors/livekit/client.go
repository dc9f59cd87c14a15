// Package livekit is the room actors' adapter to the LiveKit server API (it implements
// room.LiveKit): the only place that speaks LiveKit's Twirp services. It also describes where
// egress writes recordings (RecordingOutput), which the gateway reads to serve them.
//
// It uses the Twirp clients and the token minting of github.com/livekit/protocol rather than
// server-sdk-go's service clients, because those (v2.19) always use http.DefaultTransport: they
// cannot be given an *http.Client, so neither LIVEKIT_VERIFY_SSL nor a connection pool of our own
// could be honoured. The request shape (an admin token per call, a nonce on data messages) is
// the SDK's.
package livekit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"

	"meetcoord/actors/livekit/recordingoutput"
	roomactor "meetcoord/actors/room"
)

// Config says how to reach LiveKit.
type Config struct {
	URL       string // http(s) API URL
	APIKey    string
	APISecret string
	VerifyTLS bool
	Timeout   time.Duration // per call, when the caller's context has no earlier deadline
	Recording RecordingOutput
}

// RecordingOutput is where egress writes recordings (package recordingoutput, which the gateway
// imports without this client).
type RecordingOutput = recordingoutput.RecordingOutput

// Client calls LiveKit's RoomService.
type Client struct {
	cfg      Config
	rooms    livekit.RoomService
	dispatch livekit.AgentDispatchService
	sip      livekit.SIP
	egress   livekit.Egress
}

var _ roomactor.LiveKit = (*Client)(nil)

// ErrUnavailable wraps failures to reach LiveKit or LiveKit's own errors (5xx): a retry may help.
var ErrUnavailable = errors.New("livekit unavailable")

// ErrRefused wraps LiveKit's refusals of a request (4xx other than not found).
var ErrRefused = errors.New("livekit refused the request")

// New returns a client for the LiveKit server described by cfg.
func New(cfg Config) *Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if !cfg.VerifyTLS {
		// Off only by explicit configuration, for self-signed development servers.
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec
	}
	httpClient := &http.Client{Transport: transport, Timeout: cfg.Timeout}
	return &Client{
		cfg:      cfg,
		rooms:    livekit.NewRoomServiceProtobufClient(cfg.URL, httpClient),
		dispatch: livekit.NewAgentDispatchServiceProtobufClient(cfg.URL, httpClient),
		sip:      livekit.NewSIPProtobufClient(cfg.URL, httpClient),
		egress:   livekit.NewEgressProtobufClient(cfg.URL, httpClient),
	}
}

// SendData implements room.LiveKit: a reliable data message to everyone in the room.
func (c *Client) SendData(ctx context.Context, room string, payload []byte) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	nonce, _ := uuid.New().MarshalBinary()
	_, err = c.rooms.SendData(ctx, &livekit.SendDataRequest{
		Room: room, Data: payload, Kind: livekit.DataPacket_RELIABLE, Nonce: nonce,
	})
	return mapError("send data", err)
}

// UpdateRoomMetadata implements room.LiveKit.
func (c *Client) UpdateRoomMetadata(ctx context.Context, room string, metadata string) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	_, err = c.rooms.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: room, Metadata: metadata})
	return mapError("update room metadata", err)
}

// MutePublishedTrack implements room.LiveKit.
func (c *Client) MutePublishedTrack(ctx context.Context, room, identity, trackSID string) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	// LiveKit (v1.13) does not check that the participant exists before muting: asked about an
	// unknown one, it waits for its own timeout. Ask first.
	if _, err := c.rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity}); err != nil {
		return mapError("get participant", err)
	}
	_, err = c.rooms.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{
		Room: room, Identity: identity, TrackSid: trackSID, Muted: true,
	})
	return mapError("mute published track", err)
}

// UpdateParticipant implements room.LiveKit.
func (c *Client) UpdateParticipant(ctx context.Context, room, identity string, u roomactor.ParticipantUpdate) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	req := &livekit.UpdateParticipantRequest{Room: room, Identity: identity, Attributes: u.Attributes, Permission: u.Permission}
	if u.Name != nil {
		req.Name = *u.Name
	}
	if u.Metadata != nil {
		req.Metadata = *u.Metadata
	}
	_, err = c.rooms.UpdateParticipant(ctx, req)
	return mapError("update participant", err)
}

// RemoveParticipant implements room.LiveKit.
func (c *Client) RemoveParticipant(ctx context.Context, room, identity string) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	_, err = c.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	return mapError("remove participant", err)
}

// DispatchAgent implements room.LiveKit.
func (c *Client) DispatchAgent(ctx context.Context, room, agentName string) error {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return err
	}
	defer cancel()
	_, err = c.dispatch.CreateDispatch(ctx, &livekit.CreateAgentDispatchRequest{Room: room, AgentName: agentName})
	return mapError("dispatch agent", err)
}

// ListParticipants implements room.LiveKit.
func (c *Client) ListParticipants(ctx context.Context, room string) ([]roomactor.Participant, error) {
	ctx, cancel, err := c.adminContext(ctx, room)
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, mapError("list participants", err)
	}
	out := make([]roomactor.Participant, 0, len(res.GetParticipants()))
	for _, p := range res.GetParticipants() {
		out = append(out, roomactor.Participant{Identity: p.GetIdentity(), SIP: p.GetKind() == livekit.ParticipantInfo_SIP})
	}
	return out, nil
}

// SIPDispatchRuleIDs implements room.LiveKit.
func (c *Client) SIPDispatchRuleIDs(ctx context.Context, name string) ([]string, error) {
	ctx, cancel, err := c.sipContext(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.sip.ListSIPDispatchRule(ctx, &livekit.ListSIPDispatchRuleRequest{})
	if err != nil {
		return nil, mapError("list sip dispatch rules", err)
	}
	var ids []string
	for _, rule := range res.GetItems() {
		if rule.GetName() == name {
			ids = append(ids, rule.GetSipDispatchRuleId())
		}
	}
	return ids, nil
}

// CreateSIPDispatchRule implements room.LiveKit.
func (c *Client) CreateSIPDispatchRule(ctx context.Context, name, room, pin string) (string, error) {
	ctx, cancel, err := c.sipContext(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	res, err := c.sip.CreateSIPDispatchRule(ctx, &livekit.CreateSIPDispatchRuleRequest{
		DispatchRule: &livekit.SIPDispatchRuleInfo{
			Name: name,
			Rule: &livekit.SIPDispatchRule{Rule: &livekit.SIPDispatchRule_DispatchRuleDirect{
				DispatchRuleDirect: &livekit.SIPDispatchRuleDirect{RoomName: room, Pin: pin},
			}},
		},
	})
	if err != nil {
		return "", mapError("create sip dispatch rule", err)
	}
	return res.GetSipDispatchRuleId(), nil
}

// DeleteSIPDispatchRule implements room.LiveKit.
func (c *Client) DeleteSIPDispatchRule(ctx context.Context, id string) error {
	ctx, cancel, err := c.sipContext(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	_, err = c.sip.DeleteSIPDispatchRule(ctx, &livekit.DeleteSIPDispatchRuleRequest{SipDispatchRuleId: id})
	err = mapError("delete sip dispatch rule", err)
	if errors.Is(err, roomactor.ErrLiveKitNotFound) {
		return nil
	}
	return err
}

// StartRoomCompositeEgress implements room.LiveKit: a video composite (mp4, speaker-light
// layout) or an audio-only recording (ogg), written to <folder>/<recording id>.<ext>.
func (c *Client) StartRoomCompositeEgress(ctx context.Context, room string, audioOnly bool, recordingID string) (string, error) {
	ctx, cancel, err := c.egressContext(ctx, room)
	if err != nil {
		return "", err
	}
	defer cancel()
	fileType := livekit.EncodedFileType_MP4
	if audioOnly {
		fileType = livekit.EncodedFileType_OGG
	}
	out := c.cfg.Recording
	file := &livekit.EncodedFileOutput{FileType: fileType, Filepath: out.Filepath(recordingID, audioOnly)}
	if out.Bucket != "" {
		file.Output = &livekit.EncodedFileOutput_S3{S3: &livekit.S3Upload{
			Bucket: out.Bucket, Endpoint: out.Endpoint, Region: out.Region,
			AccessKey: out.AccessKey, Secret: out.Secret, ForcePathStyle: out.ForcePathStyle,
		}}
	}
	req := &livekit.RoomCompositeEgressRequest{RoomName: room, AudioOnly: audioOnly, FileOutputs: []*livekit.EncodedFileOutput{file}}
	if !audioOnly {
		req.Layout = "speaker-light"
	}
	info, err := c.egress.StartRoomCompositeEgress(ctx, req)
	if err != nil {
		return "", mapError("start room composite egress", err)
	}
	return info.GetEgressId(), nil
}

// StopEgress implements room.LiveKit.
func (c *Client) StopEgress(ctx context.Context, egressID string) (livekit.EgressStatus, error) {
	ctx, cancel, err := c.egressContext(ctx, "")
	if err != nil {
		return 0, err
	}
	defer cancel()
	info, err := c.egress.StopEgress(ctx, &livekit.StopEgressRequest{EgressId: egressID})
	if err != nil {
		return 0, mapError("stop egress", err)
	}
	return info.GetStatus(), nil
}

// Egress implements room.LiveKit.
func (c *Client) Egress(ctx context.Context, egressID string) (*livekit.EgressInfo, error) {
	ctx, cancel, err := c.egressContext(ctx, "")
	if err != nil {
		return nil, err
	}
	defer cancel()
	res, err := c.egress.ListEgress(ctx, &livekit.ListEgressRequest{EgressId: egressID})
	if err != nil {
		return nil, mapError("list egress", err)
	}
	if len(res.GetItems()) == 0 {
		return nil, fmt.Errorf("egress %s: %w", egressID, roomactor.ErrLiveKitNotFound)
	}
	return res.GetItems()[0], nil
}

// egressContext carries a room-record token.
func (c *Client) egressContext(ctx context.Context, room string) (context.Context, context.CancelFunc, error) {
	return c.withToken(ctx, auth.NewAccessToken(c.cfg.APIKey, c.cfg.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomRecord: true, Room: room}))
}

// sipContext carries a SIP-admin token.
func (c *Client) sipContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	return c.withToken(ctx, auth.NewAccessToken(c.cfg.APIKey, c.cfg.APISecret).SetSIPGrant(&auth.SIPGrant{Admin: true}))
}

// adminContext bounds the call and carries a short-lived room-admin token for it.
func (c *Client) adminContext(ctx context.Context, room string) (context.Context, context.CancelFunc, error) {
	return c.withToken(ctx, auth.NewAccessToken(c.cfg.APIKey, c.cfg.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomAdmin: true, RoomCreate: true, RoomList: true, Room: room}))
}

// withToken bounds the call and carries a short-lived token for it.
func (c *Client) withToken(ctx context.Context, at *auth.AccessToken) (context.Context, context.CancelFunc, error) {
	token, err := at.SetValidFor(5 * time.Minute).ToJWT()
	if err != nil {
		return nil, nil, fmt.Errorf("sign livekit api token: %w", err)
	}
	header := http.Header{}
	header.Set("Authorization", "Bearer "+token)
	ctx, err = twirp.WithHTTPRequestHeaders(ctx, header)
	if err != nil {
		return nil, nil, fmt.Errorf("set livekit api headers: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	return ctx, cancel, nil
}

// mapError sorts LiveKit's answers into what callers act on.
func mapError(call string, err error) error {
	if err == nil {
		return nil
	}
	var terr twirp.Error
	if errors.As(err, &terr) {
		switch terr.Code() {
		case twirp.NotFound:
			return fmt.Errorf("livekit %s: %w: %s", call, roomactor.ErrLiveKitNotFound, terr.Msg())
		case twirp.InvalidArgument:
			return fmt.Errorf("livekit %s: %w: %w: %s", call, ErrRefused, roomactor.ErrLiveKitInvalid, terr.Msg())
		case twirp.PermissionDenied, twirp.Unauthenticated, twirp.FailedPrecondition,
			twirp.AlreadyExists, twirp.OutOfRange, twirp.Malformed, twirp.BadRoute:
			return fmt.Errorf("livekit %s: %w: %s", call, ErrRefused, terr.Msg())
		}
	}
	return fmt.Errorf("livekit %s: %w: %v", call, ErrUnavailable, err)
}
