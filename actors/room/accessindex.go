package room

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"meetcoord/messages"
)

// accessIndexOps keep the room accesses index (IndexRoomAccesses) in step with the
// record, in the same save: the accesses are written when they change (a creation included) and
// removed with the room. The gateway answers resource-accesses/ from it without activating rooms.
func accessIndexOps(roomID string, before, after *messages.RoomRecord) []IndexOp {
	switch {
	case after == nil && before == nil:
		return nil
	case after == nil:
		return []IndexOp{{Index: IndexRoomAccesses, Key: roomID, Remove: true}}
	case before != nil && slices.EqualFunc(before.GetAccesses(), after.GetAccesses(), sameAccess):
		return nil
	}
	return []IndexOp{accessIndexEntry(roomID, after)}
}

// accessIndexEntry writes the record's accesses to the index.
func accessIndexEntry(roomID string, record *messages.RoomRecord) IndexOp {
	// Marshalling a message built here cannot fail; the room summary is encoded the same way.
	list, _ := proto.Marshal(&messages.AccessList{Accesses: record.GetAccesses()})
	return IndexOp{Index: IndexRoomAccesses, Key: roomID, Summary: list}
}

func sameAccess(a, b *messages.Access) bool { return proto.Equal(a, b) }

// indexAccesses answers as listAccesses and writes the room's accesses to the index: the gateway
// sends it to a room stored before the index existed (no entry there), so that the room is asked
// once and later listings read the index.
func (r *Room) indexAccesses(msg *messages.IndexAccesses, ch *change) *messages.RoomReply {
	r.changing(ch)
	ch.extra = append(ch.extra, accessIndexEntry(r.id, r.record))
	return r.listAccesses(&messages.ListAccesses{Caller: msg.GetCaller()})
}
