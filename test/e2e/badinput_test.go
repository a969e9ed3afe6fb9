package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// chunkSigner signs aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
// the way SigV4 defines them: each chunk's signature chains from the
// previous one, starting at the request's seed signature.
type chunkSigner struct {
	key      []byte // derived signing key
	datetime string // X-Amz-Date
	scope    string // <date>/<region>/s3/aws4_request
	prev     string // signature of the previous chunk, the seed first
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// chunk frames data as one signed chunk (the final chunk when empty).
func (s *chunkSigner) chunk(data []byte) []byte {
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256-PAYLOAD", s.datetime, s.scope, s.prev, hexSHA256(nil), hexSHA256(data)}, "\n")
	s.prev = hex.EncodeToString(hmacSHA256(s.key, toSign))
	return []byte(fmt.Sprintf("%x;chunk-signature=%s\r\n%s\r\n", len(data), s.prev, data))
}

// signedChunkedPut builds a PUT of data as a signed aws-chunked body cut
// into chunks of chunkSize, signed with the cluster's key; tamper, when
// set, may change the encoded body after signing. It returns the request
// and its encoded body.
func signedChunkedPut(t *testing.T, c *harness.Cluster, path string, data []byte, chunkSize int, decodedLen int, tamper func(chunks [][]byte)) (*http.Request, []byte) {
	t.Helper()
	now := time.Now().UTC()
	var n int
	for off := 0; off < len(data); off += chunkSize {
		n += len(fmt.Sprintf("%x;chunk-signature=", min(chunkSize, len(data)-off))) + 64 + 4 + min(chunkSize, len(data)-off)
	}
	n += len("0;chunk-signature=") + 64 + 4
	req, err := http.NewRequest(http.MethodPut, c.Endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	req.ContentLength = int64(n)
	req.Header.Set("X-Amz-Content-Sha256", mode)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(decodedLen))
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey}
	if err := signer.SignHTTP(context.Background(), creds, req, mode, "s3", c.Region, now); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	date := now.Format("20060102")
	key := hmacSHA256([]byte("AWS4"+c.SecretKey), date)
	for _, part := range []string{c.Region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	s := &chunkSigner{key: key, datetime: now.Format("20060102T150405Z"), scope: date + "/" + c.Region + "/s3/aws4_request", prev: seed}
	var chunks [][]byte
	for off := 0; off < len(data); off += chunkSize {
		chunks = append(chunks, s.chunk(data[off:min(off+chunkSize, len(data))]))
	}
	chunks = append(chunks, s.chunk(nil))
	if tamper != nil {
		tamper(chunks)
	}
	body := bytes.Join(chunks, nil)
	if len(body) != n {
		t.Fatalf("encoded %d bytes, declared %d", len(body), n)
	}
	req.Body = http.NoBody
	return req, body
}

func doWithBody(t *testing.T, req *http.Request, body []byte) (int, string) {
	t.Helper()
	req.Body = ioNopCloser{bytes.NewReader(body)}
	st, out := httpStatus(t, req)
	return st, string(out)
}

type ioNopCloser struct{ *bytes.Reader }

func (ioNopCloser) Close() error { return nil }

func wantS3Error(t *testing.T, what string, status int, body string, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || !strings.Contains(body, "<Code>"+code+"</Code>") {
		t.Fatalf("%s: %d %s, want %d %s", what, status, body, wantStatus, code)
	}
}

func wantNoObject(t *testing.T, cl *s3.Client, bucket, key string) {
	t.Helper()
	_, err := cl.HeadObject(ctxT(t, 30*time.Second), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	wantAPIError(t, err, "", http.StatusNotFound)
}

// TestBadInput sends malformed and dishonest requests the SDKs would never
// produce and checks each gets the error S3 answers with, and stores
// nothing.
func TestBadInput(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	ctx := ctxT(t, 10*time.Minute)
	mustCreateBucket(t, cl, "bad")
	data := pattern(21, 200<<10)

	t.Run("ChunkedUploadSigned", func(t *testing.T) {
		// The hand-made signer is right: an honest upload goes through.
		req, body := signedChunkedPut(t, c, "/bad/chunked-ok", data, 64<<10, len(data), nil)
		if st, out := doWithBody(t, req, body); st != http.StatusOK {
			t.Fatalf("signed aws-chunked PUT: %d %s", st, out)
		}
		mustGetEqual(t, cl, "bad", "chunked-ok", data)
	})
	t.Run("ChunkSignatureMismatch", func(t *testing.T) {
		req, body := signedChunkedPut(t, c, "/bad/chunk-sig", data, 64<<10, len(data), func(chunks [][]byte) {
			i := bytes.Index(chunks[1], []byte("chunk-signature=")) + len("chunk-signature=")
			chunks[1][i] = map[bool]byte{true: '1', false: '0'}[chunks[1][i] == '0']
		})
		st, out := doWithBody(t, req, body)
		wantS3Error(t, "tampered chunk signature", st, out, http.StatusForbidden, "SignatureDoesNotMatch")
		wantNoObject(t, cl, "bad", "chunk-sig")
	})
	t.Run("ChunkDataChanged", func(t *testing.T) {
		req, body := signedChunkedPut(t, c, "/bad/chunk-data", data, 64<<10, len(data), func(chunks [][]byte) {
			chunks[2][len(chunks[2])-3] ^= 1 // a data byte of the third chunk
		})
		st, out := doWithBody(t, req, body)
		wantS3Error(t, "changed chunk data", st, out, http.StatusForbidden, "SignatureDoesNotMatch")
		wantNoObject(t, cl, "bad", "chunk-data")
	})
	t.Run("ChunkedBodyShort", func(t *testing.T) {
		// The chunks carry less than x-amz-decoded-content-length.
		req, body := signedChunkedPut(t, c, "/bad/short", data, 64<<10, len(data)+100, nil)
		st, out := doWithBody(t, req, body)
		wantS3Error(t, "chunks short of the decoded length", st, out, http.StatusBadRequest, "IncompleteBody")
		wantNoObject(t, cl, "bad", "short")
	})
	t.Run("ChunkedBodyTruncated", func(t *testing.T) {
		// The connection ends halfway through the body.
		req, body := signedChunkedPut(t, c, "/bad/truncated", data, 64<<10, len(data), nil)
		u, _ := url.Parse(c.Endpoint)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var head bytes.Buffer
		fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, len(body))
		for name, vals := range req.Header {
			fmt.Fprintf(&head, "%s: %s\r\n", name, vals[0])
		}
		head.WriteString("\r\n")
		conn.Write(head.Bytes())
		conn.Write(body[:len(body)/2])
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatalf("no answer to a truncated body: %v", err)
		}
		var out bytes.Buffer
		out.ReadFrom(resp.Body)
		wantS3Error(t, "truncated aws-chunked body", resp.StatusCode, out.String(), http.StatusBadRequest, "IncompleteBody")
		wantNoObject(t, cl, "bad", "truncated")
	})
	t.Run("WrongTrailerChecksum", func(t *testing.T) {
		small := []byte("checksummed in the trailer")
		wrong := crc32.ChecksumIEEE(small) ^ 1
		trailer := fmt.Sprintf("x-amz-checksum-crc32:%s", base64.StdEncoding.EncodeToString([]byte{byte(wrong >> 24), byte(wrong >> 16), byte(wrong >> 8), byte(wrong)}))
		body := []byte(fmt.Sprintf("%x\r\n%s\r\n0\r\n%s\r\n\r\n", len(small), small, trailer))
		req, err := http.NewRequest(http.MethodPut, c.Endpoint+"/bad/trailer", nil)
		if err != nil {
			t.Fatal(err)
		}
		const mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
		req.ContentLength = int64(len(body))
		req.Header.Set("X-Amz-Content-Sha256", mode)
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(small)))
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey}, req, mode, "s3", c.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		st, out := doWithBody(t, req, body)
		wantS3Error(t, "wrong trailer checksum", st, out, http.StatusBadRequest, "BadDigest")
		wantNoObject(t, cl, "bad", "trailer")
	})
	t.Run("MalformedXML", func(t *testing.T) {
		mustPut(t, cl, "bad", "keep", []byte("keep me"))
		mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bad"), Key: aws.String("mp")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bad"), Key: aws.String("mp"), UploadId: mp.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))}); err != nil {
			t.Fatal(err)
		}
		doc := []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>")
		for _, r := range []struct{ what, method, path string }{
			{"CompleteMultipartUpload", http.MethodPost, "/bad/mp?uploadId=" + aws.ToString(mp.UploadId)},
			{"DeleteObjects", http.MethodPost, "/bad?delete"},
			{"PutBucketTagging", http.MethodPut, "/bad?tagging"},
		} {
			req, err := http.NewRequest(r.method, c.Endpoint+r.path, bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-MD5", contentMD5(doc))
			signV4(t, c, req, doc)
			st, out := httpStatus(t, req)
			wantS3Error(t, r.what, st, string(out), http.StatusBadRequest, "MalformedXML")
		}
		wantNoObject(t, cl, "bad", "mp")
		if parts, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bad"), Key: aws.String("mp"), UploadId: mp.UploadId}); err != nil || len(parts.Parts) != 1 {
			t.Fatalf("the upload did not survive a malformed completion: %v %v", parts, err)
		}
		mustGetEqual(t, cl, "bad", "keep", []byte("keep me"))
		_, err = cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bad")})
		wantAPIError(t, err, "NoSuchTagSet", http.StatusNotFound)
	})
	t.Run("KeyTooLong", func(t *testing.T) {
		long := strings.Repeat("k", 1025)
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bad"), Key: aws.String(long), Body: strings.NewReader("x")})
		wantAPIError(t, err, "KeyTooLongError", http.StatusBadRequest)
		_, err = cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bad"), Key: aws.String(long)})
		wantAPIError(t, err, "KeyTooLongError", http.StatusBadRequest)
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bad"), Prefix: aws.String("kkkk")})
		if err != nil || len(out.Contents) != 0 {
			t.Fatalf("long key stored: %v %v", out, err)
		}
		// 1024 bytes is the limit, not over it.
		mustPut(t, cl, "bad", long[:1024], []byte("x"))
	})
	t.Run("MetadataTooLarge", func(t *testing.T) {
		_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bad"), Key: aws.String("meta"), Body: strings.NewReader("x"),
			Metadata: map[string]string{"big": strings.Repeat("v", 2100)}})
		wantAPIError(t, err, "MetadataTooLarge", http.StatusBadRequest)
		wantNoObject(t, cl, "bad", "meta")
		_, err = cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bad"), Key: aws.String("meta"),
			Metadata: map[string]string{"a": strings.Repeat("v", 1100), "b": strings.Repeat("w", 1100)}})
		wantAPIError(t, err, "MetadataTooLarge", http.StatusBadRequest)
		lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bad"), Prefix: aws.String("meta")})
		if err != nil || len(lu.Uploads) != 0 {
			t.Fatalf("refused upload listed: %v %v", lu, err)
		}
	})
	t.Run("BucketTagsOverLimit", func(t *testing.T) {
		var tags []types.Tag
		for i := range 51 {
			tags = append(tags, types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
		}
		_, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bad"), Tagging: &types.Tagging{TagSet: tags}})
		wantAPIError(t, err, "InvalidTag", http.StatusBadRequest)
		_, err = cl.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bad")})
		wantAPIError(t, err, "NoSuchTagSet", http.StatusNotFound)
	})
}
