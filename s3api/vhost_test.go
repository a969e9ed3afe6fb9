package s3api

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestHostBucket(t *testing.T) {
	domains, err := normalizeDomains([]string{" S3.Example.com ", "example.com", "", ".cairn.test."})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, bucket string
		ok           bool
	}{
		{"bkt.s3.example.com", "bkt", true},
		{"bkt.s3.example.com:9000", "bkt", true},
		{"BKT.S3.EXAMPLE.COM.", "bkt", true},
		{"my.dotted.bucket.s3.example.com", "my.dotted.bucket", true},
		{"b.other.example.com", "b.other", true},
		{"s3.example.com", "", false}, // path-style at the domain itself
		{"s3.example.com:9000", "", false},
		{"example.com", "", false},
		{"notexample.com", "", false},
		{".example.com", "", false},
		{"x.cairn.test", "x", true},
		{"127.0.0.1:9000", "", false},
		{"[::1]:9000", "", false},
		{"", "", false},
	} {
		b, ok := hostBucket(domains, c.host)
		if b != c.bucket || ok != c.ok {
			t.Errorf("%q: got %q %v, want %q %v", c.host, b, ok, c.bucket, c.ok)
		}
	}
	if b, ok := hostBucket(nil, "bkt.s3.example.com"); ok || b != "" {
		t.Fatal("virtual hosting without domains")
	}
	for _, bad := range []string{"http://s3.example.com", "s3.example.com:9000", "s3.example.com/x"} {
		if _, err := normalizeDomains([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestVirtualHostedRequests(t *testing.T) {
	_, idx, _, url := surfGateway(t, func(c *Config) { c.Domains = []string{"s3.cairn.test"} })
	addr := strings.TrimPrefix(url, "http://")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	ctx := context.Background()
	// S3 signs the path as sent: no second escaping.
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	do := func(method, bucket, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		if bucket != "" {
			req.Host = bucket + ".s3.cairn.test:" + port
		}
		sum := surfSHA256([]byte(body))
		req.Header.Set("X-Amz-Content-Sha256", sum)
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, req, sum, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := do("PUT", "vbkt", "/", ""); st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	if st, b := do("PUT", "vbkt", "/dir/a%20key", "hello"); st != 200 {
		t.Fatalf("put: %d %s", st, b)
	}
	if _, err := idx.GetObject(ctx, "default", "vbkt", "dir/a key"); err != nil {
		t.Fatalf("stored under the wrong key: %v", err)
	}
	if st, b := do("GET", "vbkt", "/dir/a%20key", ""); st != 200 || b != "hello" {
		t.Fatalf("get: %d %s", st, b)
	}
	if st, b := do("GET", "vbkt", "/?list-type=2", ""); st != 200 || !strings.Contains(b, "<Key>dir/a key</Key>") {
		t.Fatalf("list: %d %s", st, b)
	}
	// Path-style keeps working on the same server.
	if st, b := do("GET", "", "/vbkt/dir/a%20key", ""); st != 200 || b != "hello" {
		t.Fatalf("path-style get: %d %s", st, b)
	}
	// An SDK client in virtual-hosted mode, its connections sent to the
	// test server whatever the host name.
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://s3.cairn.test:" + port),
		Credentials: surfCreds("AK", "SK"), Retryer: aws.NopRetryer{}, HTTPClient: surfDialTo(addr)})
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vbkt"), Key: aws.String("sdk/key"), Body: strings.NewReader("via sdk")}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vbkt"), Key: aws.String("sdk/key")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	if string(got) != "via sdk" {
		t.Fatalf("got %q", got)
	}
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("vbkt")}); err != nil {
		t.Fatal(err)
	}
}
