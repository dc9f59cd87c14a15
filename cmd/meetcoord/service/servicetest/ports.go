package servicetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Ports for servers that tests start as other processes (nodes, livekit-server, etcd, Redis).
//
// Binding port 0, closing, and handing the number to a child process is racy: until the child
// binds it, the kernel may give the same number to anyone, because it lies in the ephemeral range
// that outgoing connections also draw from (CI once failed with "address already in use" this
// way, the port taken by another test package's client connection). So ports come from a range
// just below the kernel's ephemeral range, which the kernel never hands out by itself, and each
// is reserved across test processes with an flock on a file named after it, held until the test
// ends. `go test ./...` runs packages in parallel processes, hence the file lock.

const reservedSpan = 10000

var portLockDir = filepath.Join(os.TempDir(), "meetcoord-test-ports")

// reservedRange is where ReservePort picks from: below the ephemeral range when there is room,
// else above it, else (a kernel handing out nearly every port) a span inside it, where only the
// locks keep our tests apart.
func reservedRange() (lo, hi int) {
	low, high := 32768, 60999 // Linux's default ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if l, err := strconv.Atoi(f[0]); err == nil {
				low = l
			}
			if h, err := strconv.Atoi(f[1]); err == nil {
				high = h
			}
		}
	}
	const minSpan = 2000
	switch {
	case low-1-1024 >= minSpan:
		return max(1024, low-reservedSpan), low - 1
	case 65535-(high+1) >= minSpan:
		return high + 1, min(high+reservedSpan, 65535)
	default:
		return 20000, 20000 + reservedSpan - 1
	}
}

// ReservePort returns a loopback port free for both TCP and UDP, which no other test (in this
// process or another) gets until the test ends.
func ReservePort(t testing.TB) int {
	t.Helper()
	lo, hi := reservedRange()
	if err := os.MkdirAll(portLockDir, 0o777); err != nil {
		t.Fatalf("reserve a port: %v", err)
	}
	_ = os.Chmod(portLockDir, 0o1777) // shared by every user's tests, like /tmp (fails if not ours)
	for attempt := 0; attempt < 1000; attempt++ {
		port := lo + rand.IntN(hi-lo+1)
		lock, ok := lockPort(port)
		if !ok {
			continue
		}
		if !bindable(port) {
			lock.Close()
			continue
		}
		t.Cleanup(func() { lock.Close() }) // closing the file releases the flock
		return port
	}
	t.Fatalf("no free port in %d-%d after 1000 attempts", lo, hi)
	return 0
}

// lockPort takes the port's lock file without waiting; ok is false when another test holds it.
func lockPort(port int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// bindable reports whether nothing outside our tests listens on the port, for TCP and UDP.
func bindable(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// FreeAddr is a reserved loopback TCP address (see ReservePort), for a server a test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", ReservePort(t))
}

// ClosedPort is a loopback port where nothing listens (connections are refused): reserved, so
// no other test starts a server there while this one runs.
func ClosedPort(t testing.TB) int {
	t.Helper()
	return ReservePort(t)
}
