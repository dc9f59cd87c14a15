package room

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Reconciliation (rooms.md "Idempotence and missed events"): LiveKit promises no webhook
// delivery, so while a room holds something that depends on webhooks (a recording whose egress
// has not been seen ending, a SIP dispatch rule, participants), it asks LiveKit on a slow timer
// and on activation, and corrects what a lost event left wrong.

// reconcileTick is the message of the room's reconciliation timer.
type reconcileTick struct{}

// reconcileWithLiveKit checks the recording and the participants with LiveKit, and re-arms the
// timer while there is still something to watch.
func (r *Room) reconcileWithLiveKit(ctx actor.Context) {
	r.reconcile = nil
	if !r.loaded || r.record == nil {
		return
	}
	if r.watchedRecording() != nil {
		r.reconcileRecording(ctx)
	}
	if r.deps.Config.TelephonyEnabled && (r.sipRuleID != "" || r.presence.occupied() || r.presenceToCheck()) {
		r.reconcilePresence(ctx)
	}
	if r.metadataStale {
		// Pushed again as it is now; a failure sends metadataNotPushed again.
		r.metadataStale = false
		r.liveKitOutbox().push(r.updateMetadataEffect(r.metadata()))
	}
	r.scheduleReconcile(ctx)
}

// scheduleReconcile arms the reconciliation timer while the room holds a rule, has
// participants, records, has metadata LiveKit may lack, or may be behind LiveKit on who is in it
// (presenceToCheck).
func (r *Room) scheduleReconcile(ctx actor.Context) {
	if r.reconcile != nil || r.deps.Config.ReconcileInterval <= 0 {
		return
	}
	if r.sipRuleID == "" && !r.presence.occupied() && r.watchedRecording() == nil && !r.metadataStale &&
		!r.presenceToCheck() {
		return
	}
	r.reconcile = sendSelfAfter(ctx, r.deps.Clock, r.deps.Config.ReconcileInterval, reconcileTick{})
}
