package store

import (
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"meetcoord/actors/room"
)

// maxHolders bounds the holders a room's record keeps (newest first): more members than that
// cannot have held a room without one of them letting the others go.
const maxHolders = 8

// activateScript takes a new epoch only for rooms that exist: a lookup of an unknown id must not
// leave keys behind (KEYS: epoch, state, holders). It records ARGV[2], the activating member, as
// the newest holder and returns the earlier ones (space-separated), and publishes
// "<room id> <epoch>" on ActivationsChannel (ARGV[1] is the room id) so that older activations
// elsewhere stop at once. The holders key lives as long as the epoch does.
var activateScript = redis.NewScript(`
local state = redis.call('GET', KEYS[2])
if not state then
  return {tonumber(redis.call('GET', KEYS[1]) or '0'), false, ''}
end
local epoch = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', '` + ActivationsChannel + `', ARGV[1] .. ' ' .. epoch)
local holders, others = {ARGV[2]}, {}
for h in string.gmatch(redis.call('GET', KEYS[3]) or '', '%S+') do
  if h ~= ARGV[2] and #holders < ` + strconv.Itoa(maxHolders) + ` then
    holders[#holders + 1] = h
    others[#others + 1] = h
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[3], table.concat(holders, ' '), 'PX', ttl)
else
  redis.call('SET', KEYS[3], table.concat(holders, ' '))
end
return {epoch, state, table.concat(others, ' ')}
`)

// soleHolderScript records ARGV[2] as the room's only holder (KEYS: epoch, holders) if ARGV[1]
// is still the room's epoch.
var soleHolderScript = redis.NewScript(`
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
end
return 1
`)

// applyLobbyLua defines applyLobby(key, a): it applies the lobby change whose arguments start at
// ARGV[a] to the room's lobby hash (field = participant id, value = LobbyEntriesRecord):
//
//	<ttl ms> <n> <id 1> <record 1> ... <id n> <record n> <removed id>...
//
// ttl -1: no change; ttl 0: no entry is left, the hash is deleted; otherwise the puts and removals
// are applied and the hash expires ttl ms later (the longest life left to an entry).
const applyLobbyLua = `
local function applyLobby(key, a)
  local ttl = tonumber(ARGV[a])
  if ttl < 0 then return end
  if ttl == 0 then
    redis.call('DEL', key)
    return
  end
  local i = a + 2
  for _ = 1, tonumber(ARGV[a + 1]) do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  while i <= #ARGV do
    redis.call('HDEL', key, ARGV[i])
    i = i + 1
  end
  redis.call('PEXPIRE', key, ttl)
end
`

// dropHolderScript removes ARGV[2] from the room's holders (KEYS: epoch, holders), and the key
// with the last of them, if ARGV[1] is still the room's epoch.
var dropHolderScript = redis.NewScript(`
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then
  return 0
end
local kept = {}
for h in string.gmatch(redis.call('GET', KEYS[2]) or '', '%S+') do
  if h ~= ARGV[2] then kept[#kept + 1] = h end
end
if #kept == 0 then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], table.concat(kept, ' '), 'KEEPTTL')
end
return 1
`)

// saveLobbyScript writes a lobby change alone (KEYS: epoch, lobby), refused unless ARGV[1] is
// still the room's epoch, as saveScript's writes are.
var saveLobbyScript = redis.NewScript(applyLobbyLua + `
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then
  return redis.error_reply('FENCED current epoch ' .. current)
end
applyLobby(KEYS[2], 2)
return 1
`)

// saveScript refuses the write unless ARGV[1] is still the room's epoch (epoch "0": the room
// was never stored, and the first such writer takes epoch 1 and is recorded in KEYS[4] as the
// room's holder, ARGV[5]), then writes the state, applies the lobby change (KEYS[3], its
// arguments after the index operations' ones; see applyLobby) and one index operation per extra
// key:
//
//	"h" <summary>       HSET key <room id> summary   (user rooms, room accesses)
//	"hd"                HDEL key <room id>
//	"hf" <field> <value> HSET key field value   (user recordings)
//	"p" <ttl ms>        SET key <room id> [PX ttl]   (slug, callback, access pointers)
//	"px" <ttl ms>       as "p", but the whole save fails (TAKEN) if key holds another room
//	"pd"                DEL key if it holds <room id>
//
// It returns the epoch the writer holds after the write.
var saveScript = redis.NewScript(applyLobbyLua + `
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then
  return redis.error_reply('FENCED current epoch ' .. current)
end
local room = ARGV[4]
local ops = {}
local a = 6
for k = 5, #KEYS do
  local op = {name = ARGV[a], key = KEYS[k]}
  if op.name == 'hf' then
    op.field = ARGV[a + 1]; op.arg = ARGV[a + 2]; a = a + 3
  elseif op.name == 'h' or op.name == 'p' or op.name == 'px' then
    op.arg = ARGV[a + 1]; a = a + 2
  else
    a = a + 1
  end
  if op.name == 'px' then
    local holder = redis.call('GET', op.key)
    if holder and holder ~= room then
      return redis.error_reply('TAKEN ' .. op.key)
    end
  end
  ops[#ops + 1] = op
end
local epoch = tonumber(current)
if epoch == 0 then
  epoch = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[4], ARGV[5])
end
if tonumber(ARGV[3]) > 0 then
  -- A tombstone: the epoch and holders go with it, and the lobby at once, so a deleted room
  -- leaves no key behind.
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[4])
end
for _, op in ipairs(ops) do
  if op.name == 'hf' then
    redis.call('HSET', op.key, op.field, op.arg)
  elseif op.name == 'h' then
    redis.call('HSET', op.key, room, op.arg)
  elseif op.name == 'hd' then
    redis.call('HDEL', op.key, room)
  elseif op.name == 'p' or op.name == 'px' then
    if tonumber(op.arg) > 0 then
      redis.call('SET', op.key, room, 'PX', op.arg)
    else
      redis.call('SET', op.key, room)
    end
  elseif op.name == 'pd' then
    if redis.call('GET', op.key) == room then redis.call('DEL', op.key) end
  else
    return redis.error_reply('unknown index op ' .. tostring(op.name))
  end
end
applyLobby(KEYS[3], a)
return epoch
`)

// indexKey is the Redis key an index operation touches.
func indexKey(op room.IndexOp) string {
	switch op.Index {
	case room.IndexUserRooms:
		return userRoomsKey(op.Key)
	case room.IndexSlug:
		return slugKey(op.Key)
	case room.IndexCallback:
		return callbackKey(op.Key)
	case room.IndexAccess:
		return accessKey(op.Key)
	case room.IndexPin:
		return pinKey(op.Key)
	case room.IndexUserRecordings:
		return userRecordingsKey(op.Key)
	case room.IndexRecording:
		return recordingKey(op.Key)
	case room.IndexRoomAccesses:
		return roomAccessesKey()
	}
	return ""
}

// indexArgs are the script arguments of an index operation.
func indexArgs(op room.IndexOp) []any {
	switch {
	case op.Index == room.IndexUserRecordings:
		return []any{"hf", op.Field, op.Summary}
	case (op.Index == room.IndexUserRooms || op.Index == room.IndexRoomAccesses) && op.Remove:
		return []any{"hd"}
	case op.Index == room.IndexUserRooms || op.Index == room.IndexRoomAccesses:
		return []any{"h", op.Summary}
	case op.Remove:
		return []any{"pd"}
	case op.Exclusive:
		return []any{"px", ttlMillis(op.TTL)}
	default:
		return []any{"p", ttlMillis(op.TTL)}
	}
}

// lobbyArgs are the script arguments of a lobby change (see applyLobbyLua); nil: no change.
func lobbyArgs(change *room.LobbyChange) []any {
	if change == nil {
		return []any{-1}
	}
	ttl := ttlMillis(change.TTL)
	if ttl == 0 {
		return []any{0}
	}
	args := make([]any, 0, 2+2*len(change.Put)+len(change.Remove))
	args = append(args, ttl, len(change.Put))
	for _, put := range change.Put {
		args = append(args, put.ParticipantID, put.Record)
	}
	for _, id := range change.Remove {
		args = append(args, id)
	}
	return args
}

func ttlMillis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return max(d.Milliseconds(), 1)
}
