// Package store is the persistence adapter. It keeps room snapshots, their lobby entries and the
// indexes built from them (the room actor's Store port, actors/room/ports.go), and the records
// the gateway keeps beside the rooms: users and their preferences, sessions and applications
// (the gateway's ports). In Redis for real deployments, in process memory for development and
// unit tests; both implement the same interfaces with the same semantics (fenced writes, atomic
// slug reservation).
package store

const prefix = "meetcoord:"

func epochKey(roomID string) string          { return prefix + "room:" + roomID + ":epoch" }
func stateKey(roomID string) string          { return prefix + "room:" + roomID + ":state" }
func lobbyKey(roomID string) string          { return prefix + "room:" + roomID + ":lobby" }
func holdersKey(roomID string) string        { return prefix + "room:" + roomID + ":holders" }
func slugKey(slug string) string             { return prefix + "slug:" + slug }
func userRoomsKey(userID string) string      { return prefix + "user:" + userID + ":rooms" }
func callbackKey(id string) string           { return prefix + "callback:" + id }
func accessKey(id string) string             { return prefix + "access:" + id }
func pinKey(pin string) string               { return prefix + "pin:" + pin }
func userRecordingsKey(userID string) string { return prefix + "user:" + userID + ":recordings" }
func recordingKey(id string) string          { return prefix + "recording:" + id }
func userKey(userID string) string           { return prefix + "user:" + userID }

// roomAccessesKey is one hash for every room (field: room id, value: its encoded AccessList), so
// that the accesses of all the rooms of a user are read with one HMGET and written by the save
// script's existing hash operations.
func roomAccessesKey() string { return prefix + "room-accesses" }
