package gateway_test

import (
	"fmt"
	"net/http"
	"testing"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// lobbyWriteCost is what lobby changes cost Redis, in bytes sent to it (INFO
// total_net_input_bytes), at two sizes of the lobby.
type lobbyWriteCost struct {
	knockAt10, knockAt1000       float64 // per knock while 10..19, then 1,000..1,009, participants wait
	decisionAt10, decisionAt1000 float64 // per admission of one of those, 20..11 then 1,010..1,001 waiting
}

// measureLobbyWriteCost knocks 1,020 distinct guests into one restricted room of a node backed by
// a Redis of its own. It measures the Redis input of the 10 knocks made while 10 participants
// wait and of their admission, then of the 10 knocks made while 1,000 wait and of their
// admission. Everything else sent to Redis meanwhile (rate limits, the counter reads) is the
// same at both sizes.
func measureLobbyWriteCost(tb testing.TB) lobbyWriteCost {
	tb.Helper()
	const window = 10
	redisServer := servicetest.StartRedis(tb)
	n := servicetest.StartNode(tb, map[string]string{
		"REDIS_URL":             redisServer.URL,
		"LOBBY_MAX_WAITING":     "2000",
		"LOBBY_WAITING_TIMEOUT": "3600", // nobody polls here: the entries must outlive the run
	})
	owner := n.Client(n.Token("bench-owner", "owner@example.org", "Bench Owner"))
	res := owner.Do(http.MethodPost, servicetest.Path("rooms"), map[string]any{"name": servicetest.UniqueRoomName("Knocks"), "access_level": "restricted"})
	if res.Status != http.StatusCreated {
		tb.Fatalf("create room: %d %s", res.Status, res.Body)
	}
	roomID := res.JSON()["id"].(string)
	waiting := 0
	knock := func() string {
		res := n.Client("").Do(http.MethodPost, servicetest.Path("rooms", roomID, "request-entry"),
			map[string]any{"username": fmt.Sprintf("Guest number %04d of the lobby", waiting)})
		id, _ := res.JSON()["id"].(string)
		if res.Status != http.StatusOK || res.JSON()["status"] != "waiting" || id == "" {
			tb.Fatalf("knock with %d waiting: %d %s", waiting, res.Status, res.Body)
		}
		waiting++
		return id
	}
	admit := func(id string) {
		res := owner.Do(http.MethodPost, servicetest.Path("rooms", roomID, "enter"), map[string]any{"participant_id": id, "allow_entry": true})
		if res.Status != http.StatusOK {
			tb.Fatalf("admit %s: %d %s", id, res.Status, res.Body)
		}
		waiting--
	}
	// measure knocks a window of guests, then admits them: bytes per knock, per admission.
	measure := func() (perKnock, perDecision float64) {
		before := redisServer.InputBytes(tb)
		ids := make([]string, 0, window)
		for range window {
			ids = append(ids, knock())
		}
		knocked := redisServer.InputBytes(tb)
		for _, id := range ids {
			admit(id)
		}
		admitted := redisServer.InputBytes(tb)
		return float64(knocked-before) / window, float64(admitted-knocked) / window
	}
	var cost lobbyWriteCost
	for waiting < 10 {
		knock()
	}
	cost.knockAt10, cost.decisionAt10 = measure()
	for waiting < 1000 {
		knock()
	}
	cost.knockAt1000, cost.decisionAt1000 = measure()
	return cost
}

// TestLobbyWriteCostDoesNotGrowWithTheLobby (issue 10, "Write cost"): a knock or a decision
// writes its one entry, not the whole lobby, so with 1,000 participants waiting it costs Redis
// about what it costs with 10 (within 2x; bytes, not time, so the bound is steady).
func TestLobbyWriteCostDoesNotGrowWithTheLobby(t *testing.T) {
	cost := measureLobbyWriteCost(t)
	t.Logf("Redis input per knock: %.0f bytes at 10 waiting, %.0f at 1,000; per decision: %.0f at 10, %.0f at 1,000",
		cost.knockAt10, cost.knockAt1000, cost.decisionAt10, cost.decisionAt1000)
	if cost.knockAt10 <= 0 || cost.knockAt1000 > 2*cost.knockAt10 {
		t.Errorf("a knock costs Redis %.0f bytes at 1,000 waiting, %.0f at 10: want within 2x", cost.knockAt1000, cost.knockAt10)
	}
	if cost.decisionAt10 <= 0 || cost.decisionAt1000 > 2*cost.decisionAt10 {
		t.Errorf("a decision costs Redis %.0f bytes at 1,000 waiting, %.0f at 10: want within 2x", cost.decisionAt1000, cost.decisionAt10)
	}
}

// BenchmarkLobbyRedisBytes reports what a knock and a decision cost Redis at 10 and at 1,000
// participants waiting:
//
//	go test -run '^$' -bench LobbyRedisBytes -benchtime 1x ./gateway/
func BenchmarkLobbyRedisBytes(b *testing.B) {
	var total lobbyWriteCost
	for range b.N {
		cost := measureLobbyWriteCost(b)
		total.knockAt10 += cost.knockAt10
		total.knockAt1000 += cost.knockAt1000
		total.decisionAt10 += cost.decisionAt10
		total.decisionAt1000 += cost.decisionAt1000
	}
	perRun := float64(b.N)
	b.ReportMetric(total.knockAt10/perRun, "redis-bytes/knock@10")
	b.ReportMetric(total.knockAt1000/perRun, "redis-bytes/knock@1000")
	b.ReportMetric(total.knockAt1000/total.knockAt10, "knock-ratio@1000/@10")
	b.ReportMetric(total.decisionAt10/perRun, "redis-bytes/decision@10")
	b.ReportMetric(total.decisionAt1000/perRun, "redis-bytes/decision@1000")
}
