package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/livekit/protocol/auth"
	"google.golang.org/protobuf/proto"

	gwauth "meetcoord/gateway/auth"
	"meetcoord/messages"
)

// In-meeting actions (api.md): moderation by privileged users (or, for mute, by participants
// when the room allows it) and subtitles started by a participant with their LiveKit token.

// liveKitGrants verifies a LiveKit access token from the Authorization header and returns its
// grants (with a video grant). The error is errNotAuthenticated when the request carries no
// LiveKit token, errInvalidLiveKitToken when the token is LiveKit's but invalid or expired.
func (g *Gateway) liveKitGrants(r *http.Request) (*auth.ClaimGrants, error) {
	token, present := gwauth.BearerToken(r)
	if !present {
		return nil, errNotAuthenticated
	}
	verifier, err := auth.ParseAPIToken(token)
	if err != nil || verifier.APIKey() != g.cfg.LiveKitAPIKey {
		return nil, errNotAuthenticated
	}
	_, grants, err := verifier.Verify(g.cfg.LiveKitAPISecret)
	if err != nil || grants.Video == nil {
		return nil, errInvalidLiveKitToken
	}
	return grants, nil
}

// liveKitCaller is the caller of a LiveKit token's grants.
func liveKitCaller(grants *auth.ClaimGrants) *messages.Caller {
	return &messages.Caller{LivekitParticipant: &messages.LiveKitParticipant{Identity: grants.Identity, Room: grants.Video.Room}}
}

// moderator is the caller of a moderation endpoint: a LiveKit participant or a user.
func (g *Gateway) moderator(r *http.Request) (*messages.Caller, error) {
	grants, err := g.liveKitGrants(r)
	switch {
	case err == nil:
		return liveKitCaller(grants), nil
	case errors.Is(err, errInvalidLiveKitToken):
		return nil, err
	}
	u, err := g.user(r)
	if err != nil {
		return nil, err
	}
	return callerMessage(u), nil
}

type identityFields struct {
	fields map[string]jsonRaw
	errs   fieldErrors
}

func (f identityFields) required(name string) string {
	s, present := stringField(f.fields, name, f.errs)
	switch {
	case !present && f.errs[name] == nil:
		f.errs.add(name, fieldRequired)
	case present && s == "":
		f.errs.add(name, fieldBlank)
	}
	return s
}

// moderate is the path of a moderator's action on a participant: the caller, the room and the
// body, the command build makes of them (its field errors in f), the room's answer, the ack.
func (g *Gateway) moderate(w http.ResponseWriter, r *http.Request, build func(caller *messages.Caller, f identityFields) proto.Message) error {
	caller, err := g.moderator(r)
	if err != nil {
		return err
	}
	roomID, fields, err := g.roomBody(w, r)
	if err != nil {
		return err
	}
	f := identityFields{fields: fields, errs: fieldErrors{}}
	msg := build(caller, f)
	if len(f.errs) > 0 {
		return f.errs.invalid()
	}
	reply, err := g.ask(r, roomID, msg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success", "message": reply.GetAck().GetMessage()})
	return nil
}

func (g *Gateway) muteParticipant(w http.ResponseWriter, r *http.Request) error {
	return g.moderate(w, r, func(caller *messages.Caller, f identityFields) proto.Message {
		return &messages.MuteParticipant{
			RequestId: scopedRequestID(r, caller), Caller: caller,
			ParticipantIdentity: f.required("participant_identity"), TrackSid: f.required("track_sid"),
		}
	})
}

var permissionFields = []string{"can_subscribe", "can_publish", "can_publish_data", "can_publish_sources",
	"hidden", "recorder", "can_update_metadata", "agent", "can_subscribe_metrics"}

func (g *Gateway) updateParticipant(w http.ResponseWriter, r *http.Request) error {
	return g.moderate(w, r, func(caller *messages.Caller, f identityFields) proto.Message {
		msg := &messages.UpdateParticipant{RequestId: scopedRequestID(r, caller), Caller: caller, ParticipantIdentity: f.required("participant_identity")}
		if s, present := stringField(f.fields, "metadata", f.errs); present {
			msg.Metadata = &s
		}
		if s, present := stringField(f.fields, "name", f.errs); present {
			msg.Name = &s
		}
		if raw, present := f.fields["attributes"]; present && string(raw) != "null" {
			if err := json.Unmarshal(raw, &msg.Attributes); err != nil {
				f.errs.add("attributes", "Must be an object of strings.")
			}
		}
		if raw, present := f.fields["permission"]; present && string(raw) != "null" {
			msg.Permission = g.permissionField(raw, f.errs)
		}
		if msg.Metadata == nil && msg.Name == nil && msg.Attributes == nil && msg.Permission == nil && len(f.errs) == 0 {
			f.errs.add("non_field_errors", "At least one of metadata, attributes, permission or name must be provided.")
		}
		return msg
	})
}

// permissionField validates a LiveKit permission object: known keys only, none of the
// forbidden ones, booleans and a list of sources.
func (g *Gateway) permissionField(raw jsonRaw, errs fieldErrors) *messages.ParticipantPermission {
	var fields map[string]jsonRaw
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		errs.add("permission", fieldNotObject)
		return nil
	}
	out := &messages.ParticipantPermission{}
	flags := map[string]**bool{
		"can_subscribe": &out.CanSubscribe, "can_publish": &out.CanPublish, "can_publish_data": &out.CanPublishData,
		"hidden": &out.Hidden, "recorder": &out.Recorder, "can_update_metadata": &out.CanUpdateMetadata,
		"agent": &out.Agent, "can_subscribe_metrics": &out.CanSubscribeMetrics,
	}
	for key, value := range fields {
		switch {
		case !slices.Contains(permissionFields, key):
			errs.add("permission", "Unknown permission field \""+key+"\".")
		case slices.Contains(g.cfg.ForbiddenPermissions, key):
			errs.add("permission", "Setting \""+key+"\" is not allowed.")
		case key == "can_publish_sources":
			var sources []string
			if err := json.Unmarshal(value, &sources); err != nil {
				errs.add("permission", "can_publish_sources must be a list of sources.")
				continue
			}
			for _, s := range sources {
				if !g.cfg.ValidSource(s) {
					errs.add("permission", "\""+s+"\" is not a valid source.")
				}
			}
			out.CanPublishSources = &messages.SourceList{Sources: sources}
		default:
			var b bool
			if err := json.Unmarshal(value, &b); err != nil {
				errs.add("permission", key+" must be a boolean.")
				continue
			}
			*flags[key] = &b
		}
	}
	return out
}

func (g *Gateway) removeParticipant(w http.ResponseWriter, r *http.Request) error {
	return g.moderate(w, r, func(caller *messages.Caller, f identityFields) proto.Message {
		return &messages.RemoveParticipant{RequestId: scopedRequestID(r, caller), Caller: caller, ParticipantIdentity: f.required("participant_identity")}
	})
}

// startSubtitle: only a participant of the room, by their LiveKit token.
func (g *Gateway) startSubtitle(w http.ResponseWriter, r *http.Request) error {
	grants, err := g.liveKitGrants(r)
	if err != nil {
		return err
	}
	roomID, err := g.roomID(r)
	if err != nil {
		return err
	}
	caller := liveKitCaller(grants)
	msg := &messages.StartSubtitle{RequestId: scopedRequestID(r, caller), Caller: caller}
	if _, err := g.ask(r, roomID, msg); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
	return nil
}
