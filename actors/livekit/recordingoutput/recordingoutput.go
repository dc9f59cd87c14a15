// Package recordingoutput is where egress writes recordings (S3-compatible storage): the settings
// and the file name of a recording. It stands apart from the LiveKit client so that the gateway,
// which signs downloads from that storage, needs neither the client nor the room's ports.
package recordingoutput

import "strings"

// RecordingOutput is where egress writes recordings: S3-compatible storage.
type RecordingOutput struct {
	Folder         string // RECORDING_OUTPUT_FOLDER
	Bucket         string
	Endpoint       string
	Region         string
	AccessKey      string
	Secret         string
	ForcePathStyle bool
}

// Filepath is where a recording's file is written in the bucket: named after the recording id,
// mp4 for video, ogg for audio only.
func (o RecordingOutput) Filepath(recordingID string, audioOnly bool) string {
	path := recordingID + ".mp4"
	if audioOnly {
		path = recordingID + ".ogg"
	}
	if o.Folder != "" {
		path = strings.TrimSuffix(o.Folder, "/") + "/" + path
	}
	return path
}
