package config

import "time"

// HTTPLimits bound what one client can make the node hold: a connection that sends its request
// slowly, never reads its answer, or idles, is closed after its timeout; headers are bounded;
// and the node serves at most MaxConnections connections at once (more wait in the kernel's
// accept queue), so that a flood of slow anonymous connections cannot exhaust goroutines or
// file descriptors.
type HTTPLimits struct {
	ReadTimeout    time.Duration // HTTP_READ_TIMEOUT: a whole request, body included
	WriteTimeout   time.Duration // HTTP_WRITE_TIMEOUT: from the end of the request to the end of the answer
	IdleTimeout    time.Duration // HTTP_IDLE_TIMEOUT: a keep-alive connection between requests
	MaxHeaderBytes int           // HTTP_MAX_HEADER_BYTES
	MaxConnections int           // HTTP_MAX_CONNECTIONS: served at once
}
