// Package room is the room grain: one actor per room, the only writer of that room's state.
//
// Receive (room.go) is a dispatch table; each concern lives in its own file: the room record and
// its accesses (record.go, accesses.go), who may do what (permissions.go), the lobby (lobby.go,
// entry.go, lobbystore.go), LiveKit tokens (tokens.go), moderation and participants
// (moderation.go, participantrole.go, ownparticipant.go), recordings (recording.go,
// recordingnotice.go), telephony (telephony.go), webhooks (webhooks.go), outgoing LiveKit calls
// (notify.go, livekitcalls.go), a command's change (change.go), persistence and idempotence
// (persist.go), passivation and reconciliation (passivation.go, reconcile.go).
//
// The package owns its ports (ports.go): the store, LiveKit, the recording notifier and the
// clock are interfaces declared here, where they are used; the adapters (actors/store,
// actors/livekit, actors/recordingwebhook, the test harness's stand-ins) implement them and the
// composition root (cmd/meetcoord/service) hands them over in Deps. The package imports no
// adapter, no gateway and no command (deps_test.go).
package room

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is the cluster kind of room grains.
const Kind = "room"

// Config is what a room needs to know of the service's configuration.
type Config struct {
	LiveKitPublicURL string // ws(s) URL given to clients
	LiveKitAPIKey    string
	LiveKitAPISecret string
	DefaultSources   []string // LIVEKIT_DEFAULT_SOURCES

	WaitingTimeout  time.Duration // LOBBY_WAITING_TIMEOUT
	DeniedTimeout   time.Duration // LOBBY_DENIED_TIMEOUT
	AcceptedTimeout time.Duration // LOBBY_ACCEPTED_TIMEOUT, also the LiveKit token's life

	WaitingNotificationType string // LOBBY_NOTIFICATION_TYPE
	MaxWaiting              int    // LOBBY_MAX_WAITING: waiting entries per room
	MaxWaitingPerClient     int    // LOBBY_MAX_WAITING_PER_ADDRESS: of them, made from one address
	// KnockNoticeInterval: admins are told of new knocks at most once per interval (a burst
	// of knocks is one notice; the admins' list poll shows them all).
	KnockNoticeInterval time.Duration
	CanEditDisplayName  bool // AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME
	CallbackTTL         time.Duration
	SubtitleAgentName   string // ROOM_SUBTITLE_AGENT_NAME
	TelephonyEnabled    bool   // ROOM_TELEPHONY_ENABLED
	PinLength           int    // ROOM_TELEPHONY_PIN_LENGTH
	IndexRetries        int    // ROOM_TELEPHONY_PIN_MAX_RETRIES: new slug/PIN draws on collision
	ReconcileInterval   time.Duration

	IdleTimeout    time.Duration // passivation after this long without a message
	StoreTimeout   time.Duration // one store call
	LiveKitTimeout time.Duration // one LiveKit call
	// RecordingNoticeTimeout bounds the notification of a saved recording, retries included.
	RecordingNoticeTimeout time.Duration
	// HandoverTimeout bounds the wait for an earlier holder of a room to release it (0:
	// DefaultHandoverTimeout).
	HandoverTimeout time.Duration
}

// Deps are the room's collaborators, shared by every room of the node.
type Deps struct {
	Config  Config
	Store   Store
	LiveKit LiveKit
	Clock   Clock
	// Stalls tells when the node stood still (its rooms may have moved meanwhile); nil: never.
	Stalls  Stalls
	Logger  *slog.Logger
	Metrics *Metrics
	// RecordingNotifier is told of saved recordings; nil: nobody is (they stay saved).
	RecordingNotifier RecordingNotifier

	idle *idleSweeper // the node's one idle sweeper, made by NewProps
}

// Metrics are the room actors' Prometheus metrics.
type Metrics struct {
	Activations       prometheus.Counter
	Passivations      prometheus.Counter
	Fenced            prometheus.Counter
	Superseded        prometheus.Counter
	Released          prometheus.Counter
	HandoversFailed   prometheus.Counter
	StaleAfterStall   prometheus.Counter
	StoreErrors       prometheus.Counter
	Notifications     *prometheus.CounterVec // by type and outcome
	LobbyKnocks       prometheus.Counter
	LobbyDecisions    *prometheus.CounterVec // by decision
	DuplicateCommands prometheus.Counter
	DuplicateEvents   prometheus.Counter
	UnknownEgress     prometheus.Counter
	RecordingNotices  *prometheus.CounterVec // by outcome
}

// NewMetrics registers the room metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Activations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_activations_total", Help: "Room actors activated on this node."}),
		Passivations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_passivations_total", Help: "Room actors stopped after being idle."}),
		Fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_fenced_total", Help: "Room activations stopped because a newer activation took over."}),
		Superseded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_superseded_total", Help: "Room activations stopped when a newer activation elsewhere was announced."}),
		Released: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_released_total", Help: "Room activations stopped at the request of a newer activation on another member."}),
		HandoversFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_handovers_failed_total", Help: "Room activations given up because an earlier holder of the room did not release it in time."}),
		StaleAfterStall: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_stale_after_stall_total", Help: "Room activations stopped after a stall of the node, found replaced by a newer activation."}),
		StoreErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_store_errors_total", Help: "Failed loads and saves of room state."}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_room_notifications_total", Help: "Notifications sent to LiveKit rooms, by type and outcome."},
			[]string{"type", "outcome"}),
		LobbyKnocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_lobby_knocks_total", Help: "New lobby entries."}),
		LobbyDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_lobby_decisions_total", Help: "Lobby entries admitted or denied."}, []string{"decision"}),
		DuplicateCommands: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_room_duplicate_commands_total", Help: "Commands answered from the idempotency cache."}),
		DuplicateEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_webhook_duplicate_events_total", Help: "Webhook events ignored because already applied."}),
		UnknownEgress: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meetcoord_webhook_unknown_egress_total", Help: "Egress webhooks for no recording of their room."}),
		RecordingNotices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meetcoord_recording_notifications_total", Help: "Notifications of saved recordings to the outside service, by outcome."},
			[]string{"outcome"}),
	}
	reg.MustRegister(m.Activations, m.Passivations, m.Fenced, m.Superseded, m.Released, m.HandoversFailed, m.StaleAfterStall, m.StoreErrors, m.Notifications,
		m.LobbyKnocks, m.LobbyDecisions, m.DuplicateCommands, m.DuplicateEvents, m.UnknownEgress, m.RecordingNotices)
	return m
}
