package placement

import (
	"fmt"
	"slices"
	"testing"
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
