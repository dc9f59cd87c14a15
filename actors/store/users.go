package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// User records with an email index for searching people to invite. The index is one sorted set
// of "<lowercased email>\x00<user id>" members, all of score 0, so that ZRANGEBYLEX finds an
// email prefix in O(log n) and never needs a scan of every user.

func userEmailKey(userID string) string { return prefix + "user:" + userID + ":email" }

const usersByEmailKey = prefix + "users:by-email"

// saveUserScript writes the record and moves the user's index entry to the new email, in one
// step; it returns 1 when the record did not exist (a sign-up), 0 otherwise. With ARGV[4] = "1"
// it writes only a record that does not exist yet (and returns 0 without writing otherwise).
//
// KEYS: user record, user's indexed email, email index. ARGV: record, lowercased email, user id,
// only-if-absent.
var saveUserScript = redis.NewScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
if ARGV[4] == '1' and not created then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local old = redis.call('GET', KEYS[2])
if old and old ~= ARGV[2] then
  redis.call('ZREM', KEYS[3], old .. '\0' .. ARGV[3])
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[3], 0, ARGV[2] .. '\0' .. ARGV[3])
end
if created then return 1 end
return 0
`)

// SaveUser stores a user record and indexes it by email; created says whether the user is new.
// Exactly one of concurrent first saves of a user (on any node) sees created=true.
func (r *Redis) SaveUser(ctx context.Context, userID, email string, record []byte) (bool, error) {
	return r.saveUser(ctx, userID, email, record, false)
}

// CreateUser stores a user record only if the user does not exist yet; created says whether it
// did. An existing record is left as it is.
func (r *Redis) CreateUser(ctx context.Context, userID, email string, record []byte) (bool, error) {
	return r.saveUser(ctx, userID, email, record, true)
}

func (r *Redis) saveUser(ctx context.Context, userID, email string, record []byte, onlyIfAbsent bool) (bool, error) {
	absent := "0"
	if onlyIfAbsent {
		absent = "1"
	}
	n, err := saveUserScript.Run(ctx, r.client,
		[]string{userKey(userID), userEmailKey(userID), usersByEmailKey},
		record, strings.ToLower(email), userID, absent).Int()
	if err != nil {
		return false, fmt.Errorf("save user %s: %w", userID, err)
	}
	return n == 1, nil
}

// Provisional users (created by an application for an email before its owner ever logged in)
// are claimed by the first OIDC subject that logs in with that email, so that the rooms an
// application created for them are theirs. The link is kept under the subject, so that later
// logins, on any node, find the same user.

func subjectKey(subject string) string { return prefix + "subject:" + subject }

func claimedByKey(userID string) string { return prefix + "user:" + userID + ":claimed-by" }

// userOfSubjectScript decides which user a subject is: the user it was linked to before, else
// the provisional user when it exists, is unclaimed and the subject has no user of its own,
// else the subject's own user. Either way the answer is linked to the subject, so that every
// node agrees on it from then on (two first logins racing with a provisional user's creation
// cannot end as two users). Claiming is one step, so two subjects cannot both claim.
//
// KEYS: subject link, own user record, provisional user record, provisional user's claim.
// ARGV: own user id, provisional user id ("" for none), subject.
var userOfSubjectScript = redis.NewScript(`
local linked = redis.call('GET', KEYS[1])
if linked then return linked end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 1
  and redis.call('SETNX', KEYS[4], ARGV[3]) == 1 then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

// UserOfSubject returns the id of the user an OIDC subject logs in as: ownID (the id derived
// from the subject), unless the subject claimed a provisional user, before or now.
// provisionalID is the provisional user of the subject's email, "" when the email cannot be
// trusted or is missing.
func (r *Redis) UserOfSubject(ctx context.Context, subject, ownID, provisionalID string) (string, error) {
	keys := []string{subjectKey(subject), userKey(ownID), userKey(provisionalID), claimedByKey(provisionalID)}
	id, err := userOfSubjectScript.Run(ctx, r.client, keys, ownID, provisionalID, subject).Text()
	if err != nil {
		return "", fmt.Errorf("user of subject: %w", err)
	}
	return id, nil
}

// LinkedUserOfSubject is the id of the user an OIDC subject logged in as, found=false for a
// subject that never logged in. Unlike UserOfSubject it never links anything: it answers
// "which user is this LiveKit identity" without making one up.
func (r *Redis) LinkedUserOfSubject(ctx context.Context, subject string) (string, bool, error) {
	id, err := r.client.Get(ctx, subjectKey(subject)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("user of subject %s: %w", subject, err)
	}
	return id, true, nil
}

// SearchUsersByEmail returns the records of at most limit users whose lowercased email starts
// with prefix, in email order (an exact match comes first).
func (r *Redis) SearchUsersByEmail(ctx context.Context, emailPrefix string, limit int) ([][]byte, error) {
	p := strings.ToLower(emailPrefix)
	members, err := r.client.ZRangeByLex(ctx, usersByEmailKey, &redis.ZRangeBy{
		Min: "[" + p, Max: "[" + p + "\xff", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	if len(members) == 0 {
		return nil, nil
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = userKey(m[strings.IndexByte(m, 0)+1:])
	}
	values, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("search users: read records: %w", err)
	}
	out := make([][]byte, 0, len(values))
	for _, v := range values {
		if s, ok := v.(string); ok {
			out = append(out, []byte(s))
		}
	}
	return out, nil
}

// SaveUser stores a user record and remembers its email for searches.
func (m *Memory) SaveUser(_ context.Context, userID, email string, record []byte) (bool, error) {
	return m.saveUser(userID, email, record, false)
}

// CreateUser is Redis.CreateUser.
func (m *Memory) CreateUser(_ context.Context, userID, email string, record []byte) (bool, error) {
	return m.saveUser(userID, email, record, true)
}

func (m *Memory) saveUser(userID, email string, record []byte, onlyIfAbsent bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, existed := m.users[userID]
	if existed && onlyIfAbsent {
		return false, nil
	}
	m.users[userID] = clone(record)
	if m.userEmails == nil {
		m.userEmails = map[string]string{}
	}
	m.userEmails[userID] = strings.ToLower(email)
	return !existed, nil
}

// UserOfSubject is Redis.UserOfSubject.
func (m *Memory) UserOfSubject(_ context.Context, subject, ownID, provisionalID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subjects == nil {
		m.subjects, m.claimed = map[string]string{}, map[string]bool{}
	}
	if linked, ok := m.subjects[subject]; ok {
		return linked, nil
	}
	_, own := m.users[ownID]
	_, provisional := m.users[provisionalID]
	if provisionalID != "" && !own && provisional && !m.claimed[provisionalID] {
		m.claimed[provisionalID] = true
		m.subjects[subject] = provisionalID
		return provisionalID, nil
	}
	m.subjects[subject] = ownID
	return ownID, nil
}

// LinkedUserOfSubject is the id of the user a subject logged in as, found=false when it never did.
func (m *Memory) LinkedUserOfSubject(_ context.Context, subject string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.subjects[subject]
	return id, ok, nil
}

// SearchUsersByEmail returns at most limit users whose email starts with prefix, in email order.
func (m *Memory) SearchUsersByEmail(_ context.Context, emailPrefix string, limit int) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := strings.ToLower(emailPrefix)
	var members []string
	for id, email := range m.userEmails {
		if email != "" && strings.HasPrefix(email, p) {
			members = append(members, email+"\x00"+id)
		}
	}
	slices.Sort(members)
	var out [][]byte
	for _, member := range members[:min(limit, len(members))] {
		out = append(out, clone(m.users[member[strings.IndexByte(member, 0)+1:]]))
	}
	return out, nil
}
