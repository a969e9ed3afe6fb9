package s3api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestBucketVersioningConfiguration: PutBucketVersioning takes Enabled and
// Suspended, refuses MFA delete and malformed documents, and
// GetBucketVersioning answers an empty configuration until it is set.
func TestBucketVersioningConfiguration(t *testing.T) {
	cl, idx, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	st, _, body := surfDo(t, base, "GET", "/bkt?versioning", nil, nil)
	if st != http.StatusOK || !strings.Contains(body, "<VersioningConfiguration") || strings.Contains(body, "<Status>") {
		t.Fatalf("unset: %d %s", st, body)
	}
	_, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("bkt"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled, MFADelete: types.MFADeleteEnabled}})
	if code(err) != "NotImplemented" || !strings.Contains(err.Error(), "MFA delete") {
		t.Fatalf("MFA delete: %v", err)
	}
	for _, doc := range []string{"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", "<Versioning", ""} {
		if st, _, out := surfDo(t, base, "PUT", "/bkt?versioning", []byte(doc), nil); st != http.StatusBadRequest || !strings.Contains(out, "MalformedXML") {
			t.Fatalf("%q: %d %s", doc, st, out)
		}
	}
	if b, _ := idx.GetBucket(ctx, "default", "bkt"); b.GetVersioning() != "" {
		t.Fatalf("refused requests changed the status to %q", b.GetVersioning())
	}
	for _, s := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended} {
		if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("bkt"),
			VersioningConfiguration: &types.VersioningConfiguration{Status: s, MFADelete: types.MFADeleteDisabled}}); err != nil {
			t.Fatal(err)
		}
		got, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
		if err != nil || got.Status != s {
			t.Fatalf("status %v %v, want %s", got, err, s)
		}
	}
	_, err = cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("nobkt"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if code(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
}

// TestListObjectVersionsDocument checks the ListVersionsResult the SDK
// reads, and versionId handling the gateway does itself.
func TestListObjectVersionsDocument(t *testing.T) {
	cl, _, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "d/x", "z"} {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt")})
	if err != nil || len(out.Versions) != 3 || aws.ToString(out.Versions[1].Key) != "d/x" || aws.ToString(out.Versions[1].VersionId) != "null" ||
		!aws.ToBool(out.Versions[1].IsLatest) || aws.ToInt64(out.Versions[1].Size) != 2 || aws.ToString(out.Versions[1].ETag) == "" {
		t.Fatalf("versions %+v %v", out, err)
	}
	if st, _, body := surfDo(t, base, "GET", "/bkt?versions&version-id-marker=x", nil, nil); st != http.StatusBadRequest {
		t.Fatalf("id marker without key marker: %d %s", st, body)
	}
	if st, _, _ := surfDo(t, base, "GET", "/bkt/a?versionId=", nil, nil); st != http.StatusBadRequest {
		t.Fatalf("empty versionId: %d", st)
	}
	got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a"), VersionId: aws.String("null")})
	if err != nil || aws.ToString(got.VersionId) != "null" {
		t.Fatalf("GET ?versionId=null: %v %v", got, err)
	}
	got.Body.Close()
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a"), VersionId: aws.String("0123456789abcdef0123456789abcdef")})
	if err == nil {
		t.Fatal("HEAD of a missing version succeeded")
	}
}

// markerIndex is the fake index with a delete marker on top of every key.
type markerIndex struct {
	*fakeIndex
	marker *cairnpb.ObjectVersion
}

func (m markerIndex) GetObject(context.Context, string, string, string) (*cairnpb.ObjectVersion, error) {
	return nil, rpcerr.ErrObjectNotFound
}

func (m markerIndex) GetObjectVersion(_ context.Context, _, _, _, versionID string) (*cairnpb.GetObjectVersionResponse, error) {
	if versionID != "" && versionID != m.marker.GetVersionId() {
		return nil, rpcerr.ErrObjectNotFound
	}
	return &cairnpb.GetObjectVersionResponse{Version: m.marker, Latest: true}, nil
}

// TestDeleteMarkerErrorHeaders: the errors a delete marker causes carry
// x-amz-delete-marker and the marker's version ID (and Last-Modified when
// the marker is named), as S3 sends them.
func TestDeleteMarkerErrorHeaders(t *testing.T) {
	const marker = "0123456789abcdef0123456789abcdef"
	_, _, _, base := surfGateway(t, func(c *Config) {
		idx := c.Index.(*fakeIndex)
		if _, err := idx.CreateBucket(context.Background(), "default", "bkt", "", false); err != nil {
			t.Fatal(err)
		}
		c.Index = markerIndex{fakeIndex: idx, marker: &cairnpb.ObjectVersion{
			Key: "k", VersionId: marker, Versioned: true, DeleteMarker: true, ModifiedUnixNano: time.Now().UnixNano()}}
	})
	for _, c := range []struct {
		path         string
		status       int
		lastModified bool
	}{
		{"/bkt/k", http.StatusNotFound, false},
		{"/bkt/k?versionId=" + marker, http.StatusMethodNotAllowed, true},
		{"/bkt/k?tagging&versionId=" + marker, http.StatusMethodNotAllowed, true},
	} {
		st, h, _ := surfDo(t, base, http.MethodGet, c.path, nil, nil)
		if st != c.status || h.Get("x-amz-delete-marker") != "true" || h.Get("x-amz-version-id") != marker ||
			(h.Get("Last-Modified") != "") != c.lastModified {
			t.Fatalf("GET %s: %d, headers %v", c.path, st, h)
		}
	}
}
