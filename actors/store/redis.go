package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"meetcoord/actors/room"
)

// Redis is the production store. Every multi-key change is one Lua script, so a snapshot and
// its index entries are written together or not at all, and the epoch check and the write cannot
// be separated by another activation's write.
type Redis struct {
	client *redis.Client
	writes *batcher // room saves, grouped (batch.go)
}

var _ room.Store = (*Redis)(nil)

// NewRedis connects to the Redis server at url (redis://host:port/db). timeout (REDIS_TIMEOUT)
// bounds the wait for one command's answer; 0 keeps the client's default (3 s).
func NewRedis(url string, timeout time.Duration) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	// A stalled Redis (connections open, no answer) costs each command the timeout, not more:
	// the callers' deadlines (a room's REDIS_TIMEOUT, a request's) bound it too, and a request
	// that needs the store is answered 503 in time, whatever path reads it (rate limits, users).
	if timeout > 0 {
		opts.ReadTimeout, opts.WriteTimeout = timeout, timeout
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	return &Redis{client: client, writes: newBatcher(client)}, nil
}

// Close releases the connections.
func (r *Redis) Close() error {
	r.writes.close()
	return r.client.Close()
}

// Ping reports whether Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Activate implements room.Store.
func (r *Redis) Activate(ctx context.Context, roomID, holder string) (room.Activation, error) {
	res, err := activateScript.Run(ctx, r.client, []string{epochKey(roomID), stateKey(roomID), holdersKey(roomID)}, roomID, holder).Slice()
	if err != nil {
		return room.Activation{}, fmt.Errorf("activate room %s: %w", roomID, err)
	}
	epoch, ok := res[0].(int64)
	if !ok {
		return room.Activation{}, fmt.Errorf("activate room %s: unexpected epoch %T", roomID, res[0])
	}
	a := room.Activation{Epoch: epoch}
	if s, ok := res[1].(string); ok {
		a.State = []byte(s)
	}
	if others, ok := res[2].(string); ok {
		a.Holders = strings.Fields(others)
	}
	return a, nil
}

// SoleHolder implements room.Store.
func (r *Redis) SoleHolder(ctx context.Context, roomID string, epoch int64, holder string) error {
	err := soleHolderScript.Run(ctx, r.client, []string{epochKey(roomID), holdersKey(roomID)}, strconv.FormatInt(epoch, 10), holder).Err()
	if err != nil {
		return fmt.Errorf("record the holder of room %s: %w", roomID, err)
	}
	return nil
}

// DropHolder implements room.Store. It goes with the saves' batches: when a node leaves, all its
// rooms stop at once.
func (r *Redis) DropHolder(ctx context.Context, roomID string, epoch int64, holder string) error {
	if _, err := r.writes.runScript(ctx, dropHolderScript, []string{epochKey(roomID), holdersKey(roomID)}, strconv.FormatInt(epoch, 10), holder); err != nil {
		return fmt.Errorf("drop a holder of room %s: %w", roomID, err)
	}
	return nil
}

// ActivationsChannel is the Redis pub/sub channel on which every activation is announced.
const ActivationsChannel = "meetcoord:activations"

// WatchActivations calls announce for every room activation announced on ActivationsChannel,
// on any node, until ctx ends. Announcements are best effort (pub/sub loses them while the
// connection is down): they only shorten the time an older activation serves stale reads, and
// fencing still refuses its writes.
func (r *Redis) WatchActivations(ctx context.Context, announce func(roomID string, epoch int64)) {
	sub := r.client.Subscribe(ctx, ActivationsChannel)
	go func() {
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-ch:
				if !ok {
					return
				}
				roomID, epochText, found := strings.Cut(msg.Payload, " ")
				epoch, err := strconv.ParseInt(epochText, 10, 64)
				if found && err == nil {
					announce(roomID, epoch)
				}
			}
		}
	}()
}

// Save implements room.Store.
func (r *Redis) Save(ctx context.Context, s room.Snapshot) (int64, error) {
	keys := []string{epochKey(s.RoomID), stateKey(s.RoomID), lobbyKey(s.RoomID), holdersKey(s.RoomID)}
	args := []any{strconv.FormatInt(s.Epoch, 10), s.State, ttlMillis(s.TTL), s.RoomID, s.Holder}
	for _, op := range s.Index {
		keys = append(keys, indexKey(op))
		args = append(args, indexArgs(op)...)
	}
	args = append(args, lobbyArgs(s.Lobby)...)
	epoch, err := asInt64(r.writes.runScript(ctx, saveScript, keys, args...))
	if err != nil && strings.HasPrefix(err.Error(), "FENCED") {
		return 0, fmt.Errorf("save room %s at epoch %d: %w (%s)", s.RoomID, s.Epoch, room.ErrFenced, err)
	}
	if err != nil && strings.HasPrefix(err.Error(), "TAKEN") {
		return 0, fmt.Errorf("save room %s: %w", s.RoomID, takenEntry(s.Index, err))
	}
	if err != nil {
		return 0, fmt.Errorf("save room %s: %w", s.RoomID, err)
	}
	return epoch, nil
}

// SaveLobbyEntries implements room.Store.
func (r *Redis) SaveLobbyEntries(ctx context.Context, roomID string, epoch int64, change room.LobbyChange) error {
	if epoch == 0 {
		return fmt.Errorf("save lobby of room %s: the room was never saved", roomID)
	}
	args := append([]any{strconv.FormatInt(epoch, 10)}, lobbyArgs(&change)...)
	_, err := r.writes.runScript(ctx, saveLobbyScript, []string{epochKey(roomID), lobbyKey(roomID)}, args...)
	if err != nil && strings.HasPrefix(err.Error(), "FENCED") {
		return fmt.Errorf("save lobby of room %s at epoch %d: %w (%s)", roomID, epoch, room.ErrFenced, err)
	}
	if err != nil {
		return fmt.Errorf("save lobby of room %s: %w", roomID, err)
	}
	return nil
}

// LobbyEntries implements room.Store.
func (r *Redis) LobbyEntries(ctx context.Context, roomID string) ([][]byte, error) {
	vals, err := r.client.HVals(ctx, lobbyKey(roomID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read lobby of room %s: %w", roomID, err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// takenEntry names the exclusive index entry the save script refused ("TAKEN <key>").
func takenEntry(ops []room.IndexOp, err error) error {
	key := strings.TrimSpace(strings.TrimPrefix(err.Error(), "TAKEN"))
	for _, op := range ops {
		if op.Exclusive && !op.Remove && indexKey(op) == key {
			return &room.IndexTakenError{Index: op.Index, Key: op.Key}
		}
	}
	return fmt.Errorf("%w (%s)", room.ErrIndexTaken, err)
}

// RoomIDBySlug resolves a slug to its room id; ok=false when no room has it.
func (r *Redis) RoomIDBySlug(ctx context.Context, slug string) (string, bool, error) {
	return r.getString(ctx, slugKey(slug), "slug")
}

// RoomIDByAccess resolves a resource access id to the room that holds it.
func (r *Redis) RoomIDByAccess(ctx context.Context, accessID string) (string, bool, error) {
	return r.getString(ctx, accessKey(accessID), "resource access")
}

// RoomOfRecording resolves a recording id to the room it was made in.
func (r *Redis) RoomOfRecording(ctx context.Context, recordingID string) (string, bool, error) {
	return r.getString(ctx, recordingKey(recordingID), "recording")
}

// CallbackRoom returns the room created under a creation callback id, if still remembered.
func (r *Redis) CallbackRoom(ctx context.Context, callbackID string) (string, bool, error) {
	return r.getString(ctx, callbackKey(callbackID), "creation callback")
}

func (r *Redis) getString(ctx context.Context, key, what string) (string, bool, error) {
	v, err := r.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", what, err)
	}
	return v, true, nil
}

// RoomsOfUser returns the room summaries of the rooms where the user holds a role, sorted by the
// caller (the summaries carry what is needed to sort and page).
func (r *Redis) RoomsOfUser(ctx context.Context, userID string) ([][]byte, error) {
	vals, err := r.client.HVals(ctx, userRoomsKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list rooms of user %s: %w", userID, err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// AccessListsOfRooms returns the indexed accesses of each room (encoded messages.AccessList), in
// the order of roomIDs, with one command whatever their number. An entry is nil for a room with
// no indexed accesses: a room that does not exist, or one not saved since the index exists.
func (r *Redis) AccessListsOfRooms(ctx context.Context, roomIDs []string) ([][]byte, error) {
	if len(roomIDs) == 0 {
		return nil, nil
	}
	vals, err := r.client.HMGet(ctx, roomAccessesKey(), roomIDs...).Result()
	if err != nil {
		return nil, fmt.Errorf("read accesses of %d rooms: %w", len(roomIDs), err)
	}
	out := make([][]byte, len(roomIDs))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, nil
}

// RecordingsOfUser returns the recording entries of a user (encoded messages.RecordingEntry).
func (r *Redis) RecordingsOfUser(ctx context.Context, userID string) ([][]byte, error) {
	vals, err := r.client.HVals(ctx, userRecordingsKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list recordings of user %s: %w", userID, err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// GetUser loads a user record; ok=false when unknown.
func (r *Redis) GetUser(ctx context.Context, userID string) ([]byte, bool, error) {
	v, ok, err := r.getString(ctx, userKey(userID), "user")
	return []byte(v), ok, err
}

// Flush is for tests that share a server: it removes every key of this service.
func (r *Redis) Flush(ctx context.Context) error {
	iter := r.client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := r.client.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// Client exposes the underlying client for tests that inspect Redis itself.
func (r *Redis) Client() *redis.Client { return r.client }

// SetRedisLogger sends go-redis's own messages (dial failures, pool errors) to logger at warn
// level instead of the standard library's log on stderr. go-redis's logger is a process-wide
// variable read by its pools without synchronisation, so it is set once, before any client.
func SetRedisLogger(logger *slog.Logger) {
	redisLoggerOnce.Do(func() { redis.SetLogger(redisLogger{logger}) })
}

var redisLoggerOnce sync.Once

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...interface{}) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), slog.String("component", "go-redis"))
}

// asInt64 is the integer reply of a script, as redis.Cmd.Int64 reads it.
func asInt64(val any, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, ok := val.(int64)
	if !ok {
		return 0, fmt.Errorf("unexpected reply %T, want an integer", val)
	}
	return n, nil
}

// Epoch implements room.Store.
func (r *Redis) Epoch(ctx context.Context, roomID string) (int64, error) {
	epoch, err := r.client.Get(ctx, epochKey(roomID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read epoch of room %s: %w", roomID, err)
	}
	return epoch, nil
}
