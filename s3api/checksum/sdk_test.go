package checksum

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestAgainstSDK sends real PutObject requests from aws-sdk-go-v2 with each
// checksum algorithm to a plain-http test server (the SDK then sends the
// checksum as a header) and checks that FromHeaders/Set/Verify accept them
// and compute the identical value.
func TestAgainstSDK(t *testing.T) {
	type seen struct {
		header, value string
		req           *Requested
		ours          string
		verifyErr     error
	}
	var (
		mu   sync.Mutex
		last seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s seen
		defer func() {
			mu.Lock()
			last = s
			mu.Unlock()
		}()
		q, err := FromHeaders(r.Header)
		if err != nil {
			s.verifyErr = err
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.req = q
		sums, err := NewSet(q.Algorithms()...)
		if err != nil {
			s.verifyErr = err
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := io.Copy(sums, r.Body); err != nil {
			s.verifyErr = err
		}
		s.verifyErr = q.Verify(sums, r.Body)
		if q.Algorithm != "" {
			s.header, s.value, s.ours = Header(q.Algorithm), r.Header.Get(Header(q.Algorithm)), sums.Base64(q.Algorithm)
		}
		w.Header().Set("ETag", `"x"`)
	}))
	defer srv.Close()

	client := s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})

	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 70000)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	bodies := [][]byte{nil, {0x42}, []byte("123456789"), big}
	algs := []types.ChecksumAlgorithm{
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
	}
	for _, alg := range algs {
		for _, body := range bodies {
			_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket:            aws.String("bucket"),
				Key:               aws.String("key"),
				Body:              bytes.NewReader(body),
				ChecksumAlgorithm: alg,
			})
			mu.Lock()
			got := last
			mu.Unlock()
			if err != nil {
				t.Fatalf("%s/%d: PutObject: %v (server: %v)", alg, len(body), err, got.verifyErr)
			}
			if got.verifyErr != nil {
				t.Errorf("%s/%d: verify: %v", alg, len(body), got.verifyErr)
			}
			if got.req == nil || got.req.Algorithm != string(alg) || got.req.Trailer != "" {
				t.Errorf("%s/%d: parsed %+v", alg, len(body), got.req)
				continue
			}
			if got.value == "" || got.value != got.ours {
				t.Errorf("%s/%d: SDK sent %s=%q, we computed %q", alg, len(body), got.header, got.value, got.ours)
			}
		}
	}
}
