package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"meetcoord/actors/livekit/recordingoutput"
)

// Downloads of recordings are not presigned URLs: a proxy in front of the bucket asks
// recordings/media-auth/ and, when let through, sends its GET to the bucket with the headers
// signed here (AWS Signature Version 4). The recording's URL never grants access by itself, and
// every download is checked against who may retrieve the recording at that moment.

// emptyPayloadHash is the SHA-256 of an empty body: a GET carries none, and S3 wants the hash
// signed (X-Amz-Content-Sha256) rather than declared unsigned.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// defaultS3Region signs requests when AWS_S3_REGION_NAME is unset, as AWS's own clients do.
const defaultS3Region = "us-east-1"

// objectURL is where an object of the recordings bucket is fetched: under the configured
// endpoint (AWS's when none), the bucket in the path (AWS_S3_FORCE_PATH_STYLE) or in the host.
func objectURL(storage recordingoutput.RecordingOutput, key string) (*url.URL, error) {
	endpoint := storage.Endpoint
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
		if storage.Region != "" && storage.Region != defaultS3Region {
			endpoint = "https://s3." + storage.Region + ".amazonaws.com"
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("AWS_S3_ENDPOINT_URL %q is not an http(s) URL", endpoint)
	}
	if storage.Bucket == "" {
		return nil, fmt.Errorf("AWS_STORAGE_BUCKET_NAME is not set")
	}
	base := strings.TrimSuffix(u.Path, "/")
	if storage.ForcePathStyle {
		u.Path = base + "/" + storage.Bucket + "/" + key
	} else {
		u.Host = storage.Bucket + "." + u.Host
		u.Path = base + "/" + key
	}
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// objectGetHeaders signs a GET of one object of the recordings bucket at the given time and
// returns the headers that carry the signature: Authorization, X-Amz-Date and
// X-Amz-Content-Sha256 (the signed headers are these two and Host, the bucket's host).
func objectGetHeaders(ctx context.Context, storage recordingoutput.RecordingOutput, key string, at time.Time) (http.Header, error) {
	u, err := objectURL(storage, key)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build the request for %s: %w", u, err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptyPayloadHash)
	region := storage.Region
	if region == "" {
		region = defaultS3Region
	}
	creds := aws.Credentials{AccessKeyID: storage.AccessKey, SecretAccessKey: storage.Secret}
	// S3 signs the path as sent, not escaped a second time.
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(ctx, creds, req, emptyPayloadHash, "s3", region, at); err != nil {
		return nil, fmt.Errorf("sign the GET of %s: %w", u, err)
	}
	out := http.Header{}
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256"} {
		out.Set(name, req.Header.Get(name))
	}
	return out, nil
}
