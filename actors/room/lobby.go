package room

import (
	"sort"
	"strconv"
	"time"

	"meetcoord/messages"
)

// lobbyTimeouts are how long each kind of lobby entry lives (rooms.md, LOBBY_*_TIMEOUT).
type lobbyTimeouts struct {
	waiting  time.Duration
	denied   time.Duration
	accepted time.Duration
}

// lobbyEntry is one participant who knocked.
type lobbyEntry struct {
	participantID string
	identity      string // LiveKit identity the participant's token carries
	client        string // who paid for the entry (RequestEntry.client), "" when unknown
	username      string
	status        messages.EntryStatus
	deadline      time.Time
}

// lobby holds the room's knocks with explicit deadlines. It is plain data owned by the room
// actor: no locks, no timers. An entry past its deadline no longer exists, whatever the map
// still holds, so expiry needs no write and no timer to be exact.
//
// The entries are stored one by one, apart from the snapshot (lobbystore.go): every change goes
// through touch, which remembers what to write and how to undo it.
type lobby struct {
	timeouts *lobbyTimeouts // the node's, shared by its rooms
	entries  map[string]*lobbyEntry
	store    lobbyStoreState
}

func newLobby(t lobbyTimeouts) *lobby {
	return &lobby{timeouts: &t}
}

// The lobby's maps are made on first write: most rooms never have a lobby, and empty maps
// cost a few hundred bytes in each of the 100,000 rooms a node may hold.

// setEntry records the entry of a participant.
func (l *lobby) setEntry(participantID string, e *lobbyEntry) {
	if l.entries == nil {
		l.entries = map[string]*lobbyEntry{}
	}
	l.entries[participantID] = e
}

// get returns the live entry of a participant, dropping it when expired.
func (l *lobby) get(participantID string, now time.Time) (*lobbyEntry, bool) {
	e, ok := l.entries[participantID]
	if !ok {
		return nil, false
	}
	if !now.Before(e.deadline) {
		l.expire(participantID)
		return nil, false
	}
	return e, true
}

// knock handles a request-entry from a participant who may not join directly. It returns the
// entry and whether it is new (a new entry must be persisted and announced; a poll of a
// waiting entry only pushes its deadline, which is not worth a write: see restore).
func (l *lobby) knock(participantID, identity, username string, now time.Time) (entry lobbyEntry, isNew bool) {
	if e, ok := l.get(participantID, now); ok {
		if e.status == messages.EntryStatus_ENTRY_STATUS_WAITING {
			e.deadline = now.Add(l.timeouts.waiting)
		}
		return *e, false
	}
	l.touch(participantID)
	e := &lobbyEntry{
		participantID: participantID,
		identity:      identity,
		username:      username,
		status:        messages.EntryStatus_ENTRY_STATUS_WAITING,
		deadline:      now.Add(l.timeouts.waiting),
	}
	l.setEntry(participantID, e)
	return *e, true
}

// decide admits or denies a live entry; ok=false when the participant is unknown or expired.
func (l *lobby) decide(participantID string, allow bool, now time.Time) (lobbyEntry, bool) {
	e, ok := l.get(participantID, now)
	if !ok {
		return lobbyEntry{}, false
	}
	l.touch(participantID)
	if allow {
		e.status = messages.EntryStatus_ENTRY_STATUS_ACCEPTED
		e.deadline = now.Add(l.timeouts.accepted)
	} else {
		e.status = messages.EntryStatus_ENTRY_STATUS_DENIED
		e.deadline = now.Add(l.timeouts.denied)
	}
	return *e, true
}

// waiting lists the live waiting entries in a stable order (username, then id), so that an
// admin's list does not reshuffle between polls.
func (l *lobby) waiting(now time.Time) []lobbyEntry {
	var out []lobbyEntry
	for id := range l.entries {
		if e, ok := l.get(id, now); ok && e.status == messages.EntryStatus_ENTRY_STATUS_WAITING {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].username != out[j].username {
			return out[i].username < out[j].username
		}
		return out[i].participantID < out[j].participantID
	})
	return out
}

// waitingCount is how many live entries are waiting, and how many of them client made.
func (l *lobby) waitingCount(client string, now time.Time) (all, ofClient int) {
	for id := range l.entries {
		if e, ok := l.get(id, now); ok && e.status == messages.EntryStatus_ENTRY_STATUS_WAITING {
			all++
			if client != "" && e.client == client {
				ofClient++
			}
		}
	}
	return all, ofClient
}

// setClient records who paid for a new entry (see RequestEntry.client).
func (l *lobby) setClient(participantID, client string) {
	if e, ok := l.entries[participantID]; ok {
		e.client = client
	}
}

// removeIdentity drops the entries of a LiveKit identity (a moderator removed them); reports
// whether a live one existed.
func (l *lobby) removeIdentity(identity string, now time.Time) bool {
	removed := false
	for id, e := range l.entries {
		if e.identity == identity || e.participantID == identity {
			_, live := l.get(id, now)
			removed = removed || live
			l.touch(id)
			delete(l.entries, id)
		}
	}
	return removed
}

// clear drops every entry (the LiveKit room finished); reports whether any existed.
func (l *lobby) clear() bool {
	had := len(l.entries) > 0
	for id := range l.entries {
		l.touch(id)
	}
	l.entries = nil
	return had
}

// prune drops expired entries; the store drops them with the next lobby write.
func (l *lobby) prune(now time.Time) {
	for id := range l.entries {
		l.get(id, now)
	}
}

// snapshot encodes the live entries, sorted by participant id.
func (l *lobby) snapshot(now time.Time) []*messages.LobbyEntry {
	l.prune(now)
	out := make([]*messages.LobbyEntry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.encode())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ParticipantId < out[j].ParticipantId })
	return out
}

// restore loads persisted entries in place of the lobby's. Polls push a waiting entry's deadline in memory only (a poll
// never writes), so after a crash a stored waiting deadline may be older than the participant's
// last poll: unless the snapshot was written exact (clean passivation), a stored waiting entry is
// given one more waiting period from now. That keeps the place of a participant who goes on
// polling while their room moves to another node, at the price of showing, for one waiting
// period, a knock whose author stopped polling just before the crash. Accepted and denied
// deadlines are always exact.
func (l *lobby) restore(entries []*messages.LobbyEntry, exact bool, now time.Time) {
	l.entries = nil
	l.store = newLobbyStoreState()
	for _, e := range entries {
		l.restoreEntry(e, exact, now)
	}
}

// restoreEntry loads one persisted entry (see restore); reports whether it is still live.
func (l *lobby) restoreEntry(e *messages.LobbyEntry, exact bool, now time.Time) bool {
	deadline := time.UnixMilli(e.GetDeadlineUnixMs())
	if e.GetStatus() == messages.EntryStatus_ENTRY_STATUS_WAITING && !exact {
		if grace := now.Add(l.timeouts.waiting); deadline.Before(grace) {
			deadline = grace
		}
	}
	if !now.Before(deadline) {
		return false
	}
	l.setEntry(e.GetParticipantId(), &lobbyEntry{
		participantID: e.GetParticipantId(),
		identity:      e.GetIdentity(),
		client:        e.GetClient(),
		username:      e.GetUsername(),
		status:        e.GetStatus(),
		deadline:      deadline,
	})
	return true
}

// encode is the entry's persisted form.
func (e *lobbyEntry) encode() *messages.LobbyEntry {
	return &messages.LobbyEntry{
		ParticipantId:  e.participantID,
		Identity:       e.identity,
		Client:         e.client,
		Username:       e.username,
		Status:         e.status,
		DeadlineUnixMs: e.deadline.UnixMilli(),
	}
}

// participantColor is a stable colour per participant id, so that everyone sees the same colour
// for a participant on every poll and in their LiveKit attributes.
func participantColor(participantID string) string {
	// FNV-1a, 32 bits, inline: hash/fnv's interface value is an allocation on every poll.
	sum := uint32(2166136261)
	for i := 0; i < len(participantID); i++ {
		sum ^= uint32(participantID[i])
		sum *= 16777619
	}
	hue := sum % 361
	saturation := 50 + (sum/361)%26
	lightness := 25 + (sum/(361*26))%36
	// Appended rather than formatted with fmt: every lobby poll answers it, and fmt was a tenth
	// of a poll's CPU (docs/performance.md).
	b := make([]byte, 0, len("hsl(360, 75%, 60%)"))
	b = append(b, "hsl("...)
	b = strconv.AppendUint(b, uint64(hue), 10)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, uint64(saturation), 10)
	b = append(b, "%, "...)
	b = strconv.AppendUint(b, uint64(lightness), 10)
	b = append(b, "%)"...)
	return string(b)
}
