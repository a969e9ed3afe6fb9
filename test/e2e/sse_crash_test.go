package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// TestSSECMultipartSurvivesGatewayCrash: kill -9 the gateway in the middle
// of an SSE-C part upload. Afterwards the upload holds only the parts that
// were acknowledged; it can be resumed and completed (and reads back only
// with the key), or aborted.
func TestSSECMultipartSurvivesGatewayCrash(t *testing.T) {
	c := startCluster(t, harness.Options{ExtraGW: []string{"--allow-insecure-ssec"}})
	cl := client(c)
	mustCreateBucket(t, cl, "ssec-crash")
	k := newSSEKey(5)
	ctx := ctxT(t, 3*time.Minute)
	parts := [][]byte{pattern(501, 5<<20), pattern(502, 5<<20), pattern(503, 1<<20+9)}

	start := func(key string) string {
		t.Helper()
		out, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("ssec-crash"), Key: aws.String(key),
			SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UploadId)
	}
	uploadPart := func(key, id string, n int32) string {
		t.Helper()
		out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("ssec-crash"), Key: aws.String(key), UploadId: aws.String(id),
			PartNumber: aws.Int32(n), Body: bytes.NewReader(parts[n-1]),
			SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		return aws.ToString(out.ETag)
	}
	// crashMidPart sends part n with a body that stalls halfway, and kills
	// the gateway while the gateway is reading it.
	crashMidPart := func(key, id string, n int) {
		t.Helper()
		pr, pw := io.Pipe()
		url := fmt.Sprintf("%s/ssec-crash/%s?partNumber=%d&uploadId=%s", c.Endpoint, key, n, id)
		req, err := http.NewRequest(http.MethodPut, url, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(parts[n-1]))
		req.Header.Set("Content-Length", strconv.Itoa(len(parts[n-1])))
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Algorithm", *k.alg)
		req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key", *k.key)
		req.Header.Set("X-Amz-Server-Side-Encryption-Customer-Key-Md5", *k.md5)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey},
			req, "UNSIGNED-PAYLOAD", "s3", c.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("part upload finished with %d", resp.StatusCode)
			}
			done <- err
		}()
		if _, err := pw.Write(parts[n-1][:len(parts[n-1])/2]); err != nil {
			t.Fatalf("writing half the part: %v", err)
		}
		if err := c.Gateway.Kill(); err != nil {
			t.Fatal(err)
		}
		pw.CloseWithError(errors.New("client gives up"))
		if err := <-done; err == nil {
			t.Fatal("the interrupted part upload cannot have succeeded")
		}
		if err := c.Gateway.Start(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
			t.Fatal(err)
		}
	}
	listed := func(key, id string) []int32 {
		t.Helper()
		out, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("ssec-crash"), Key: aws.String(key), UploadId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		var ns []int32
		for _, p := range out.Parts {
			ns = append(ns, aws.ToInt32(p.PartNumber))
		}
		return ns
	}

	// Resume after the crash.
	id := start("resumed")
	e1 := uploadPart("resumed", id, 1)
	crashMidPart("resumed", id, 2)
	if got := fmt.Sprint(listed("resumed", id)); got != "[1]" {
		t.Fatalf("parts after the crash: %s, want only the acknowledged [1]", got)
	}
	e2, e3 := uploadPart("resumed", id, 2), uploadPart("resumed", id, 3)
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("ssec-crash"), Key: aws.String("resumed"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: aws.String(e1)}, {PartNumber: aws.Int32(2), ETag: aws.String(e2)}, {PartNumber: aws.Int32(3), ETag: aws.String(e3)}}},
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	whole := bytes.Join(parts, nil)
	got, _, err := sseGet(ctx, cl, "ssec-crash", "resumed", "", k)
	if err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("resumed object: err=%v, %d bytes, want %d", err, len(got), len(whole))
	}
	_, err = get(ctx, cl, "ssec-crash", "resumed", "")
	wantAPIError(t, err, "InvalidRequest", http.StatusBadRequest)

	// Abort after the crash.
	id2 := start("aborted")
	uploadPart("aborted", id2, 1)
	crashMidPart("aborted", id2, 2)
	if _, err := cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("ssec-crash"), Key: aws.String("aborted"), UploadId: aws.String(id2)}); err != nil {
		t.Fatalf("abort: %v", err)
	}
	ups, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ssec-crash")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads after abort: %v %v", ups, err)
	}
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ssec-crash"), Key: aws.String("aborted")})
	wantAPIError(t, err, "", http.StatusNotFound)
}
