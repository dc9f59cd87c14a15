// Package servicetest is the test harness: it hands tests the throwaway Redis and etcd that
// `make test` started, starts livekit-server and SMTP servers for them, and starts meetcoord nodes
// on all that, in the test process (service.New) or as processes of the built command.
package servicetest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURLEnv names the variable through which `make test` gives tests its throwaway Redis.
const RedisURLEnv = "MEETCOORD_TEST_REDIS_URL"

// testDatabases is how many databases the throwaway Redis is started with (scripts/test-redis.sh):
// each test gets one of its own, so that packages running in parallel never see each other's keys.
const testDatabases = 512

// RedisURL returns the URL of an empty database of the test Redis, reserved for this test. It
// fails the test, saying what to do, when no test Redis was started: integration tests never skip.
func RedisURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(RedisURLEnv)
	if base == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which installs redis-server "+
			"(apt-get install redis-server) and starts a throwaway Redis for them", RedisURLEnv)
	}
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("%s=%q: %v", RedisURLEnv, base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin := redis.NewClient(opts)
	defer admin.Close()
	// Database 0 holds the allocation counter; tests use 1..testDatabases-1 in turn.
	n, err := admin.Incr(ctx, "meetcoord-test:next-db").Result()
	if err != nil {
		t.Fatalf("test Redis at %s does not answer: %v", base, err)
	}
	db := int(n%(testDatabases-1)) + 1
	opts.DB = db
	client := redis.NewClient(opts)
	defer client.Close()
	if err := client.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush test database %d: %v", db, err)
	}
	return fmt.Sprintf("redis://%s/%d", opts.Addr, db)
}
