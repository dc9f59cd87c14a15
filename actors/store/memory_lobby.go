package store

import (
	"context"
	"fmt"
	"time"

	"meetcoord/actors/room"
)

// memoryLobby is a room's stored lobby entries (encoded LobbyEntriesRecord by participant id),
// which expire together, as the Redis hash does.
type memoryLobby struct {
	records map[string][]byte
	expires time.Time
}

// SaveLobbyEntries implements room.Store.
func (m *Memory) SaveLobbyEntries(_ context.Context, roomID string, epoch int64, change room.LobbyChange) error {
	if epoch == 0 {
		return fmt.Errorf("save lobby of room %s: the room was never saved", roomID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if current := m.epochs[roomID]; current != epoch {
		return fmt.Errorf("save lobby of room %s at epoch %d (current %d): %w", roomID, epoch, current, room.ErrFenced)
	}
	m.applyLobby(roomID, &change, m.now())
	return nil
}

// LobbyEntries implements room.Store.
func (m *Memory) LobbyEntries(_ context.Context, roomID string) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.liveLobby(roomID)
	if l == nil {
		return nil, nil
	}
	out := make([][]byte, 0, len(l.records))
	for _, record := range l.records {
		out = append(out, clone(record))
	}
	return out, nil
}

// applyLobby applies a change under m.mu (nil: none); see room.LobbyChange.
func (m *Memory) applyLobby(roomID string, change *room.LobbyChange, now time.Time) {
	if change == nil {
		return
	}
	if change.TTL <= 0 {
		delete(m.lobbies, roomID)
		return
	}
	l := m.liveLobby(roomID)
	if l == nil {
		l = &memoryLobby{records: map[string][]byte{}}
		m.lobbies[roomID] = l
	}
	for _, put := range change.Put {
		l.records[put.ParticipantID] = clone(put.Record)
	}
	for _, id := range change.Remove {
		delete(l.records, id)
	}
	if len(l.records) == 0 {
		delete(m.lobbies, roomID) // as Redis drops an empty hash
		return
	}
	l.expires = now.Add(change.TTL)
}

// liveLobby is the room's stored lobby, nil when there is none or it expired (then forgotten).
func (m *Memory) liveLobby(roomID string) *memoryLobby {
	l, ok := m.lobbies[roomID]
	if !ok {
		return nil
	}
	if !m.now().Before(l.expires) {
		delete(m.lobbies, roomID)
		return nil
	}
	return l
}
