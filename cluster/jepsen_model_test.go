package cluster_test

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The sequential specification of one room, as far as the checked-history test drives it
// (shared/spec/rooms.md "Lobby", api.md "Rooms" and "Lobby"). The guests are anonymous, so for
// them `trusted` is `restricted`; the lobby timeouts are set far beyond the test's length, so no
// entry expires.

// maxGuests bounds the guests of one room: the state is a fixed array, comparable with ==.
const maxGuests = 128

type accessLevel uint8

const (
	accessPublic accessLevel = iota
	accessTrusted
	accessRestricted
)

var accessLevelNames = map[accessLevel]string{accessPublic: "public", accessTrusted: "trusted", accessRestricted: "restricted"}

type entryStatus uint8

const (
	entryNone entryStatus = iota // no lobby entry
	entryWaiting
	entryAccepted
	entryDenied
)

var entryStatusNames = map[entryStatus]string{entryNone: "none", entryWaiting: "waiting", entryAccepted: "accepted", entryDenied: "denied"}

// roomState is the room as the operations see it: its access level and each guest's lobby entry.
type roomState struct {
	access  accessLevel
	entries [maxGuests]entryStatus
}

type opKind uint8

const (
	opRequestEntry opKind = iota // POST request-entry/ by a guest: a knock (first time) or a poll
	opDecide                     // POST enter/ by the owner: admit or deny
	opListWaiting                // GET waiting-participants/ by the owner
	opGetRoom                    // GET the room by the owner: its access level
	opSetAccess                  // PATCH the room's access_level by the owner
)

// roomInput is one operation on a room.
type roomInput struct {
	room  string
	kind  opKind
	guest int         // opRequestEntry, opDecide
	knock bool        // opRequestEntry: the guest's first request (for the description only)
	allow bool        // opDecide
	level accessLevel // opSetAccess
}

// roomOutput is what the operation answered. unknown: the answer was lost (timeout, transport
// error, 5xx), so the operation may or may not have taken effect; its return time is the end of
// the history, and any output is accepted, so the checker may place it anywhere after its call,
// including after every other operation (which is the same as never).
type roomOutput struct {
	unknown bool
	status  entryStatus // opRequestEntry
	found   bool        // opDecide: 200 (true) or 404 (false)
	waiting guestSet    // opListWaiting: the guests listed
	foreign bool        // opListWaiting: the list held an id of no guest of the test
	level   accessLevel // opGetRoom, opSetAccess
}

// stepRoom applies one operation to the room's state: whether the room could have answered
// out, and the state after.
func stepRoom(s roomState, in roomInput, out roomOutput) (bool, roomState) {
	next := s
	switch in.kind {
	case opRequestEntry:
		// The bypass is checked first, on every request: a public room lets anyone in without
		// a lobby entry. Otherwise a known entry answers its status (a poll changes nothing we
		// observe), and an unknown participant becomes waiting.
		var answer entryStatus
		switch {
		case s.access == accessPublic:
			answer = entryAccepted
		case s.entries[in.guest] != entryNone:
			answer = s.entries[in.guest]
		default:
			next.entries[in.guest] = entryWaiting
			answer = entryWaiting
		}
		return out.unknown || out.status == answer, next
	case opDecide:
		// A public room has no lobby (404); so has an unknown participant. A known entry,
		// whatever its status, takes the decision.
		found := s.access != accessPublic && s.entries[in.guest] != entryNone
		if found {
			next.entries[in.guest] = entryDenied
			if in.allow {
				next.entries[in.guest] = entryAccepted
			}
		}
		return out.unknown || out.found == found, next
	case opListWaiting:
		// Public room: an empty list. Otherwise exactly the waiting entries.
		var waiting guestSet
		if s.access != accessPublic {
			for g, e := range s.entries {
				if e == entryWaiting {
					waiting = waiting.with(g)
				}
			}
		}
		return !out.foreign && out.waiting == waiting, s
	case opGetRoom:
		return out.level == s.access, s
	case opSetAccess:
		next.access = in.level
		return out.unknown || out.level == in.level, next
	}
	return false, s
}

// roomModel is the porcupine model: one partition per room (rooms share nothing), each starting
// as the test creates its rooms: restricted, empty lobby.
var roomModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byRoom := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			room := op.Input.(roomInput).room
			if _, seen := byRoom[room]; !seen {
				order = append(order, room)
			}
			byRoom[room] = append(byRoom[room], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, room := range order {
			out = append(out, byRoom[room])
		}
		return out
	},
	Init: func() any { return roomState{access: accessRestricted} },
	Step: func(state, input, output any) (bool, any) {
		return stepRoom(state.(roomState), input.(roomInput), output.(roomOutput))
	},
	Hash: func(state any) uint64 {
		s := state.(roomState)
		h := fnv.New64a()
		_, _ = h.Write([]byte{byte(s.access)})
		for _, e := range s.entries {
			_, _ = h.Write([]byte{byte(e)})
		}
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string { return describeOperation(input.(roomInput), output.(roomOutput)) },
	DescribeState:     func(state any) string { return describeState(state.(roomState)) },
}

func describeOperation(in roomInput, out roomOutput) string {
	var call, answer string
	switch in.kind {
	case opRequestEntry:
		call, answer = fmt.Sprintf("poll(g%d)", in.guest), entryStatusNames[out.status]
		if in.knock {
			call = fmt.Sprintf("knock(g%d)", in.guest)
		}
	case opDecide:
		call, answer = fmt.Sprintf("deny(g%d)", in.guest), "404"
		if in.allow {
			call = fmt.Sprintf("admit(g%d)", in.guest)
		}
		if out.found {
			answer = "200"
		}
	case opListWaiting:
		call, answer = "waiting()", "["+strings.Join(guestNames(out.waiting), " ")+"]"
		if out.foreign {
			answer += " + unknown ids"
		}
	case opGetRoom:
		call, answer = "get()", accessLevelNames[out.level]
	case opSetAccess:
		call, answer = "set("+accessLevelNames[in.level]+")", accessLevelNames[out.level]
	}
	if out.unknown {
		answer = "? (no answer)"
	}
	return call + " -> " + answer
}

func describeState(s roomState) string {
	parts := []string{accessLevelNames[s.access]}
	for g, e := range s.entries {
		if e != entryNone {
			parts = append(parts, fmt.Sprintf("g%d:%s", g, entryStatusNames[e]))
		}
	}
	return strings.Join(parts, " ")
}

// guestSet is a set of guests of a room, comparable with ==.
type guestSet [maxGuests / 64]uint64

func (s guestSet) with(g int) guestSet {
	s[g/64] |= 1 << (g % 64)
	return s
}

func guestNames(set guestSet) []string {
	var names []string
	for g := range maxGuests {
		if set[g/64]&(1<<(g%64)) != 0 {
			names = append(names, fmt.Sprintf("g%d", g))
		}
	}
	return names
}
