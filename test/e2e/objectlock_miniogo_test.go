package e2e

import (
	"bytes"
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-store/cairn/test/harness"
)

// TestObjectLockMinioGo runs the object lock workflow of a backup tool
// whose repository is kept immutable by per-object retention, with
// github.com/minio/minio-go/v7 (the S3 library Kopia's S3 storage is built
// on; TestObjectLockKopia runs Kopia itself): a bucket made with object
// lock, blobs written with a COMPLIANCE retention (single PUT, multipart
// and server-side copy), the retention read back and extended as a
// maintenance run does, blobs "deleted" as the tool deletes them (delete
// markers), and removal of the retained versions refused, MinIO's
// force-delete extension included, until the retention ends.
func TestObjectLockMinioGo(t *testing.T) {
	c := startCluster(t, harness.Options{})
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Region: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const bucket = "repo"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: c.Region, ObjectLocking: true}); err != nil {
		t.Fatalf("make bucket with object lock: %v", err)
	}
	if enabled, _, _, _, err := mc.GetObjectLockConfig(ctx, bucket); err != nil || enabled != "Enabled" {
		t.Fatalf("object lock config: %q %v", enabled, err)
	}

	compliance := minio.Compliance
	until := time.Now().Add(12 * time.Second).UTC().Truncate(time.Second)
	blobs := map[string][]byte{
		"p0001": pattern(11, 4<<10),          // inline
		"p0002": pattern(12, 300<<10),        // erasure coded
		"q0003": pattern(13, 11<<20+1234567), // multipart
	}
	// As on AWS, a PUT with a retention needs a digest: minio-go sends
	// none by default (no Content-MD5, no checksum without trailing
	// headers), so a tool sets SendContentMd5 for a locked repository.
	_, err = mc.PutObject(ctx, bucket, "nodigest", bytes.NewReader(blobs["p0002"]), int64(len(blobs["p0002"])),
		minio.PutObjectOptions{Mode: compliance, RetainUntilDate: until})
	if resp := minio.ToErrorResponse(err); resp.Code != "InvalidRequest" || resp.StatusCode != 400 {
		t.Fatalf("retained PUT without a digest: %v", err)
	}
	versions := map[string]string{}
	for key, body := range blobs {
		opts := minio.PutObjectOptions{Mode: compliance, RetainUntilDate: until, PartSize: 5 << 20, SendContentMd5: true}
		info, err := mc.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), opts)
		if err != nil {
			t.Fatalf("put %s with retention: %v", key, err)
		}
		versions[key] = info.VersionID
	}
	cp, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "xcopy", Mode: compliance, RetainUntilDate: until},
		minio.CopySrcOptions{Bucket: bucket, Object: "p0002"})
	if err != nil {
		t.Fatalf("copy with retention: %v", err)
	}
	versions["xcopy"] = cp.VersionID
	for key, id := range versions {
		mode, date, err := mc.GetObjectRetention(ctx, bucket, key, id)
		if err != nil || mode == nil || *mode != compliance || date == nil || !date.Equal(until) {
			t.Fatalf("retention of %s: %v %v %v", key, mode, date, err)
		}
	}

	// Maintenance extends the retention of what it keeps.
	until = until.Add(3 * time.Second)
	if err := mc.PutObjectRetention(ctx, bucket, "p0001", minio.PutObjectRetentionOptions{
		Mode: &compliance, RetainUntilDate: &until, VersionID: versions["p0001"]}); err != nil {
		t.Fatalf("extend retention: %v", err)
	}
	st, err := mc.StatObject(ctx, bucket, "p0001", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" {
		t.Fatalf("stat of a retained blob: %v %v", st.Metadata, err)
	}
	shorter := until.Add(-5 * time.Second)
	if err := mc.PutObjectRetention(ctx, bucket, "p0001", minio.PutObjectRetentionOptions{
		Mode: &compliance, RetainUntilDate: &shorter, VersionID: versions["p0001"], GovernanceBypass: true}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("shortening COMPLIANCE: %v", err)
	}

	// The tool deletes blobs: delete markers. An attacker with the key
	// removes versions: refused, however asked.
	for key, id := range versions {
		if err := mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("delete %s (a delete marker): %v", key, err)
		}
		err := mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: id, GovernanceBypass: true, ForceDelete: true})
		if resp := minio.ToErrorResponse(err); resp.Code != "AccessDenied" || resp.StatusCode != 403 {
			t.Fatalf("remove retained version of %s: %v", key, err)
		}
	}
	for key, body := range blobs {
		obj, err := mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: versions[key]})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(obj); err != nil || !bytes.Equal(got.Bytes(), body) {
			t.Fatalf("retained version of %s after delete: %d bytes, %v", key, got.Len(), err)
		}
		obj.Close()
	}

	// After the retention, the versions go.
	time.Sleep(time.Until(until.Add(time.Second)))
	for key, id := range versions {
		if err := mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: id}); err != nil {
			t.Fatalf("remove %s after its retention: %v", key, err)
		}
	}
}
