package placement

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"testing"

	protocluster "github.com/asynkron/protoactor-go/cluster"
)

func TestRendezvous(t *testing.T) {
	members := []string{"10.0.0.1:4000", "10.0.0.2:4000", "10.0.0.3:4000"}
	keys := make([]string, 30000)
	for i := range keys {
		keys[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i) // room ids differing in their last bytes
	}
	owners := map[string]string{}
	count := map[string]int{}
	for _, k := range keys {
		owners[k] = rendezvous(members, k)
		count[owners[k]]++
	}

	t.Run("balanced", func(t *testing.T) {
		for _, m := range members {
			if share := float64(count[m]) / float64(len(keys)); share < 0.30 || share > 0.37 {
				t.Errorf("%s owns %.3f of the keys, want about 1/3", m, share)
			}
		}
	})
	t.Run("independent of the order members are listed in", func(t *testing.T) {
		reversed := slices.Clone(members)
		slices.Reverse(reversed)
		for _, k := range keys[:1000] {
			if got := rendezvous(reversed, k); got != owners[k] {
				t.Fatalf("%s: %s, was %s", k, got, owners[k])
			}
		}
	})
	t.Run("a departure moves only the departed member's keys", func(t *testing.T) {
		survivors := members[:2]
		for _, k := range keys {
			got := rendezvous(survivors, k)
			if owners[k] != members[2] && got != owners[k] {
				t.Fatalf("%s moved from %s to %s although its owner stayed", k, owners[k], got)
			}
		}
	})
	t.Run("a join takes about 1/N of the keys, all to the new member", func(t *testing.T) {
		joined := append(slices.Clone(members), "10.0.0.4:4000")
		moved := 0
		for _, k := range keys {
			got := rendezvous(joined, k)
			if got != owners[k] {
				if got != joined[3] {
					t.Fatalf("%s moved to %s, not to the new member", k, got)
				}
				moved++
			}
		}
		if share := float64(moved) / float64(len(keys)); share < 0.22 || share > 0.28 {
			t.Errorf("a fourth member took %.3f of the keys, want about 1/4", share)
		}
	})
	t.Run("no members", func(t *testing.T) {
		if got := rendezvous(nil, keys[0]); got != "" {
			t.Fatalf("owner among no members: %q", got)
		}
	})
}

// TestHoldersGoneOrMember: a room's earlier holder is gone when its own process was seen gone
// (connection broken, left the membership), not when a new process took its address; a holder
// never seen is neither gone nor a member.
func TestHoldersGoneOrMember(t *testing.T) {
	const self, a, b = "10.0.0.1:4000", "10.0.0.2:4000", "10.0.0.3:4000"
	l := New(0, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	l.self = self
	topology := func(ids map[string]string) {
		var members []*protocluster.Member
		for addr, id := range ids {
			host, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			members = append(members, &protocluster.Member{Id: id, Host: host, Port: int32(p)})
		}
		l.onTopology(&protocluster.ClusterTopology{Members: members})
	}
	check := func(when, holder string, gone, member bool) {
		t.Helper()
		if got := l.Gone(holder); got != gone {
			t.Errorf("%s: Gone(%s) = %v, want %v", when, holder, got, gone)
		}
		if got := l.Member(holder); got != member {
			t.Errorf("%s: Member(%s) = %v, want %v", when, holder, got, member)
		}
	}
	topology(map[string]string{self: "s1", a: "a1", b: "b1"})
	if got := l.Holder(); got != "s1@"+self {
		t.Fatalf("Holder() = %q", got)
	}
	check("all up", "a1@"+a, false, true)
	check("all up", "a0@"+a, false, false)   // an earlier process of a that this view never had
	check("all up", "s0@"+self, true, false) // an earlier process on this address
	check("all up", "x1@10.0.0.9:4000", false, false)

	l.onConnectionLost(a)
	check("a's connection broke", "a1@"+a, true, true)
	check("a's connection broke", a, true, true) // a holder recorded before its id was known

	topology(map[string]string{self: "s1", a: "a2", b: "b1"}) // a restarted on its address
	check("a restarted", "a1@"+a, true, false)
	check("a restarted", "a2@"+a, false, true)

	topology(map[string]string{self: "s1", a: "a2"}) // b left
	check("b left", "b1@"+b, true, false)
	check("b left", "b2@"+b, false, false) // a new process of b, not yet in this view
	topology(map[string]string{self: "s1", a: "a2", b: "b2"})
	check("b back as a new process", "b1@"+b, true, false)
	check("b back as a new process", "b2@"+b, false, true)
}
