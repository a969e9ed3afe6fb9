package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-store/cairn/test/harness"
)

// TestMinioGo drives a cluster with github.com/minio/minio-go/v7, default
// settings: buckets, single and multipart PUTs (it switches to multipart
// on its own above its part size), ranged GETs, listings, presigned URLs
// used with a plain HTTP client, and bulk removal.
func TestMinioGo(t *testing.T) {
	c := startCluster(t, harness.Options{})
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: false,
		Region: c.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	if err := mc.MakeBucket(ctx, "minio-go", minio.MakeBucketOptions{Region: c.Region}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	if ok, err := mc.BucketExists(ctx, "minio-go"); err != nil || !ok {
		t.Fatalf("bucket exists: %v %v", ok, err)
	}
	if ok, err := mc.BucketExists(ctx, "no-such-bucket"); err != nil || ok {
		t.Fatalf("missing bucket reported as existing: %v %v", ok, err)
	}

	objects := map[string][]byte{
		"small":           pattern(71, 1234),
		"dir/medium":      pattern(72, 3<<20+5),
		"dir/sub/big-mpu": pattern(73, 21<<20+77), // multipart with a 5 MiB part size
	}
	for key, body := range objects {
		opts := minio.PutObjectOptions{ContentType: "application/x-test", UserMetadata: map[string]string{"origin": "minio-go"}}
		if strings.HasSuffix(key, "mpu") {
			opts.PartSize = 5 << 20
		}
		info, err := mc.PutObject(ctx, "minio-go", key, bytes.NewReader(body), int64(len(body)), opts)
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if info.Size != int64(len(body)) {
			t.Fatalf("put %s: size %d", key, info.Size)
		}
	}
	st, err := mc.StatObject(ctx, "minio-go", "dir/sub/big-mpu", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(st.ETag, "-5") || st.ContentType != "application/x-test" || st.UserMetadata["Origin"] != "minio-go" {
		t.Fatalf("stat of the multipart object: etag %q type %q meta %v", st.ETag, st.ContentType, st.UserMetadata)
	}

	for key, want := range objects {
		obj, err := mc.GetObject(ctx, "minio-go", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("get %s: err=%v, %d bytes, want %d", key, err, len(got), len(want))
		}
		// A range that crosses a stripe (and, for the multipart object, a
		// part) boundary.
		if len(want) > 6<<20 {
			ro := minio.GetObjectOptions{}
			if err := ro.SetRange(5<<20-3, 5<<20+1000); err != nil {
				t.Fatal(err)
			}
			obj, err := mc.GetObject(ctx, "minio-go", key, ro)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(obj)
			obj.Close()
			if !bytes.Equal(got, want[5<<20-3:5<<20+1001]) {
				t.Fatalf("ranged get %s differs", key)
			}
		}
	}

	var listed []string
	for o := range mc.ListObjects(ctx, "minio-go", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed = append(listed, o.Key)
	}
	if fmt.Sprint(listed) != "[dir/medium dir/sub/big-mpu small]" {
		t.Fatalf("recursive listing: %v", listed)
	}
	var top []string
	for o := range mc.ListObjects(ctx, "minio-go", minio.ListObjectsOptions{Prefix: "dir/"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		top = append(top, o.Key)
	}
	if fmt.Sprint(top) != "[dir/medium dir/sub/]" {
		t.Fatalf("delimited listing: %v", top)
	}

	// Presigned GET and PUT, used by a plain HTTP client.
	getURL, err := mc.PresignedGetObject(ctx, "minio-go", "small", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(getURL.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, objects["small"]) {
		t.Fatalf("presigned GET: %d", resp.StatusCode)
	}
	putURL, err := mc.PresignedPutObject(ctx, "minio-go", "presigned-put", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	payload := pattern(74, 100<<10)
	req, _ := http.NewRequest(http.MethodPut, putURL.String(), bytes.NewReader(payload))
	if status, msg := httpStatus(t, req); status != 200 {
		t.Fatalf("presigned PUT: %d %s", status, msg)
	}
	obj, err := mc.GetObject(ctx, "minio-go", "presigned-put", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj)
	obj.Close()
	if !bytes.Equal(got, payload) {
		t.Fatal("object written by the presigned PUT differs")
	}

	// Bulk removal (DeleteObjects), then the bucket.
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range append(listed, "presigned-put") {
			ch <- minio.ObjectInfo{Key: k}
		}
	}()
	for e := range mc.RemoveObjects(ctx, "minio-go", ch, minio.RemoveObjectsOptions{}) {
		t.Fatalf("remove %s: %v", e.ObjectName, e.Err)
	}
	if err := mc.RemoveBucket(ctx, "minio-go"); err != nil {
		t.Fatalf("remove bucket: %v", err)
	}
	if ok, err := mc.BucketExists(ctx, "minio-go"); err != nil || ok {
		t.Fatalf("bucket still exists after removal: %v %v", ok, err)
	}
	// A GET's error has a body, which names the missing bucket.
	gone, err := mc.GetObject(ctx, "minio-go", "small", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	if _, err := gone.Read(make([]byte, 1)); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Fatalf("get after bucket removal: %v", err)
	}
}
