package servicetest

import (
	"testing"
)

// TestReservedPortsAreExclusive: a reserved port is in the reserved range (outside the kernel's
// ephemeral range on a usual machine), and no other test can reserve it while it is held.
func TestReservedPortsAreExclusive(t *testing.T) {
	lo, hi := reservedRange()
	seen := map[int]bool{}
	for range 50 {
		port := ReservePort(t)
		if port < lo || port > hi {
			t.Fatalf("port %d outside the reserved range %d-%d", port, lo, hi)
		}
		if seen[port] {
			t.Fatalf("port %d reserved twice", port)
		}
		seen[port] = true
		if lock, ok := lockPort(port); ok {
			lock.Close()
			t.Fatalf("port %d could be locked again while reserved", port)
		}
	}
}

func TestReservedPortIsReleasedAtTheEndOfTheTest(t *testing.T) {
	var port int
	t.Run("holder", func(t *testing.T) { port = ReservePort(t) })
	lock, ok := lockPort(port)
	if !ok {
		t.Fatalf("port %d still locked after its test ended", port)
	}
	lock.Close()
}
