package gateway_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"

	"meetcoord/cmd/meetcoord/service/servicetest"
)

// Black-box tests of what the reference front end's recording pages read (frontend.md
// "Recordings"): the collect_metadata option, a recording's key and expiry, and
// recordings/media-auth/, whose signed headers are checked by an S3 stand-in that verifies
// Signature Version 4 on its own (its verifier is itself checked against AWS's published example).

const (
	mediaFolder = "meet/records"
	mediaBucket = "meet-bucket"
	mediaRegion = "eu-west-3"
	mediaKeyID  = "AKIDMEETCOORD"
	mediaSecret = "s3cr3t/with+odd=chars"
)

// emptySHA256 is the hash of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// mediaRecording is a recording as the download page reads it.
type mediaRecording struct {
	recRecording
	Key       string  `json:"key"`
	IsExpired bool    `json:"is_expired"`
	ExpiredAt *string `json:"expired_at"`
}

func mediaDecode(t *testing.T, res servicetest.Response, what string) mediaRecording {
	t.Helper()
	var r mediaRecording
	if err := json.Unmarshal(res.Body, &r); err != nil || r.ID == "" {
		t.Fatalf("%s: no recording in %s (%v)", what, res.Body, err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(res.Body, &raw)
	for _, field := range []string{"key", "is_expired", "expired_at"} {
		if _, ok := raw[field]; !ok {
			t.Fatalf("%s: no %q in %s", what, field, res.Body)
		}
	}
	return r
}

// sigV4Signature computes an AWS Signature Version 4 from a canonical request, independently of
// the AWS SDK the gateway signs with.
func sigV4Signature(secret, amzDate, region, service, canonicalRequest string) string {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	day := amzDate[:8]
	hashed := sha256.Sum256([]byte(canonicalRequest))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, day + "/" + region + "/" + service + "/aws4_request",
		hex.EncodeToString(hashed[:])}, "\n")
	key := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), service), "aws4_request")
	return hex.EncodeToString(mac(key, toSign))
}

// canonicalRequest is SigV4's canonical form of a request without query string; headers are
// the signed ones, by lowercase name.
func canonicalRequest(method, escapedPath string, headers map[string]string, payloadHash string) string {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	slices.Sort(names)
	var canonical strings.Builder
	for _, name := range names {
		canonical.WriteString(name + ":" + strings.TrimSpace(headers[name]) + "\n")
	}
	return strings.Join([]string{method, escapedPath, "", canonical.String(), strings.Join(names, ";"), payloadHash}, "\n")
}

// verifySigV4 checks the signature of a GET that carries Authorization, X-Amz-Date and
// X-Amz-Content-Sha256 signed for host, those two headers and nothing else.
func verifySigV4(r *http.Request, keyID, secret, region string) error {
	amzDate, payload := r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256")
	date, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %w", amzDate, err)
	}
	if skew := time.Since(date).Abs(); skew > 15*time.Minute {
		return fmt.Errorf("X-Amz-Date %s is %v away from now", amzDate, skew)
	}
	if payload != emptySHA256 {
		return fmt.Errorf("X-Amz-Content-Sha256 %q, want the hash of an empty payload", payload)
	}
	scope := amzDate[:8] + "/" + region + "/s3/aws4_request"
	prefix := "AWS4-HMAC-SHA256 Credential=" + keyID + "/" + scope + ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
	auth := r.Header.Get("Authorization")
	got, ok := strings.CutPrefix(auth, prefix)
	if !ok {
		return fmt.Errorf("Authorization %q does not start with %q", auth, prefix)
	}
	cr := canonicalRequest(r.Method, r.URL.EscapedPath(),
		map[string]string{"host": r.Host, "x-amz-content-sha256": payload, "x-amz-date": amzDate}, payload)
	if want := sigV4Signature(secret, amzDate, region, "s3", cr); got != want {
		return fmt.Errorf("signature %s, want %s for the canonical request\n%s", got, want, cr)
	}
	return nil
}

// TestSigV4VerifierMatchesAWSExample: the test's own verifier reproduces the GET Object example
// of AWS's S3 documentation ("Signature calculations for the Authorization header: transferring
// payload in a single chunk"), so that it can be trusted to judge the gateway's signatures.
func TestSigV4VerifierMatchesAWSExample(t *testing.T) {
	cr := canonicalRequest("GET", "/test.txt", map[string]string{
		"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
		"x-amz-content-sha256": emptySHA256, "x-amz-date": "20130524T000000Z",
	}, emptySHA256)
	if h := sha256.Sum256([]byte(cr)); hex.EncodeToString(h[:]) != "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972" {
		t.Fatalf("canonical request hash %x differs from AWS's example:\n%s", h, cr)
	}
	got := sigV4Signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z", "us-east-1", "s3", cr)
	if want := "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"; got != want {
		t.Fatalf("signature %s, want AWS's %s", got, want)
	}
}

// s3StandIn serves objects of one bucket, path style, to requests whose SigV4 signature it
// verifies; it answers 403 with the reason otherwise.
func s3StandIn(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verifySigV4(r, mediaKeyID, mediaSecret, mediaRegion); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// mediaAuth asks recordings/media-auth/ for original (no header when "").
func mediaAuth(c *servicetest.Client, original string) servicetest.Response {
	var headers []string
	if original != "" {
		headers = []string{"X-Original-URL", original}
	}
	return c.Do(http.MethodGet, servicetest.Path("recordings", "media-auth"), nil, headers...)
}

// TestRecordingDownload covers the collect_metadata option, a recording's key and expiry, and
// recordings/media-auth/ (frontend.md "Recordings").
func TestRecordingDownload(t *testing.T) {
	s3 := s3StandIn(t)
	e := recStart(t, map[string]string{
		"RECORDING_OUTPUT_FOLDER": mediaFolder, "RECORDING_EXPIRATION_DAYS": "7",
		"AWS_STORAGE_BUCKET_NAME": mediaBucket, "AWS_S3_ENDPOINT_URL": s3.URL, "AWS_S3_FORCE_PATH_STYLE": "true",
		"AWS_S3_REGION_NAME": mediaRegion, "AWS_S3_ACCESS_KEY_ID": mediaKeyID, "AWS_S3_SECRET_ACCESS_KEY": mediaSecret,
	})
	owner := e.n.NewUser("owner")
	stranger := e.n.NewUser("stranger")

	// saved makes a recording of a new room of owner's and brings it to saved.
	saved := func(t *testing.T, mode string) mediaRecording {
		t.Helper()
		roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		rec := e.startOK(t, owner.Client, roomID, mode)
		e.send(t, "egress_ended", e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_COMPLETE)
		recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)
		res := owner.Do(http.MethodGet, servicetest.Path("recordings", rec.ID), nil)
		recExpect(t, res, http.StatusOK, "retrieve saved recording")
		return mediaDecode(t, res, "retrieve saved recording")
	}

	t.Run("the front end's collect_metadata option", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			value any
			want  any // in options; nil: absent
		}{
			{"true", true, true},
			{"false", false, false},
			{"null", nil, nil},
		} {
			roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
			res := recPost(owner.Client, roomID, "start-recording", map[string]any{"mode": "transcript",
				"options": map[string]any{"language": "fr", "collect_metadata": c.value}})
			recExpect(t, res, http.StatusCreated, "transcript with collect_metadata "+c.name)
			rec := mediaDecode(t, res, "start")
			if got, present := rec.Options["collect_metadata"]; got != c.want || present != (c.want != nil) {
				t.Errorf("collect_metadata %s: options %v, want collect_metadata %v", c.name, rec.Options, c.want)
			}
			if stored, _ := recGet(t, owner.Client, rec.ID); !maps.Equal(stored.Options, rec.Options) {
				t.Errorf("collect_metadata %s: retrieved options %v, started with %v", c.name, stored.Options, rec.Options)
			}
		}
		res := recPost(owner.Client, owner.CreateRoom(map[string]any{"access_level": "public"}).ID, "start-recording", map[string]any{"mode": "transcript",
			"options": map[string]any{"collect_metadata": "yes"}})
		recExpect(t, res, http.StatusBadRequest, "collect_metadata not a boolean")
		if !strings.Contains(string(res.Body), "collect_metadata") {
			t.Errorf("body %s does not name collect_metadata", res.Body)
		}
	})

	t.Run("key and expiry", func(t *testing.T) {
		for mode, ext := range map[string]string{"screen_recording": "mp4", "transcript": "ogg"} {
			rec := saved(t, mode)
			if want := mediaFolder + "/" + rec.ID + "." + ext; rec.Key != want {
				t.Errorf("%s: key %q, want %q", mode, rec.Key, want)
			}
			created, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
			if err != nil || rec.ExpiredAt == nil {
				t.Fatalf("%s: created_at %q, expired_at %v", mode, rec.CreatedAt, rec.ExpiredAt)
			}
			if expired, err := time.Parse(time.RFC3339Nano, *rec.ExpiredAt); err != nil || !expired.Equal(created.AddDate(0, 0, 7)) {
				t.Errorf("%s: expired_at %s, want created_at %s + 7 days", mode, *rec.ExpiredAt, rec.CreatedAt)
			}
			if rec.IsExpired {
				t.Errorf("%s: a recording of today is expired", mode)
			}
		}
	})

	t.Run("media-auth lets the owner download a saved recording", func(t *testing.T) {
		for _, mode := range []string{"screen_recording", "transcript"} {
			rec := saved(t, mode)
			res := mediaAuth(owner.Client, "/media/"+rec.Key)
			recExpect(t, res, http.StatusOK, "media-auth of "+mode)
			req := proxiedGet(t, res, s3.URL+"/"+mediaBucket+"/"+rec.Key, "")
			if got := res.Header.Get("X-Amz-Date"); !strings.HasPrefix(got, e.n.Clock.Now().UTC().Format("20060102T15")) {
				t.Errorf("X-Amz-Date %s is not the node's time %s", got, e.n.Clock.Now().UTC())
			}
			expectObject(t, req, "/"+mediaBucket+"/"+rec.Key)
			// Signed for that object only.
			req.URL.Path = "/" + mediaBucket + "/" + mediaFolder + "/" + uuid.NewString() + ".mp4"
			out, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET from the S3 stand-in: %v", err)
			}
			out.Body.Close()
			if out.StatusCode != http.StatusForbidden {
				t.Fatalf("the headers of one recording opened another: %d", out.StatusCode)
			}
		}
	})

	t.Run("media-auth refusals", func(t *testing.T) {
		rec := saved(t, "screen_recording")
		activeRoom := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
		active := e.startOK(t, owner.Client, activeRoom, "screen_recording")
		valid := "/media/" + rec.Key
		for _, c := range []struct {
			name     string
			c        *servicetest.Client
			original string
			want     int
		}{
			{"anonymous", e.n.Client(""), valid, http.StatusUnauthorized},
			{"another user", stranger.Client, valid, http.StatusForbidden},
			{"a recording not saved", owner.Client, "/media/" + mediaFolder + "/" + active.ID + ".mp4", http.StatusForbidden},
			{"an unknown recording", owner.Client, "/media/" + mediaFolder + "/" + uuid.NewString() + ".mp4", http.StatusNotFound},
			{"the wrong file type", owner.Client, "/media/" + mediaFolder + "/" + rec.ID + ".ogg", http.StatusNotFound},
			{"no header", owner.Client, "", http.StatusBadRequest},
			{"not under /media/", owner.Client, "/files/" + rec.Key, http.StatusBadRequest},
			{"another folder", owner.Client, "/media/other/" + rec.ID + ".mp4", http.StatusBadRequest},
			{"an unsupported extension", owner.Client, "/media/" + mediaFolder + "/" + rec.ID + ".wav", http.StatusBadRequest},
			{"not a uuid", owner.Client, "/media/" + mediaFolder + "/recording.mp4", http.StatusBadRequest},
		} {
			res := mediaAuth(c.c, c.original)
			if res.Status != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, res.Status, res.Body, c.want)
			}
			if res.Header.Get("Authorization") != "" {
				t.Errorf("%s: a refusal carries an Authorization header", c.name)
			}
		}
		// A full URL in the header is read for its path, as the reference product does.
		recExpect(t, mediaAuth(owner.Client, "https://meet.example.org"+valid+"?download=1"), http.StatusOK, "full original URL")
	})

	// Runs last: it moves the node's clock 8 days on.
	t.Run("a recording past its expiry is expired", func(t *testing.T) {
		rec := saved(t, "transcript")
		e.n.Clock.Advance(8 * 24 * time.Hour)
		got, code := recGetMedia(t, owner.Client, rec.ID)
		if code != http.StatusOK || !got.IsExpired || got.ExpiredAt == nil || *got.ExpiredAt != *rec.ExpiredAt {
			t.Fatalf("8 days later: %d %+v, want is_expired with expired_at %s", code, got, *rec.ExpiredAt)
		}
		if i := slices.IndexFunc(mediaList(t, owner.Client), func(r mediaRecording) bool { return r.ID == rec.ID }); i < 0 {
			t.Fatal("the expired recording is not listed")
		} else if !mediaList(t, owner.Client)[i].IsExpired {
			t.Fatal("the expired recording is listed as not expired")
		}
	})
}

// TestRecordingWithoutExpiry: with RECORDING_EXPIRATION_DAYS unset, expired_at is null and no
// recording is expired. The bucket is addressed by host here (AWS_S3_FORCE_PATH_STYLE false).
func TestRecordingWithoutExpiry(t *testing.T) {
	s3 := s3StandIn(t)
	e := recStart(t, map[string]string{
		"AWS_STORAGE_BUCKET_NAME": mediaBucket, "AWS_S3_ENDPOINT_URL": s3.URL, "AWS_S3_FORCE_PATH_STYLE": "false",
		"AWS_S3_REGION_NAME": mediaRegion, "AWS_S3_ACCESS_KEY_ID": mediaKeyID, "AWS_S3_SECRET_ACCESS_KEY": mediaSecret,
	})
	owner := e.n.NewUser("owner")
	roomID := owner.CreateRoom(map[string]any{"access_level": "public"}).ID
	rec := e.startOK(t, owner.Client, roomID, "screen_recording")
	e.send(t, "egress_ended", e.egressOf(t, roomID), livekit.EgressStatus_EGRESS_COMPLETE)
	recWaitStatus(t, owner.Client, rec.ID, "saved", recWithin)

	res := mediaAuth(owner.Client, "/media/recordings/"+rec.ID+".mp4")
	recExpect(t, res, http.StatusOK, "media-auth")
	host := strings.TrimPrefix(s3.URL, "http://")
	expectObject(t, proxiedGet(t, res, s3.URL+"/recordings/"+rec.ID+".mp4", mediaBucket+"."+host), "/recordings/"+rec.ID+".mp4")

	e.n.Clock.Advance(10 * 365 * 24 * time.Hour)
	got, code := recGetMedia(t, owner.Client, rec.ID)
	if code != http.StatusOK || got.ExpiredAt != nil || got.IsExpired || got.Key != "recordings/"+rec.ID+".mp4" {
		t.Fatalf("recording %d %+v: want expired_at null, is_expired false, key recordings/%s.mp4", code, got, rec.ID)
	}
}

func recGetMedia(t *testing.T, c *servicetest.Client, id string) (mediaRecording, int) {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("recordings", id), nil)
	if res.Status != http.StatusOK {
		return mediaRecording{}, res.Status
	}
	return mediaDecode(t, res, "retrieve recording"), res.Status
}

func mediaList(t *testing.T, c *servicetest.Client) []mediaRecording {
	t.Helper()
	res := c.Do(http.MethodGet, servicetest.Path("recordings")+"?page_size=100", nil)
	recExpect(t, res, http.StatusOK, "list recordings")
	var body struct {
		Results []mediaRecording `json:"results"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("list recordings: %s (%v)", res.Body, err)
	}
	return body.Results
}

// proxiedGet is what the proxy sends the bucket after media-auth's 200: a GET of url (with the
// Host header host, when not "") carrying the headers media-auth answered.
func proxiedGet(t *testing.T, res servicetest.Response, url, host string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256"} {
		if res.Header.Get(name) == "" {
			t.Fatalf("media-auth answer has no %s: %v", name, res.Header)
		}
		req.Header.Set(name, res.Header.Get(name))
	}
	return req
}

// expectObject sends req to the S3 stand-in and expects the object at path.
func expectObject(t *testing.T, req *http.Request, path string) {
	t.Helper()
	out, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET from the S3 stand-in: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if out.StatusCode != http.StatusOK || string(body) != "object "+path {
		t.Fatalf("S3 stand-in answered %d %s, want the object %s", out.StatusCode, body, path)
	}
}
