package frontendtest

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// TestReferenceFrontEnd: La Suite Meet's front end, unchanged, against one node. Each scenario
// clicks through the pages as a person would; LiveKit (not the page) says who is in a meeting.
func TestReferenceFrontEnd(t *testing.T) {
	s := startSuite(t)
	for _, sc := range []struct {
		name string
		run  func(*suite, *testing.T)
	}{
		{"LogInAndOut", (*suite).logInAndOut},
		{"NewMeetingFromHome", (*suite).newMeetingFromHome},
		{"UnknownAddressCreatesRoom", (*suite).unknownAddressCreatesRoom},
		{"LobbyAdmission", (*suite).lobbyAdmission},
		{"InMeetingActions", (*suite).inMeetingActions},
		{"Transcript", (*suite).transcript},
		{"Settings", (*suite).settings},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(s, t) })
	}
}

// newSlug is a fresh meeting code in the front end's own form (abc-defg-hij).
func newSlug() string {
	letters := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rand.IntN(26))
		}
		return string(b)
	}
	return letters(3) + "-" + letters(4) + "-" + letters(3)
}

// slugOf is the meeting code in a room page's URL.
func slugOf(t *testing.T, location string) string {
	t.Helper()
	i := strings.LastIndex(location, "/")
	slug := strings.SplitN(location[i+1:], "?", 2)[0]
	if len(slug) != len("abc-defg-hij") {
		t.Fatalf("not a room page: %s", location)
	}
	return slug
}

// joinMeeting clicks through the join screen (name, if asked, then Join) and waits until the
// meeting's controls show.
func joinMeeting(b *browser, name string) {
	b.t.Helper()
	b.waitText("Join the meeting?")
	if name != "" {
		b.typeInto("Your name", name)
	}
	b.click("Join")
	b.waitText("Leave")
}

// openMeetingAt opens a meeting's address, logged in already, and joins it.
func openMeetingAt(b *browser, slug string) {
	b.t.Helper()
	b.open("/" + slug)
	joinMeeting(b, "")
}

func (s *suite) logInAndOut(t *testing.T) {
	b := s.newBrowser(t, "ada")
	s.openLoggedOut(b)
	b.waitText("Simple and Secure Video Conferencing")
	s.logIn(b, ada)
	b.waitText("Create a meeting")
	b.click(ada.FullName) // the user menu in the header
	b.click("Logout")
	b.waitText("Login")
	b.waitNoText(ada.FullName)
	if got := len(s.provider.EndSessions()); got == 0 {
		t.Error("logout did not end the session at the identity provider")
	}
}

func (s *suite) newMeetingFromHome(t *testing.T) {
	b := s.newBrowser(t, "ada")
	s.logIn(b, ada)
	b.click("Create a meeting")
	b.click("Start an instant meeting")
	// Its creator goes straight in (no join screen), with the link to share.
	b.waitText("Your meeting is ready")
	b.waitText("Leave")
	slug := slugOf(t, b.location())
	s.waitInRoom(t, s.roomID(t, slug), ada.FullName)
}

func (s *suite) unknownAddressCreatesRoom(t *testing.T) {
	slug := newSlug()
	owner := s.newBrowser(t, "ada")
	s.logIn(owner, ada)
	owner.expect(http.StatusNotFound, "/api/v1.0/rooms/"+slug) // not there yet: the page creates it
	openMeetingAt(owner, slug)
	if got := slugOf(t, owner.location()); got != slug {
		t.Fatalf("the room page moved from %s to %s", slug, got)
	}
	guest := s.newBrowser(t, "bob")
	s.logIn(guest, bob)
	openMeetingAt(guest, slug)
	s.waitInRoom(t, s.roomID(t, slug), ada.FullName, bob.FullName)
}

func (s *suite) lobbyAdmission(t *testing.T) {
	slug := newSlug()
	owner := s.newBrowser(t, "ada")
	s.logIn(owner, ada)
	owner.expect(http.StatusNotFound, "/api/v1.0/rooms/"+slug)
	openMeetingAt(owner, slug)
	owner.click("Open admin")
	owner.click("Restricted")
	servicetest.Eventually(t, waitFor, "the room to be restricted", func() bool {
		return s.roomField(t, slug, "access_level") == "restricted"
	})

	guest := s.newBrowser(t, "guest")
	s.openLoggedOut(guest)
	guest.open("/" + slug)
	guest.waitText("Join the meeting?")
	guest.typeInto("Your name", "Guest Gus")
	guest.click("Join")
	guest.waitText("Requesting to join...")

	owner.click("See everyone")
	owner.clickWithin("Guest Gus", "Accept")
	guest.waitText("Leave")
	roomID := s.roomID(t, slug)
	s.waitInRoom(t, roomID, ada.FullName, "Guest Gus")

	// An anonymous participant may rename themselves (the Profile tab of the settings).
	guest.click("More Options")
	guest.click("Settings")
	guest.typeInto("Your Name", "Gus the Guest")
	guest.click("OK")
	s.waitInRoom(t, roomID, ada.FullName, "Gus the Guest")
	owner.waitText("Gus the Guest")
}

func (s *suite) inMeetingActions(t *testing.T) {
	slug := newSlug()
	owner := s.newBrowser(t, "ada")
	s.logIn(owner, ada)
	owner.expect(http.StatusNotFound, "/api/v1.0/rooms/"+slug)
	openMeetingAt(owner, slug)
	member := s.newBrowser(t, "bob")
	s.logIn(member, bob)
	openMeetingAt(member, slug)
	roomID := s.roomID(t, slug)
	s.waitInRoom(t, roomID, ada.FullName, bob.FullName)

	t.Run("RaiseHand", func(t *testing.T) {
		member.click("Raise hand")
		owner.click("See everyone")
		owner.waitText("Lower " + bob.FullName + "'s hand")
		if p := s.participant(t, roomID, bob.FullName); p.GetAttributes()["handRaisedAt"] == "" {
			t.Errorf("LiveKit has no handRaisedAt for Bob: %v", p.GetAttributes())
		}
	})
	t.Run("NonAdminMutesOther", func(t *testing.T) {
		member.click("See everyone")
		member.click("Close the mic of " + ada.FullName)
		member.click("Mute")
		servicetest.Eventually(t, waitFor, "Ada's microphone to be muted in LiveKit", func() bool {
			return microphoneMuted(s.participant(t, roomID, ada.FullName))
		})
	})
	t.Run("PromoteToAdministrator", func(t *testing.T) {
		owner.clickWithin(bob.FullName, "More options")
		owner.click("Make co-host")
		servicetest.Eventually(t, waitFor, "Bob's room_role to be administrator in LiveKit", func() bool {
			return s.participant(t, roomID, bob.FullName).GetAttributes()["room_role"] == "administrator"
		})
		owner.waitText("Co-host")
	})
}

// microphoneMuted: the participant publishes a microphone track, muted.
func microphoneMuted(p *livekit.ParticipantInfo) bool {
	for _, tr := range p.GetTracks() {
		if tr.GetSource() == livekit.TrackSource_MICROPHONE {
			return tr.GetMuted()
		}
	}
	return false
}

func (s *suite) transcript(t *testing.T) {
	slug := newSlug()
	owner := s.newBrowser(t, "ada")
	s.logIn(owner, ada)
	owner.expect(http.StatusNotFound, "/api/v1.0/rooms/"+slug)
	openMeetingAt(owner, slug)
	owner.click("Show more tools")
	owner.click("Transcribe")
	owner.click("Start transcribing the meeting")
	worker := s.startEgressWorker(t, s.roomID(t, slug))
	owner.waitText("Transcribing")

	owner.click("Stop transcribing the meeting")
	worker.finishWhenStopped()
	recordingID := s.onlyRecording(t, slug)
	servicetest.Eventually(t, waitFor, "the recording to be saved", func() bool {
		return s.recordingStatus(t, recordingID) == "saved"
	})
	owner.open("/recording/" + recordingID)
	owner.waitText("Your recording is ready!")
	owner.waitText("Download")
}

func (s *suite) settings(t *testing.T) {
	b := s.newBrowser(t, "carol")
	s.logIn(b, carol)
	b.click("Settings")
	b.click("Rooms")
	b.click("Restricted")
	servicetest.Eventually(t, waitFor, "Carol's default access level to be saved", func() bool {
		return s.me(t, carol)["default_room_access_level"] == "restricted"
	})
	b.click("General")
	b.click("English")
	b.click("Français")
	b.waitText("Visioconférences simples et sécurisées")
	servicetest.Eventually(t, waitFor, "Carol's language to be saved", func() bool {
		return s.me(t, carol)["language"] == "fr-fr"
	})
	b.reload()
	b.waitText("Visioconférences simples et sécurisées")
	b.waitNoText("Simple and Secure Video Conferencing")
}
