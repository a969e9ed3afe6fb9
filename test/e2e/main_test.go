package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cairn-store/cairn/test/harness"
)

// The binaries under test, built once by TestMain.
var cairnBin, cairnctlBin string

// moduleRoot is the repository's root directory.
var moduleRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moduleRoot, err = filepath.Abs("../..")
	if err == nil {
		cairnBin, err = harness.Build(moduleRoot, dir, "cairn")
	}
	if err == nil {
		cairnctlBin, err = harness.Build(moduleRoot, dir, "cairnctl")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Every cluster's meta nodes take this admin token (see harness.Start),
	// and every cairnctl a test runs inherits it.
	if os.Getenv("CAIRN_ADMIN_TOKEN") == "" {
		os.Setenv("CAIRN_ADMIN_TOKEN", fmt.Sprintf("e2e-admin-token-%d-%d", os.Getpid(), time.Now().UnixNano()))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startCluster(t *testing.T, opt harness.Options) *harness.Cluster {
	t.Helper()
	return harness.Start(t, cairnBin, opt)
}

// s3Client returns an aws-sdk-go-v2 client built the way applications
// build one — config.LoadDefaultConfig, so the SDK's default checksum
// behaviour and retryer are in force — pointed at the cluster's gateway.
// Shared config files on the machine are not read.
func s3Client(c *harness.Cluster, access, secret string) *s3.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(c.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(access, secret, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		panic(fmt.Sprintf("aws config: %v", err))
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(c.Endpoint)
		o.UsePathStyle = true
	})
}

func client(c *harness.Cluster) *s3.Client { return s3Client(c, c.AccessKey, c.SecretKey) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pattern returns deterministic pseudo-random bytes for an object.
func pattern(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func mustCreateBucket(t *testing.T, cl *s3.Client, name string) {
	t.Helper()
	if _, err := cl.CreateBucket(ctxT(t, 30*time.Second), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

func put(ctx context.Context, cl *s3.Client, bucket, key string, body []byte) error {
	_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

func mustPut(t *testing.T, cl *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if err := put(ctxT(t, 2*time.Minute), cl, bucket, key, body); err != nil {
		t.Fatalf("put %s/%s (%d bytes): %v", bucket, key, len(body), err)
	}
}

// get reads an object (or a range of it) and returns its bytes.
func get(ctx context.Context, cl *s3.Client, bucket, key, rng string) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func mustGetEqual(t *testing.T, cl *s3.Client, bucket, key string, want []byte) {
	t.Helper()
	got, err := get(ctxT(t, 2*time.Minute), cl, bucket, key, "")
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s/%s: %d bytes (sha256 %x), want %d bytes (sha256 %x)", bucket, key,
			len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// apiCode returns the S3 error code and HTTP status of err.
func apiCode(err error) (string, int) {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	gotCode, gotStatus := apiCode(err)
	if gotStatus != status || (code != "" && gotCode != code) {
		t.Fatalf("want %s (%d), got %q (%d): %v", code, status, gotCode, gotStatus, err)
	}
}

// httpStatus is a tiny helper for raw requests.
func httpStatus(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
