package room

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// changeView is a lobby change in a comparable form: the ids put (with their status and exact
// epoch), the ids removed, and the TTL.
func changeView(t *testing.T, c *LobbyChange) string {
	t.Helper()
	if c == nil {
		return "none"
	}
	var puts []string
	for _, p := range c.Put {
		record := &messages.LobbyEntriesRecord{}
		if err := proto.Unmarshal(p.Record, record); err != nil {
			t.Fatalf("record of %s: %v", p.ParticipantID, err)
		}
		if record.GetEntry().GetParticipantId() != p.ParticipantID {
			t.Fatalf("record of %s holds %s", p.ParticipantID, record.GetEntry().GetParticipantId())
		}
		put := fmt.Sprintf("%s:%s", p.ParticipantID, record.GetEntry().GetStatus().String()[len("ENTRY_STATUS_"):])
		if record.GetExactAtEpoch() != 0 {
			put += fmt.Sprintf("@%d", record.GetExactAtEpoch())
		}
		puts = append(puts, put)
	}
	sort.Strings(puts)
	return fmt.Sprintf("put %v remove %v ttl %v", puts, c.Remove, c.TTL)
}

// TestLobbyStoreChanges: each command's change names only the entries it touched (plus the ones
// that expired since the last write), and the TTL is the longest life left to an entry.
func TestLobbyStoreChanges(t *testing.T) {
	w, dn, ac := lobbyTestTimeouts.waiting, lobbyTestTimeouts.denied, lobbyTestTimeouts.accepted
	type step struct {
		at      time.Duration
		do      func(l *lobby, now time.Time)
		changed bool   // the command must write
		want    string // changeView of pendingChange, then saved
	}
	knock := func(id string) func(*lobby, time.Time) {
		return func(l *lobby, now time.Time) { l.knock(id, id, "Guest "+id, now) }
	}
	// pollSince: the participants poll every second from base+since until now (no write).
	pollSince := func(since time.Duration, ids ...string) func(*lobby, time.Time) {
		return func(l *lobby, now time.Time) {
			for at := lobbyAt(since); !at.After(now); at = at.Add(time.Second) {
				for _, id := range ids {
					l.knock(id, id, "Guest "+id, at)
				}
			}
		}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a knock writes its one entry, however many wait", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("c"), true, "put [c:WAITING] remove [] ttl " + (w + waitingKept).String()},
		}},
		{"a poll writes nothing", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{time.Second, knock("a"), false, "none"},
		}},
		{"a decision writes its one entry; the TTL follows the longest life", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{time.Second, func(l *lobby, now time.Time) { l.decide("a", true, now) }, true, "put [a:ACCEPTED] remove [] ttl " + ac.String()},
			{time.Second, func(l *lobby, now time.Time) { l.decide("a", false, now) }, true, "put [a:DENIED] remove [] ttl " + (w - time.Second + waitingKept).String()},
		}},
		{"expired entries are removed with the next write", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{w, knock("c"), true, "put [c:WAITING] remove [a b] ttl " + (w + waitingKept).String()},
		}},
		{"a removal deletes one entry", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, func(l *lobby, now time.Time) { l.removeIdentity("a", now) }, true, "put [] remove [a] ttl " + (w + waitingKept).String()},
		}},
		{"the last entry gone: the whole lobby goes (TTL 0)", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, func(l *lobby, now time.Time) { l.decide("a", false, now) }, true, "put [a:DENIED] remove [] ttl " + dn.String()},
			{0, func(l *lobby, now time.Time) { l.removeIdentity("a", now) }, true, "put [] remove [] ttl 0s"},
		}},
		{"stored entries about to expire while polls kept them live: all written again", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{waitingKept - time.Minute, pollSince(0, "a"), false, "none"},
			{waitingKept - time.Minute, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{2*waitingKept - 2*time.Minute, pollSince(waitingKept-time.Minute, "a", "b"), false, "none"},
			{2*waitingKept - 2*time.Minute, knock("c"), true, "put [c:WAITING] remove [] ttl " + (w + waitingKept).String()},
			// nothing written for a while: the store would drop a and b, still polling
			{3*waitingKept - 2*time.Minute, pollSince(2*waitingKept-2*time.Minute, "a", "b", "c"), false, "none"},
			{3*waitingKept - 2*time.Minute, knock("d"), true, "put [a:WAITING b:WAITING c:WAITING d:WAITING] remove [] ttl " + (w + waitingKept).String()},
		}},
		{"clear: the whole lobby goes", []step{
			{0, knock("a"), true, "put [a:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, knock("b"), true, "put [b:WAITING] remove [] ttl " + (w + waitingKept).String()},
			{0, func(l *lobby, now time.Time) { l.clear() }, true, "put [] remove [] ttl 0s"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLobby(lobbyTestTimeouts)
			for i, s := range tt.steps {
				now := lobbyAt(s.at)
				l.beginCommand()
				s.do(l, now)
				if l.changedByCommand() != s.changed {
					t.Fatalf("step %d: changed=%v, want %v", i, l.changedByCommand(), s.changed)
				}
				var change *LobbyChange
				if s.changed {
					var err error
					if change, err = l.pendingChange(now, 0); err != nil {
						t.Fatal(err)
					}
				}
				if got := changeView(t, change); got != s.want {
					t.Fatalf("step %d: change %s, want %s", i, got, s.want)
				}
				l.saved(change, now)
			}
		})
	}
}

// TestLobbyStoreRollback: a command whose write failed leaves the lobby as it was, and the
// entries it touched are written again with the next write (a timed-out write may have landed).
func TestLobbyStoreRollback(t *testing.T) {
	w := lobbyTestTimeouts.waiting
	l := newLobby(lobbyTestTimeouts)
	l.beginCommand()
	l.knock("a", "a", "Ann", lobbyAt(0))
	first, err := l.pendingChange(lobbyAt(0), 0)
	if err != nil {
		t.Fatal(err)
	}
	l.saved(first, lobbyAt(0))

	l.beginCommand()
	l.decide("a", true, lobbyAt(time.Second))
	l.knock("b", "b", "Bob", lobbyAt(time.Second))
	l.rollback()
	if e, ok := l.get("a", lobbyAt(time.Second)); !ok || e.status != stWaiting || !e.deadline.Equal(lobbyAt(w)) {
		t.Fatalf("after rollback a = %+v (%v), want waiting until +%v", e, ok, w)
	}
	if _, ok := l.get("b", lobbyAt(time.Second)); ok {
		t.Fatal("after rollback b is still there")
	}
	if l.changedByCommand() {
		t.Fatal("a rolled back command still counts as a change")
	}
	l.beginCommand()
	l.knock("c", "c", "Cid", lobbyAt(time.Second))
	change, err := l.pendingChange(lobbyAt(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeView(t, change), "put [a:WAITING c:WAITING] remove [b] ttl "+(w+waitingKept).String(); got != want {
		t.Fatalf("next change %s, want %s", got, want)
	}
}

// TestLobbyStoreRestore: stored entries are newer than an old snapshot's; a stored waiting
// deadline is exact only for the activation right after the clean stop that wrote it; entries
// past their deadline on load are removed with the next write; old snapshot entries are stored
// apart with the next write.
func TestLobbyStoreRestore(t *testing.T) {
	w := lobbyTestTimeouts.waiting
	record := func(id string, status messages.EntryStatus, deadline time.Duration, exactAt int64) []byte {
		data, err := proto.Marshal(&messages.LobbyEntriesRecord{ExactAtEpoch: exactAt, Entry: &messages.LobbyEntry{
			ParticipantId: id, Identity: id, Username: "stored " + id, Status: status, DeadlineUnixMs: lobbyAt(deadline).UnixMilli()}})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	legacy := []*messages.LobbyEntry{
		{ParticipantId: "old", Username: "legacy old", Status: stAccepted, DeadlineUnixMs: lobbyAt(time.Hour).UnixMilli()},
		{ParticipantId: "both", Username: "legacy both", Status: stWaiting, DeadlineUnixMs: lobbyAt(0).UnixMilli()},
	}
	records := [][]byte{
		record("both", stAccepted, time.Hour, 0),
		record("exact", stWaiting, 2*time.Second, 4),
		record("stale-exact", stWaiting, 2*time.Second, 3),
		record("gone", stDenied, -time.Second, 0),
	}
	l := newLobby(lobbyTestTimeouts)
	now := lobbyAt(time.Second)
	if err := l.restoreStored(legacy, false, records, 5, now); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for id, e := range l.entries {
		got[id] = fmt.Sprintf("%s %s +%v", e.username, e.status.String()[len("ENTRY_STATUS_"):], e.deadline.Sub(lobbyBase))
	}
	want := map[string]string{
		"old":         "legacy old ACCEPTED +1h0m0s",
		"both":        "stored both ACCEPTED +1h0m0s",
		"exact":       "stored exact WAITING +2s",
		"stale-exact": "stored stale-exact WAITING +" + (time.Second + w).String(),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored %v\nwant %v", got, want)
	}
	if !l.inOldSnapshot() {
		t.Error("entries from an old snapshot do not ask for the snapshot to be rewritten")
	}
	l.beginCommand()
	change, err := l.pendingChange(now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeView(t, change), "put [old:ACCEPTED] remove [gone] ttl "+(time.Hour-time.Second).String(); got != want {
		t.Fatalf("first change after load %s, want %s", got, want)
	}
}

// TestLobbyStoreExactDeadlines: a clean stop writes every waiting entry, marked exact for the
// next activation, besides what is unsaved.
func TestLobbyStoreExactDeadlines(t *testing.T) {
	w := lobbyTestTimeouts.waiting
	l := newLobby(lobbyTestTimeouts)
	for _, id := range []string{"a", "b", "c"} {
		l.knock(id, id, id, lobbyAt(0))
	}
	l.decide("c", false, lobbyAt(0))
	first, err := l.pendingChange(lobbyAt(0), 0)
	if err != nil {
		t.Fatal(err)
	}
	l.saved(first, lobbyAt(0))
	l.knock("a", "a", "a", lobbyAt(time.Second)) // a poll: the stored deadline is now early
	change, err := l.pendingChange(lobbyAt(time.Second), 7)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeView(t, change), "put [a:WAITING@7 b:WAITING@7] remove [] ttl "+(w+waitingKept).String(); got != want {
		t.Fatalf("exact change %s, want %s", got, want)
	}
}
