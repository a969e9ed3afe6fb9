package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/test/harness"
)

// sseKey is an SSE-C key as a client sends it.
type sseKey struct{ alg, key, md5 *string }

func newSSEKey(seed int64) sseKey {
	raw := pattern(seed, 32)
	sum := md5.Sum(raw)
	return sseKey{aws.String("AES256"), aws.String(base64.StdEncoding.EncodeToString(raw)), aws.String(base64.StdEncoding.EncodeToString(sum[:]))}
}

func ssePut(ctx context.Context, cl *s3.Client, bucket, key string, body []byte, k sseKey) (*s3.PutObjectOutput, error) {
	return cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
}

func sseGet(ctx context.Context, cl *s3.Client, bucket, key, rng string, k sseKey) ([]byte, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		return nil, out, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

func sseHead(ctx context.Context, cl *s3.Client, bucket, key string, k sseKey) (*s3.HeadObjectOutput, error) {
	return cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
}

// TestSSE runs encryption at rest and SSE-C against one real cluster (over
// plain HTTP, which --allow-insecure-ssec permits). Its last subtest stops
// the cluster and searches every file of every node for plaintext.
func TestSSE(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	cl := client(c)
	const bucket = "sse"
	mustCreateBucket(t, cl, bucket)
	k1, k2 := newSSEKey(1), newSSEKey(2)
	const pkg = 64 << 10

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := ctxT(t, time.Minute)
		for _, n := range []int{0, 1, pkg - 1, pkg, pkg + 1} {
			body := pattern(int64(n), n)
			key := fmt.Sprintf("rt/%d", n)
			put, err := ssePut(ctx, cl, bucket, key, body, k1)
			if err != nil {
				t.Fatalf("put %d: %v", n, err)
			}
			if aws.ToString(put.SSECustomerKeyMD5) != *k1.md5 || aws.ToString(put.ETag) == fmt.Sprintf(`"%x"`, md5.Sum(body)) {
				t.Fatalf("put %d: echo %q, ETag %s (must not be the plaintext MD5)", n, aws.ToString(put.SSECustomerKeyMD5), aws.ToString(put.ETag))
			}
			got, out, err := sseGet(ctx, cl, bucket, key, "", k1)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("get %d: %v (%d bytes)", n, err, len(got))
			}
			if aws.ToString(out.SSECustomerAlgorithm) != "AES256" || aws.ToString(out.ETag) != aws.ToString(put.ETag) {
				t.Fatalf("get %d: algorithm %q ETag %s", n, aws.ToString(out.SSECustomerAlgorithm), aws.ToString(out.ETag))
			}
			head, err := sseHead(ctx, cl, bucket, key, k1)
			if err != nil || aws.ToInt64(head.ContentLength) != int64(n) || aws.ToString(head.SSECustomerKeyMD5) != *k1.md5 {
				t.Fatalf("head %d: %v", n, err)
			}
		}
		// Listings show plaintext sizes.
		list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("rt/")})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Contents {
			var n int64
			fmt.Sscanf(aws.ToString(o.Key), "rt/%d", &n)
			if aws.ToInt64(o.Size) != n {
				t.Fatalf("listing: %s is %d bytes", aws.ToString(o.Key), aws.ToInt64(o.Size))
			}
		}
	})

	mpBody := pattern(30, 20*(5<<20)+4321) // 100 MiB in 21 parts
	t.Run("Multipart", func(t *testing.T) {
		up := manager.NewUploader(cl, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 4 })
		if _, err := up.Upload(ctxT(t, 2*time.Minute), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp"), Body: bytes.NewReader(mpBody),
			SSECustomerAlgorithm: k1.alg, SSECustomerKey: k1.key, SSECustomerKeyMD5: k1.md5}); err != nil {
			t.Fatalf("upload: %v", err)
		}
		got, _, err := sseGet(ctxT(t, time.Minute), cl, bucket, "mp", "", k1)
		if err != nil || !bytes.Equal(got, mpBody) {
			t.Fatalf("get: %v", err)
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		ctx := ctxT(t, time.Minute)
		body := pattern(3, 5*pkg+777)
		if _, err := ssePut(ctx, cl, bucket, "ranged", body, k1); err != nil {
			t.Fatal(err)
		}
		type obj struct {
			key  string
			data []byte
		}
		for _, o := range []obj{{"ranged", body}, {"mp", mpBody}} {
			size := int64(len(o.data))
			var points []int64
			for _, b := range []int64{pkg, 2 * pkg, 5 << 20, 5<<20 + pkg, size - 1} {
				for _, d := range []int64{-1, 0, 1} {
					if p := b + d; p >= 0 && p < size {
						points = append(points, p)
					}
				}
			}
			for i, lo := range points {
				hi := points[(i+4)%len(points)]
				if hi < lo {
					lo, hi = hi, lo
				}
				got, _, err := sseGet(ctx, cl, bucket, o.key, fmt.Sprintf("bytes=%d-%d", lo, hi), k1)
				if err != nil || !bytes.Equal(got, o.data[lo:hi+1]) {
					t.Fatalf("%s bytes=%d-%d: %v (%d bytes)", o.key, lo, hi, err, len(got))
				}
			}
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		ctx := ctxT(t, time.Minute)
		bad := newSSEKey(1)
		bad.md5 = newSSEKey(3).md5
		for _, key := range []string{"rt/1", fmt.Sprintf("rt/%d", pkg+1), "mp"} {
			for _, tc := range []struct {
				name   string
				k      sseKey
				code   string
				status int
			}{
				{"no key", sseKey{}, "InvalidRequest", 400},
				{"wrong key", k2, "AccessDenied", 403},
				{"bad MD5", bad, "InvalidArgument", 400},
			} {
				got, out, err := sseGet(ctx, cl, bucket, key, "", tc.k)
				wantAPIError(t, err, tc.code, tc.status)
				if len(got) > 0 || out != nil {
					t.Fatalf("GET %s with %s: %d body bytes leaked", key, tc.name, len(got))
				}
				_, err = sseHead(ctx, cl, bucket, key, tc.k)
				wantAPIError(t, err, "", tc.status)
			}
		}
		// SSE-C headers on an object stored without them.
		mustPut(t, cl, bucket, "plain", []byte("plain"))
		_, _, err := sseGet(ctx, cl, bucket, "plain", "", k1)
		wantAPIError(t, err, "InvalidRequest", 400)
	})

	t.Run("Copy", func(t *testing.T) {
		ctx := ctxT(t, time.Minute)
		body := pattern(4, 3*pkg+5)
		if _, err := ssePut(ctx, cl, bucket, "copy/src", body, k1); err != nil {
			t.Fatal(err)
		}
		mustPut(t, cl, bucket, "copy/plain", body)
		for _, tc := range []struct {
			name, src, dst string
			from, to       sseKey
		}{
			{"SSE-C to SSE-C, new key", "copy/src", "copy/a", k1, k2},
			{"SSE-C to plain", "copy/src", "copy/b", k1, sseKey{}},
			{"plain to SSE-C", "copy/plain", "copy/c", sseKey{}, k2},
		} {
			if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String(tc.dst), CopySource: aws.String(bucket + "/" + tc.src),
				CopySourceSSECustomerAlgorithm: tc.from.alg, CopySourceSSECustomerKey: tc.from.key, CopySourceSSECustomerKeyMD5: tc.from.md5,
				SSECustomerAlgorithm: tc.to.alg, SSECustomerKey: tc.to.key, SSECustomerKeyMD5: tc.to.md5}); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got, _, err := sseGet(ctx, cl, bucket, tc.dst, "", tc.to)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: get: %v", tc.name, err)
			}
			if tc.to.alg != nil {
				if _, _, err := sseGet(ctx, cl, bucket, tc.dst, "", tc.from); err == nil {
					t.Fatalf("%s: the source's key reads the copy", tc.name)
				}
			}
		}
	})

	// Last: stops the cluster.
	t.Run("NoPlaintextOnDisk", func(t *testing.T) {
		ctx := ctxT(t, time.Minute)
		marker := pattern(99, 1<<20)
		// Inline (small) and erasure-coded (large), plain and SSE-C.
		mustPut(t, cl, bucket, "marker/plain-small", marker[:16<<10])
		mustPut(t, cl, bucket, "marker/plain-large", marker)
		if _, err := ssePut(ctx, cl, bucket, "marker/ssec-small", marker[:16<<10], k1); err != nil {
			t.Fatal(err)
		}
		if _, err := ssePut(ctx, cl, bucket, "marker/ssec-large", marker, k1); err != nil {
			t.Fatal(err)
		}
		mustGetEqual(t, cl, bucket, "marker/plain-large", marker)
		for _, p := range c.All() {
			if err := p.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		// Distinct 64-byte windows, several inside the inline objects' 16 KiB.
		var windows [][]byte
		for _, off := range []int{0, 4096, 12345, 16<<10 - 64, 100_000, 500_000, 1<<20 - 64} {
			windows = append(windows, marker[off:off+64])
		}
		files, scanned := 0, int64(0)
		var dirs []string
		for _, p := range append(append([]*harness.Proc(nil), c.Metas...), c.Datas...) {
			dirs = append(dirs, p.Dir)
		}
		for _, dir := range dirs {
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				files++
				scanned += int64(len(b))
				for i, w := range windows {
					if at := bytes.Index(b, w); at >= 0 {
						t.Errorf("plaintext window %d found in %s at offset %d", i, path, at)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if files == 0 || scanned < 1<<20 {
			t.Fatalf("scanned %d files, %d bytes: the search saw no data", files, scanned)
		}
		t.Logf("searched %d files, %d bytes, under %d node directories", files, scanned, len(dirs))
	})
}
