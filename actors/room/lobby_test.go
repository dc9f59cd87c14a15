package room

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"meetcoord/messages"
)

// Lobby tests run on explicit times: a fixed base with whole milliseconds (deadlines are stored
// in ms) plus offsets. Nothing sleeps.
var lobbyBase = time.UnixMilli(1_760_000_000_000)

var lobbyTestTimeouts = lobbyTimeouts{waiting: 3 * time.Second, denied: 5 * time.Second, accepted: 6 * time.Hour}

const (
	stWaiting  = messages.EntryStatus_ENTRY_STATUS_WAITING
	stAccepted = messages.EntryStatus_ENTRY_STATUS_ACCEPTED
	stDenied   = messages.EntryStatus_ENTRY_STATUS_DENIED
)

func lobbyAt(d time.Duration) time.Time { return lobbyBase.Add(d) }

// lobbyStep is one call on the lobby at base+at, with what it must answer.
type lobbyStep struct {
	at   time.Duration
	op   string // knock, allow, deny, remove, clear
	id   string
	name string

	wantNew      bool // knock
	wantOK       bool // allow, deny, remove, clear
	wantStatus   messages.EntryStatus
	wantDeadline time.Duration // offset from base; checked when wantStatus is set
}

func TestLobbyRules(t *testing.T) {
	const a, b = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	w, dn, ac := lobbyTestTimeouts.waiting, lobbyTestTimeouts.denied, lobbyTestTimeouts.accepted
	ms := time.Millisecond
	tests := []struct {
		name  string
		steps []lobbyStep
	}{
		{"knock creates a waiting entry", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
		}},
		{"poll before the deadline keeps the place and pushes the deadline", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 2 * time.Second, op: "knock", id: a, name: "Ann", wantStatus: stWaiting, wantDeadline: 2*time.Second + w},
			// later than the first deadline, still within the pushed one
			{at: 4 * time.Second, op: "knock", id: a, name: "Ann", wantStatus: stWaiting, wantDeadline: 4*time.Second + w},
			{at: 4*time.Second + w - ms, op: "knock", id: a, name: "Ann", wantStatus: stWaiting, wantDeadline: 4*time.Second + 2*w - ms},
		}},
		{"a poll under another username is the same entry", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: time.Second, op: "knock", id: a, name: "Someone else", wantStatus: stWaiting, wantDeadline: time.Second + w},
		}},
		{"no poll for the waiting timeout drops the entry: the next knock is new", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: w, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: 2 * w},
			{at: 3*w + ms, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: 4*w + ms},
		}},
		{"allow: accepted for the accepted timeout, then gone", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: time.Second, op: "allow", id: a, wantOK: true, wantStatus: stAccepted, wantDeadline: time.Second + ac},
			// an accepted participant's polls do not push the deadline and do not make them wait
			{at: time.Hour, op: "knock", id: a, name: "Ann", wantStatus: stAccepted, wantDeadline: time.Second + ac},
			{at: time.Second + ac - ms, op: "knock", id: a, name: "Ann", wantStatus: stAccepted, wantDeadline: time.Second + ac},
			{at: time.Second + ac, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: time.Second + ac + w},
		}},
		{"deny: denied until the denied timeout, then a knock is new and waiting", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: time.Second, op: "deny", id: a, wantOK: true, wantStatus: stDenied, wantDeadline: time.Second + dn},
			{at: 2 * time.Second, op: "knock", id: a, name: "Ann", wantStatus: stDenied, wantDeadline: time.Second + dn},
			{at: time.Second + dn - ms, op: "knock", id: a, name: "Ann", wantStatus: stDenied, wantDeadline: time.Second + dn},
			{at: time.Second + dn, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: time.Second + dn + w},
		}},
		{"decide on an unknown participant fails", []lobbyStep{
			{at: 0, op: "allow", id: a},
			{at: 0, op: "deny", id: a},
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "allow", id: b},
		}},
		{"decide on an expired participant fails", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: w, op: "allow", id: a},
			{at: 0, op: "knock", id: b, name: "Bob", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 10 * time.Second, op: "deny", id: b},
		}},
		{"decide on an expired denial fails", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "deny", id: a, wantOK: true, wantStatus: stDenied, wantDeadline: dn},
			{at: dn, op: "allow", id: a},
		}},
		{"a decided entry can be decided again (admin changes their mind)", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: time.Second, op: "deny", id: a, wantOK: true, wantStatus: stDenied, wantDeadline: time.Second + dn},
			{at: 2 * time.Second, op: "allow", id: a, wantOK: true, wantStatus: stAccepted, wantDeadline: 2*time.Second + ac},
		}},
		{"participants are independent", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: time.Second, op: "knock", id: b, name: "Bob", wantNew: true, wantStatus: stWaiting, wantDeadline: time.Second + w},
			{at: 2 * time.Second, op: "deny", id: a, wantOK: true, wantStatus: stDenied, wantDeadline: 2*time.Second + dn},
			{at: 2 * time.Second, op: "knock", id: b, name: "Bob", wantStatus: stWaiting, wantDeadline: 2*time.Second + w},
		}},
		{"remove drops one entry", []lobbyStep{
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "knock", id: b, name: "Bob", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "allow", id: a, wantOK: true, wantStatus: stAccepted, wantDeadline: ac},
			{at: time.Second, op: "remove", id: a, wantOK: true},
			{at: time.Second, op: "remove", id: a},
			{at: time.Second, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: time.Second + w},
			{at: time.Second, op: "knock", id: b, name: "Bob", wantStatus: stWaiting, wantDeadline: time.Second + w},
		}},
		{"clear drops every entry", []lobbyStep{
			{at: 0, op: "clear"},
			{at: 0, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "knock", id: b, name: "Bob", wantNew: true, wantStatus: stWaiting, wantDeadline: w},
			{at: 0, op: "allow", id: a, wantOK: true, wantStatus: stAccepted, wantDeadline: ac},
			{at: time.Second, op: "clear", wantOK: true},
			{at: time.Second, op: "clear"},
			{at: time.Second, op: "knock", id: a, name: "Ann", wantNew: true, wantStatus: stWaiting, wantDeadline: time.Second + w},
			{at: time.Second, op: "allow", id: b},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLobby(lobbyTestTimeouts)
			for i, s := range tt.steps {
				now := lobbyAt(s.at)
				var (
					entry lobbyEntry
					isNew bool
					ok    bool
				)
				switch s.op {
				case "knock":
					entry, isNew = l.knock(s.id, s.id, s.name, now)
					ok = true
				case "allow", "deny":
					entry, ok = l.decide(s.id, s.op == "allow", now)
				case "remove":
					ok = l.removeIdentity(s.id, now)
				case "clear":
					ok = l.clear()
				default:
					t.Fatalf("step %d: unknown op %q", i, s.op)
				}
				where := fmt.Sprintf("step %d (%s %s at +%v)", i, s.op, s.id, s.at)
				switch s.op {
				case "knock":
					if isNew != s.wantNew {
						t.Errorf("%s: isNew = %v, want %v", where, isNew, s.wantNew)
					}
				default:
					if ok != s.wantOK {
						t.Errorf("%s: ok = %v, want %v", where, ok, s.wantOK)
					}
				}
				if s.wantStatus == messages.EntryStatus_ENTRY_STATUS_UNSPECIFIED {
					if (s.op == "allow" || s.op == "deny") && entry != (lobbyEntry{}) {
						t.Errorf("%s: failed decide returned %+v, want the zero entry", where, entry)
					}
					continue
				}
				if entry.participantID != s.id {
					t.Errorf("%s: participant %q, want %q", where, entry.participantID, s.id)
				}
				if entry.status != s.wantStatus {
					t.Errorf("%s: status %v, want %v", where, entry.status, s.wantStatus)
				}
				if want := lobbyAt(s.wantDeadline); !entry.deadline.Equal(want) {
					t.Errorf("%s: deadline +%v, want +%v", where, entry.deadline.Sub(lobbyBase), s.wantDeadline)
				}
				// The returned entry is a copy of what the lobby holds.
				if held, found := l.get(s.id, now); !found || *held != entry {
					t.Errorf("%s: lobby holds %+v (found %v), returned %+v", where, held, found, entry)
				}
			}
		})
	}
}

func TestLobbyWaitingList(t *testing.T) {
	type knock struct {
		id, name string
		at       time.Duration
		decide   string // "", "allow", "deny"
	}
	knocks := []knock{
		{id: "c", name: "bob", at: 0},
		{id: "b", name: "alice", at: 0},
		{id: "a", name: "alice", at: 0},
		{id: "d", name: "", at: 0},
		{id: "e", name: "carol", at: 0, decide: "allow"},
		{id: "f", name: "dave", at: 0, decide: "deny"},
		{id: "g", name: "aaron", at: -4 * time.Second}, // expired before the lists below
		{id: "h", name: "zoe", at: -2 * time.Second},   // expires at +1s
	}
	tests := []struct {
		name string
		at   time.Duration
		want []string // ids in order
	}{
		{"live waiting entries by username then id", 0, []string{"d", "a", "b", "c", "h"}},
		{"entries past their deadline are left out", time.Second, []string{"d", "a", "b", "c"}},
		{"everyone waiting expired", lobbyTestTimeouts.waiting, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLobby(lobbyTestTimeouts)
			for _, k := range knocks {
				l.knock(k.id, k.id, k.name, lobbyAt(k.at))
				switch k.decide {
				case "allow":
					l.decide(k.id, true, lobbyAt(k.at))
				case "deny":
					l.decide(k.id, false, lobbyAt(k.at))
				}
			}
			// The order must not depend on map iteration: ask several times.
			for range 20 {
				got := l.waiting(lobbyAt(tt.at))
				var ids []string
				for _, e := range got {
					if e.status != stWaiting {
						t.Fatalf("waiting() returned %+v", e)
					}
					ids = append(ids, e.participantID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
					t.Fatalf("waiting(+%v) = %v, want %v", tt.at, ids, tt.want)
				}
			}
		})
	}
}

func TestLobbySnapshotRestore(t *testing.T) {
	w := lobbyTestTimeouts.waiting
	// Entries: a waiting since +0 (deadline +3s), b accepted at +0 (deadline +6h), c denied at
	// +0 (deadline +5s), d waiting with a stored deadline past the grace (deadline +10s).
	stored := func() []*messages.LobbyEntry {
		l := newLobby(lobbyTestTimeouts)
		l.knock("a", "a", "Ann", lobbyAt(0))
		l.knock("b", "b", "Bob", lobbyAt(0))
		l.decide("b", true, lobbyAt(0))
		l.knock("c", "c", "Cid", lobbyAt(0))
		l.decide("c", false, lobbyAt(0))
		l.knock("x", "x", "Expired", lobbyAt(-time.Minute)) // pruned from the snapshot
		s := l.snapshot(lobbyAt(0))
		// a waiting deadline later than now+waiting (e.g. the timeout was shortened since)
		s = append(s, &messages.LobbyEntry{ParticipantId: "d", Username: "Dee", Status: stWaiting,
			DeadlineUnixMs: lobbyAt(10 * time.Second).UnixMilli()})
		return s
	}
	type want struct {
		status   messages.EntryStatus
		deadline time.Duration
	}
	tests := []struct {
		name  string
		exact bool
		at    time.Duration
		want  map[string]want
	}{
		{"not exact, before every deadline: waiting gets now+waiting", false, 2 * time.Second, map[string]want{
			"a": {stWaiting, 2*time.Second + w}, "b": {stAccepted, 6 * time.Hour}, "c": {stDenied, 5 * time.Second},
			"d": {stWaiting, 10 * time.Second},
		}},
		{"not exact, waiting deadline passed: still one more waiting period", false, 4 * time.Second, map[string]want{
			"a": {stWaiting, 4*time.Second + w}, "b": {stAccepted, 6 * time.Hour}, "c": {stDenied, 5 * time.Second},
			"d": {stWaiting, 10 * time.Second},
		}},
		{"exact: waiting keeps its stored deadline", true, 2 * time.Second, map[string]want{
			"a": {stWaiting, w}, "b": {stAccepted, 6 * time.Hour}, "c": {stDenied, 5 * time.Second},
			"d": {stWaiting, 10 * time.Second},
		}},
		{"exact: an expired waiting entry is dropped", true, 4 * time.Second, map[string]want{
			"b": {stAccepted, 6 * time.Hour}, "c": {stDenied, 5 * time.Second}, "d": {stWaiting, 10 * time.Second},
		}},
		{"expired denial is dropped, exact or not", false, 5 * time.Second, map[string]want{
			"a": {stWaiting, 5*time.Second + w}, "b": {stAccepted, 6 * time.Hour}, "d": {stWaiting, 10 * time.Second},
		}},
		{"expired acceptance is dropped", false, 6 * time.Hour, map[string]want{
			"a": {stWaiting, 6*time.Hour + w},
			"d": {stWaiting, 6*time.Hour + w},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := stored()
			for _, e := range snap {
				if e.GetParticipantId() == "x" {
					t.Fatalf("snapshot kept an expired entry: %v", e)
				}
			}
			l := newLobby(lobbyTestTimeouts)
			l.knock("stale", "stale", "Stale", lobbyAt(tt.at)) // restore replaces whatever was there
			l.restore(snap, tt.exact, lobbyAt(tt.at))
			got := map[string]want{}
			for id, e := range l.entries {
				got[id] = want{e.status, e.deadline.Sub(lobbyBase)}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("restored %v, want %v", got, tt.want)
			}
			for id, e := range l.entries {
				if e.participantID != id {
					t.Errorf("entry %q has participant id %q", id, e.participantID)
				}
			}
			if e := l.entries["b"]; e != nil && e.username != "Bob" {
				t.Errorf("username of b = %q, want Bob", e.username)
			}
		})
	}
}

func TestLobbySnapshotRoundTripIsExact(t *testing.T) {
	l := newLobby(lobbyTestTimeouts)
	l.knock("w", "w", "Wanda", lobbyAt(0))
	l.knock("w", "w", "Wanda", lobbyAt(1500*time.Millisecond)) // pushed to +4.5s
	l.knock("a", "a", "Al", lobbyAt(0))
	l.decide("a", true, lobbyAt(time.Second))
	l.knock("d", "d", "Di", lobbyAt(0))
	l.decide("d", false, lobbyAt(2*time.Second))
	snap := l.snapshot(lobbyAt(2 * time.Second))
	for i := 1; i < len(snap); i++ {
		if snap[i-1].GetParticipantId() >= snap[i].GetParticipantId() {
			t.Fatalf("snapshot not sorted by participant id: %v", snap)
		}
	}
	r := newLobby(lobbyTestTimeouts)
	r.restore(snap, true, lobbyAt(2*time.Second))
	if len(r.entries) != len(l.entries) {
		t.Fatalf("restored %d entries, want %d", len(r.entries), len(l.entries))
	}
	for id, e := range l.entries {
		g := r.entries[id]
		if g == nil {
			t.Errorf("entry %s not restored", id)
			continue
		}
		if g.participantID != id || !g.deadline.Equal(e.deadline) || g.status != e.status || g.username != e.username {
			t.Errorf("entry %s: restored %+v, want %+v", id, g, e)
		}
	}
}

var hslPattern = regexp.MustCompile(`^hsl\((\d+), (\d+)%, (\d+)%\)$`)

func TestParticipantColor(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{'m', 'e', 'e', 't'})
	ids := []string{"", "x", "11111111-1111-4111-8111-111111111111"}
	for range 5000 {
		id, err := uuid.NewRandomFromReader(rng)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	hues := map[int]bool{}
	minS, maxS, minL, maxL := 1000, -1, 1000, -1
	for _, id := range ids {
		c := participantColor(id)
		if again := participantColor(id); again != c {
			t.Fatalf("participantColor(%q) not stable: %q then %q", id, c, again)
		}
		m := hslPattern.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("participantColor(%q) = %q, not hsl(h, s%%, l%%)", id, c)
		}
		h, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		l, _ := strconv.Atoi(m[3])
		if h < 0 || h > 360 || s < 50 || s > 75 || l < 25 || l > 60 {
			t.Fatalf("participantColor(%q) = %q out of range (hue 0-360, saturation 50-75, lightness 25-60)", id, c)
		}
		hues[h] = true
		minS, maxS, minL, maxL = min(minS, s), max(maxS, s), min(minL, l), max(maxL, l)
	}
	// A participant keeps their colour across versions (clients show it beside their name).
	for id, want := range map[string]string{"11111111-1111-4111-8111-111111111111": "hsl(24, 53%, 33%)", "x": "hsl(26, 63%, 37%)"} {
		if got := participantColor(id); got != want {
			t.Errorf("participantColor(%q) = %q, want %q as before", id, got, want)
		}
	}
	// A constant or nearly constant colour would pass the range checks: ask for spread.
	if len(hues) < 300 {
		t.Errorf("only %d distinct hues over %d ids", len(hues), len(ids))
	}
	if minS != 50 || maxS != 75 || minL != 25 || maxL != 60 {
		t.Errorf("saturation %d-%d, lightness %d-%d over %d ids: the ranges are not covered", minS, maxS, minL, maxL, len(ids))
	}
}
