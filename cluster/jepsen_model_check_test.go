package cluster_test

import (
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

// TestJepsenModelRejectsWhatTheSpecForbids: the room model is not vacuous. Small histories that
// the spec forbids (a lost decision, a stale read of the access level, a waiting list missing an
// acknowledged knock, a bypass ignored) are illegal; the same histories made legal by an
// indeterminate operation or by overlapping calls are accepted.
func TestJepsenModelRejectsWhatTheSpecForbids(t *testing.T) {
	const room = "r"
	knock := func(g int) roomInput { return roomInput{room: room, kind: opRequestEntry, guest: g, knock: true} }
	poll := func(g int) roomInput { return roomInput{room: room, kind: opRequestEntry, guest: g} }
	admit := func(g int) roomInput { return roomInput{room: room, kind: opDecide, guest: g, allow: true} }
	set := func(l accessLevel) roomInput { return roomInput{room: room, kind: opSetAccess, level: l} }
	list := roomInput{room: room, kind: opListWaiting}
	get := roomInput{room: room, kind: opGetRoom}
	entry := func(s entryStatus) roomOutput { return roomOutput{status: s} }
	lost := roomOutput{unknown: true}
	// op is one operation called at call and returning at ret (0 for the end of the history).
	type op struct {
		in        roomInput
		out       roomOutput
		call, ret int64
	}
	for _, tc := range []struct {
		name  string
		ops   []op
		legal bool
	}{
		{"knock, admit, poll sees accepted", []op{
			{knock(0), entry(entryWaiting), 1, 2}, {admit(0), roomOutput{found: true}, 3, 4}, {poll(0), entry(entryAccepted), 5, 6}}, true},
		{"an acknowledged admission lost", []op{
			{knock(0), entry(entryWaiting), 1, 2}, {admit(0), roomOutput{found: true}, 3, 4}, {poll(0), entry(entryWaiting), 5, 6}}, false},
		{"an admission whose answer was lost may be seen or not", []op{
			{knock(0), entry(entryWaiting), 1, 2}, {admit(0), lost, 3, 0}, {poll(0), entry(entryWaiting), 5, 6}, {poll(0), entry(entryAccepted), 7, 8}}, true},
		{"but not undone once seen", []op{
			{knock(0), entry(entryWaiting), 1, 2}, {admit(0), lost, 3, 0}, {poll(0), entry(entryAccepted), 5, 6}, {poll(0), entry(entryWaiting), 7, 8}}, false},
		{"admitting an unknown participant is a 404", []op{{admit(0), roomOutput{found: true}, 1, 2}}, false},
		{"a stale read of the access level", []op{
			{set(accessPublic), roomOutput{level: accessPublic}, 1, 2}, {get, roomOutput{level: accessRestricted}, 3, 4}}, false},
		{"a read concurrent with the write may see either", []op{
			{set(accessPublic), roomOutput{level: accessPublic}, 1, 4}, {get, roomOutput{level: accessRestricted}, 2, 3}}, true},
		{"a public room lets a guest in without a lobby", []op{
			{set(accessPublic), roomOutput{level: accessPublic}, 1, 2}, {knock(0), entry(entryAccepted), 3, 4}, {set(accessRestricted), roomOutput{level: accessRestricted}, 5, 6},
			{list, roomOutput{}, 7, 8}}, true},
		{"a public room asked to wait", []op{
			{set(accessPublic), roomOutput{level: accessPublic}, 1, 2}, {knock(0), entry(entryWaiting), 3, 4}}, false},
		{"the waiting list misses an acknowledged knock", []op{
			{knock(0), entry(entryWaiting), 1, 2}, {knock(1), entry(entryWaiting), 1, 2}, {list, roomOutput{waiting: guestSet{}.with(1)}, 3, 4}}, false},
		{"a guest beyond the first 64 is listed", []op{
			{knock(100), entry(entryWaiting), 1, 2}, {list, roomOutput{waiting: guestSet{}.with(100)}, 3, 4}}, true},
		{"a guest beyond the first 64 is not listed", []op{
			{knock(100), entry(entryWaiting), 1, 2}, {list, roomOutput{waiting: guestSet{}.with(36)}, 3, 4}}, false},
		{"the waiting list holds an unknown id", []op{{list, roomOutput{foreign: true}, 1, 2}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var history []porcupine.Operation
			for i, o := range tc.ops {
				ret := o.ret
				if ret == 0 {
					ret = 100
				}
				history = append(history, porcupine.Operation{ClientId: i, Input: o.in, Output: o.out, Call: o.call, Return: ret})
			}
			result, info := porcupine.CheckOperationsVerbose(roomModel, history, 0)
			if got := result == porcupine.Ok; got != tc.legal {
				t.Fatalf("linearizable = %v, want %v", got, tc.legal)
			}
			if !tc.legal && !strings.Contains(explainViolation(history, info), "cannot place:") {
				t.Fatalf("the explanation names no operation:\n%s", explainViolation(history, info))
			}
		})
	}
}
