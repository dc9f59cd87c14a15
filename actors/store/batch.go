package store

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Group commit: the saves of many rooms go to Redis together. Each room waits for its own save
// (nothing is acknowledged before it is stored), but while one batch is on its way the next
// gathers, so that under load a round trip, and Redis's read and write of the connection, carry
// tens of saves instead of one. With one save at a time nothing waits: a runner takes it at once.

const (
	// batchRunners is how many batches may be on their way at once (each on a connection of
	// its own): one slow batch does not hold the others.
	batchRunners = 4
	// maxBatch bounds a batch, so that one round trip stays short.
	maxBatch = 128
)

// scriptCall is one script to run in a batch, and where its outcome goes.
type scriptCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any
	done   chan scriptResult // buffered: the runner never waits for the caller
}

type scriptResult struct {
	val any
	err error
}

// batcher runs scriptCalls in pipelines.
type batcher struct {
	client *redis.Client
	calls  chan *scriptCall
	stop   chan struct{}
}

func newBatcher(client *redis.Client) *batcher {
	b := &batcher{client: client, calls: make(chan *scriptCall, maxBatch*batchRunners), stop: make(chan struct{})}
	for range batchRunners {
		go b.run()
	}
	return b
}

func (b *batcher) close() { close(b.stop) }

// runScript runs script with keys and args in the next batch and waits for its result, or for
// ctx to end (the script may then still run: as with any write whose reply is lost, the caller
// cannot know, and the room's epoch fencing covers it).
func (b *batcher) runScript(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	call := &scriptCall{ctx: ctx, script: script, keys: keys, args: args, done: make(chan scriptResult, 1)}
	select {
	case b.calls <- call:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.stop:
		return nil, redis.ErrClosed
	}
	select {
	case res := <-call.done:
		return res.val, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *batcher) run() {
	batch := make([]*scriptCall, 0, maxBatch)
	for {
		select {
		case <-b.stop:
			return
		case first := <-b.calls:
			batch = append(batch[:0], first)
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case call := <-b.calls:
				batch = append(batch, call)
			default:
				break gather
			}
		}
		b.exec(batch)
		clear(batch)
	}
}

// exec sends the batch's live calls in one pipeline, within the latest of their deadlines, and
// reruns on its own any call Redis did not know the script of (after a Redis restart).
func (b *batcher) exec(batch []*scriptCall) {
	live := batch[:0:0]
	var deadline time.Time
	for _, call := range batch {
		if err := call.ctx.Err(); err != nil {
			call.done <- scriptResult{err: err}
			continue
		}
		live = append(live, call)
		if d, ok := call.ctx.Deadline(); ok && d.After(deadline) {
			deadline = d
		}
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	pipe := b.client.Pipeline()
	cmds := make([]*redis.Cmd, len(live))
	for i, call := range live {
		cmds[i] = call.script.EvalSha(ctx, pipe, call.keys, call.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, call := range live {
		val, err := cmds[i].Result()
		if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			val, err = call.script.Run(call.ctx, b.client, call.keys, call.args...).Result()
		}
		call.done <- scriptResult{val: val, err: err}
	}
}
