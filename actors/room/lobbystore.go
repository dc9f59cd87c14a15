package room

import (
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// The lobby's entries are stored one by one, apart from the room's snapshot: a knock or a
// decision writes the one entry it changed, so its cost does not grow with the number of
// participants waiting (rooms.md: "A knock writes one entry to the store, not the whole lobby").
// A poll writes nothing (see restore).

// waitingKept is how long the store keeps a waiting entry past its stored deadline. Polls push
// the deadline in memory only, and the reference front end polls for up to 10 minutes: an
// activation that takes over after a crash within that time still finds the entry (and gives it
// one more waiting period). Past it, a participant still polling simply knocks again.
const waitingKept = 10 * time.Minute

// rewriteMargin: when the stored entries are due to expire within this time, the next write
// stores every live entry again (see pendingChange).
const rewriteMargin = time.Minute

// lobbyStoreState is what the store does not know yet of the lobby, and how to undo the current
// command's changes if its write fails.
type lobbyStoreState struct {
	// unsaved are the participant ids whose stored entry may differ from memory: changed by a
	// command whose write failed, or dropped on expiry. The next write stores (or removes) them.
	unsaved map[string]bool
	// undo holds the entries as they were before the current command first changed them (nil:
	// there was none).
	undo map[string]*lobbyEntry
	// storedUntil is when the stored entries expire, as far as this activation knows (zero:
	// none is stored).
	storedUntil time.Time
	// changed: the current command changed an entry, so it must write.
	changed bool
	// legacy: the entries were loaded from a snapshot written before they were kept apart; the
	// next write rewrites the snapshot without them (and stores them apart). (The flags come last
	// so that they share one word: every room has a lobby.)
	legacy bool
}

func newLobbyStoreState() lobbyStoreState {
	return lobbyStoreState{}
}

// markUnsaved records that an entry differs from what the store holds.
func (l *lobby) markUnsaved(participantID string) {
	if l.store.unsaved == nil {
		l.store.unsaved = map[string]bool{}
	}
	l.store.unsaved[participantID] = true
}

// touch records that the current command is about to change (or remove) an entry.
func (l *lobby) touch(participantID string) {
	if _, seen := l.store.undo[participantID]; !seen {
		var before *lobbyEntry
		if e, ok := l.entries[participantID]; ok {
			copied := *e
			before = &copied
		}
		if l.store.undo == nil {
			l.store.undo = map[string]*lobbyEntry{}
		}
		l.store.undo[participantID] = before
	}
	l.markUnsaved(participantID)
	l.store.changed = true
}

// expire drops an entry past its deadline. That is no change worth a write of its own: the
// store loses it with the next write (or when the whole lobby expires there).
func (l *lobby) expire(participantID string) {
	delete(l.entries, participantID)
	l.markUnsaved(participantID)
}

// beginCommand forgets the previous command's undo information.
func (l *lobby) beginCommand() {
	l.store.changed = false
	clear(l.store.undo)
}

// changedByCommand reports whether the current command changed an entry.
func (l *lobby) changedByCommand() bool { return l.store.changed }

// rollback puts back the entries the current command changed (its write failed). They stay
// unsaved: a write that timed out may have been applied, and the next write makes sure.
func (l *lobby) rollback() {
	for id, before := range l.store.undo {
		if before == nil {
			delete(l.entries, id)
		} else {
			l.setEntry(id, before)
		}
	}
	l.beginCommand()
}

// pendingChange is what the store must be told: the unsaved entries, plus every waiting entry
// when exactAtEpoch is set (a clean stop writes their exact deadlines). nil: nothing to write.
//
// Polls keep waiting entries alive in memory without writing, so the stored entries may be about
// to expire while some are still live: then every live entry is written again, which happens at
// most once per waitingKept and keeps the store holding every live entry.
func (l *lobby) pendingChange(now time.Time, exactAtEpoch int64) (*LobbyChange, error) {
	l.prune(now)
	rewrite := now.Add(rewriteMargin).After(l.store.storedUntil)
	ids := make([]string, 0, len(l.store.unsaved))
	for id := range l.store.unsaved {
		ids = append(ids, id)
	}
	for id, e := range l.entries {
		again := rewrite || (exactAtEpoch != 0 && e.status == messages.EntryStatus_ENTRY_STATUS_WAITING)
		if again && !l.store.unsaved[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keep := l.keep(now)
	if keep <= 0 {
		return &LobbyChange{}, nil // no entry left
	}
	sort.Strings(ids)
	change := &LobbyChange{TTL: keep}
	for _, id := range ids {
		e, ok := l.entries[id]
		if !ok {
			change.Remove = append(change.Remove, id)
			continue
		}
		record := &messages.LobbyEntriesRecord{Entry: e.encode()}
		if exactAtEpoch != 0 && e.status == messages.EntryStatus_ENTRY_STATUS_WAITING {
			record.ExactAtEpoch = exactAtEpoch
		}
		data, err := proto.Marshal(record)
		if err != nil {
			return nil, fmt.Errorf("encode lobby entry %s: %w", id, err)
		}
		change.Put = append(change.Put, LobbyEntryPut{ParticipantID: id, Record: data})
	}
	return change, nil
}

// keep is how long the store must keep the lobby from now: the longest life left to an entry
// (a waiting one's extended by waitingKept). 0: no entry is left.
func (l *lobby) keep(now time.Time) time.Duration {
	var longest time.Duration
	for _, e := range l.entries {
		life := e.deadline.Sub(now)
		if e.status == messages.EntryStatus_ENTRY_STATUS_WAITING {
			life += waitingKept
		}
		longest = max(longest, life)
	}
	return longest
}

// saved records that the store now holds what pendingChange said (nil: nothing was written).
func (l *lobby) saved(change *LobbyChange, now time.Time) {
	if change == nil {
		return
	}
	clear(l.store.unsaved)
	l.store.storedUntil = time.Time{}
	if change.TTL > 0 {
		l.store.storedUntil = now.Add(change.TTL)
	}
}

// inOldSnapshot reports whether the stored snapshot still holds lobby entries (one written
// before they were kept apart): the next write must rewrite it.
func (l *lobby) inOldSnapshot() bool { return l.store.legacy }

// snapshotSaved records that the stored snapshot no longer holds lobby entries.
func (l *lobby) snapshotSaved() { l.store.legacy = false }

// restoreStored loads the lobby of a newly activated room: the entries of an old snapshot
// (legacy, honoured once and then stored apart), then the stored entries, which are newer. A
// stored waiting deadline is exact only when the activation just before this one (epoch-1)
// wrote it on a clean stop; see restore.
func (l *lobby) restoreStored(legacy []*messages.LobbyEntry, legacyExact bool, records [][]byte, epoch int64, now time.Time) error {
	l.restore(legacy, legacyExact, now)
	for id := range l.entries {
		l.markUnsaved(id)
	}
	l.store.legacy = len(legacy) > 0
	for _, data := range records {
		record := &messages.LobbyEntriesRecord{}
		if err := proto.Unmarshal(data, record); err != nil {
			return fmt.Errorf("decode lobby entry: %w", err)
		}
		id := record.GetEntry().GetParticipantId()
		// The stored entries expire no sooner than the last write asked for: the longest life
		// of an entry as stored (in memory it was at least that).
		keptUntil := time.UnixMilli(record.GetEntry().GetDeadlineUnixMs())
		if record.GetEntry().GetStatus() == messages.EntryStatus_ENTRY_STATUS_WAITING {
			keptUntil = keptUntil.Add(waitingKept)
		}
		if keptUntil.After(l.store.storedUntil) {
			l.store.storedUntil = keptUntil
		}
		delete(l.entries, id)
		exact := record.GetExactAtEpoch() != 0 && record.GetExactAtEpoch() == epoch-1
		if l.restoreEntry(record.GetEntry(), exact, now) {
			delete(l.store.unsaved, id)
		} else {
			l.markUnsaved(id) // past its deadline: removed with the next write
		}
	}
	return nil
}
