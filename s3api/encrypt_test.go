package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/s3api/sse"
)

func testMasterKey(t testing.TB) *sse.MasterKey {
	t.Helper()
	mk, err := sse.NewMasterKey(bytes.Repeat([]byte{0x42}, sse.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// ssecKey is an SSE-C key as a client sends it.
type ssecKey struct{ alg, key, md5 *string }

func newSSECKey(seed byte) ssecKey {
	raw := bytes.Repeat([]byte{seed}, 32)
	sum := md5.Sum(raw)
	return ssecKey{aws.String("AES256"), aws.String(base64.StdEncoding.EncodeToString(raw)), aws.String(base64.StdEncoding.EncodeToString(sum[:]))}
}

// headers returns the key's headers with prefix "x-amz-" (the object's)
// or "x-amz-copy-source-" (a copy source's).
func (k ssecKey) headers(prefix string) map[string]string {
	if k.alg == nil {
		return map[string]string{}
	}
	return map[string]string{
		prefix + "server-side-encryption-customer-algorithm": *k.alg,
		prefix + "server-side-encryption-customer-key":       *k.key,
		prefix + "server-side-encryption-customer-key-MD5":   *k.md5,
	}
}

// ssecGateway is a gateway on fakes that accepts SSE-C over plain HTTP.
func ssecGateway(t *testing.T) (*s3.Client, *fakeIndex, *fakeShards, string) {
	t.Helper()
	cl, idx, sh, url := surfGateway(t, func(c *Config) { c.SSECTransport.AllowInsecure = true })
	if _, err := cl.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	return cl, idx, sh, url
}

func putSSEC(t *testing.T, cl *s3.Client, key string, body []byte, k ssecKey) *s3.PutObjectOutput {
	t.Helper()
	out, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: bytes.NewReader(body),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return out
}

func getSSEC(cl *s3.Client, key, rng string, k ssecKey) ([]byte, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := cl.GetObject(context.Background(), in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

// storedBytes returns every byte the fakes keep: inline data of records
// and uploads, and every shard block.
func storedBytes(idx *fakeIndex, sh *fakeShards) [][]byte {
	var out [][]byte
	idx.mu.Lock()
	for _, objs := range idx.objects {
		for _, v := range objs {
			out = append(out, v.GetInlineData())
		}
	}
	for _, up := range idx.mp.uploads {
		for _, p := range up.parts {
			out = append(out, p.GetInlineData())
		}
	}
	idx.mu.Unlock()
	sh.Edit(func(shards map[string][][]byte) {
		for _, blocks := range shards {
			out = append(out, bytes.Join(blocks, nil))
		}
	})
	return out
}

func assertNoPlaintext(t *testing.T, idx *fakeIndex, sh *fakeShards, marker []byte) {
	t.Helper()
	for _, b := range storedBytes(idx, sh) {
		for off := 0; off+64 <= len(marker); off += max(64, len(marker)/40) {
			if bytes.Contains(b, marker[off:off+64]) {
				t.Fatalf("plaintext bytes [%d, +64) of the marker found in storage", off)
			}
		}
	}
}

func TestDataIsEncryptedAtRest(t *testing.T) {
	cl, idx, sh, _ := ssecGateway(t)
	ctx := context.Background()
	marker := make([]byte, 6<<20)
	rand.New(rand.NewSource(11)).Read(marker)
	k := newSSECKey(1)
	objects := map[string][]byte{"inline": marker[:1000], "sharded": marker[:300<<10+5], "empty": nil}
	for name, body := range objects {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain-" + name), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		putSSEC(t, cl, "ssec-"+name, body, k)
	}
	// A multipart upload with an inline last part, still in progress.
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	for i, part := range [][]byte{marker[:5<<20], marker[5<<20 : 5<<20+700]} {
		if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(part)}); err != nil {
			t.Fatal(err)
		}
	}
	assertNoPlaintext(t, idx, sh, marker)

	for name, body := range objects {
		got, out, err := getSSEC(cl, "plain-"+name, "", ssecKey{})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("plain %s: %v", name, err)
		}
		if aws.ToString(out.ETag) != fmt.Sprintf(`"%x"`, md5.Sum(body)) || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Fatalf("plain %s: ETag %s, SSE %q", name, aws.ToString(out.ETag), out.ServerSideEncryption)
		}
		got, out, err = getSSEC(cl, "ssec-"+name, "", k)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("SSE-C %s: %v", name, err)
		}
		if aws.ToString(out.ETag) == fmt.Sprintf(`"%x"`, md5.Sum(body)) || aws.ToString(out.SSECustomerKeyMD5) != *k.md5 || aws.ToString(out.SSECustomerAlgorithm) != "AES256" {
			t.Fatalf("SSE-C %s: ETag %s, echo %q %q", name, aws.ToString(out.ETag), aws.ToString(out.SSECustomerAlgorithm), aws.ToString(out.SSECustomerKeyMD5))
		}
	}
	// Inline data is exactly as long as the plaintext (detached tags).
	idx.mu.Lock()
	v := idx.objects["bkt"]["ssec-inline"]
	idx.mu.Unlock()
	if len(v.GetInlineData()) != 1000 || len(v.GetEncryption().GetTags()) != sse.TagSize || v.GetEncryption().GetKeyId() != "" || len(v.GetEncryption().GetCustomerKeyHmac()) == 0 {
		t.Fatalf("SSE-C inline record: %d bytes, envelope %v", len(v.GetInlineData()), v.GetEncryption())
	}
}

func TestRangedGetsDecryptOnlyWhatTheyNeed(t *testing.T) {
	cl, _, _, _ := ssecGateway(t)
	body := make([]byte, 5*sse.PackageSize+321)
	rand.New(rand.NewSource(3)).Read(body)
	k := newSSECKey(2)
	putSSEC(t, cl, "obj", body, k)
	if _, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	p := int64(sse.PackageSize)
	size := int64(len(body))
	for _, r := range [][2]int64{{0, 0}, {p - 1, p}, {p, p}, {p - 1, 2 * p}, {p + 1, 3*p - 1}, {4*p - 1, size - 1}, {size - 1, size - 1}, {0, size - 1}} {
		rng := fmt.Sprintf("bytes=%d-%d", r[0], r[1])
		for key, kk := range map[string]ssecKey{"obj": k, "plain": {}} {
			got, _, err := getSSEC(cl, key, rng, kk)
			if err != nil || !bytes.Equal(got, body[r[0]:r[1]+1]) {
				t.Fatalf("%s %s: %v (%d bytes)", key, rng, err, len(got))
			}
		}
	}
	got, _, err := getSSEC(cl, "obj", "bytes=-70000", k)
	if err != nil || !bytes.Equal(got, body[size-70000:]) {
		t.Fatalf("suffix range: %v", err)
	}
}

func TestSSECRequestErrors(t *testing.T) {
	cl, _, _, url := ssecGateway(t)
	body := bytes.Repeat([]byte("Sup3rPriv4te "), 20000)
	k := newSSECKey(3)
	putSSEC(t, cl, "obj", body, k)
	putSSEC(t, cl, "small", []byte("tiny Sup3rPriv4te"), k)
	if _, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	badMD5 := k.headers("x-amz-")
	badMD5["x-amz-server-side-encryption-customer-key-MD5"] = *newSSECKey(4).md5
	shortKey := k.headers("x-amz-")
	shortKey["x-amz-server-side-encryption-customer-key"] = base64.StdEncoding.EncodeToString([]byte("short"))
	badAlg := k.headers("x-amz-")
	badAlg["x-amz-server-side-encryption-customer-algorithm"] = "AES128"
	for _, tc := range []struct {
		name, method, key string
		hdr               map[string]string
		status            int
		code              string
	}{
		{"GET without key", http.MethodGet, "obj", nil, 400, "InvalidRequest"},
		{"GET inline without key", http.MethodGet, "small", nil, 400, "InvalidRequest"},
		{"GET range without key", http.MethodGet, "obj", map[string]string{"Range": "bytes=0-10"}, 400, "InvalidRequest"},
		{"HEAD without key", http.MethodHead, "obj", nil, 400, ""},
		{"GET wrong key", http.MethodGet, "obj", newSSECKey(4).headers("x-amz-"), 403, "AccessDenied"},
		{"HEAD wrong key", http.MethodHead, "obj", newSSECKey(4).headers("x-amz-"), 403, ""},
		{"GET bad MD5", http.MethodGet, "obj", badMD5, 400, "InvalidArgument"},
		{"GET short key", http.MethodGet, "obj", shortKey, 400, "InvalidArgument"},
		{"GET AES128", http.MethodGet, "obj", badAlg, 400, "InvalidEncryptionAlgorithmError"},
		{"GET plain with key", http.MethodGet, "plain", k.headers("x-amz-"), 400, "InvalidRequest"},
		{"PUT bad MD5", http.MethodPut, "new", badMD5, 400, "InvalidArgument"},
		{"PUT SSE-C and SSE-S3", http.MethodPut, "new", map[string]string{"x-amz-server-side-encryption": "AES256",
			"x-amz-server-side-encryption-customer-algorithm": *k.alg, "x-amz-server-side-encryption-customer-key": *k.key,
			"x-amz-server-side-encryption-customer-key-MD5": *k.md5}, 400, "InvalidArgument"},
		{"PUT aws:kms", http.MethodPut, "new", map[string]string{"x-amz-server-side-encryption": "aws:kms"}, 501, "NotImplemented"},
	} {
		status, hdr, resp := surfDo(t, url, tc.method, "/bkt/"+tc.key, nil, tc.hdr)
		if status != tc.status || (tc.code != "" && !strings.Contains(resp, "<Code>"+tc.code+"</Code>")) {
			t.Errorf("%s: %d %s", tc.name, status, resp)
		}
		if strings.Contains(resp, "Sup3rPriv4te") || hdr.Get("Content-Range") != "" || hdr.Get("ETag") != "" {
			t.Errorf("%s: leaks %q %v", tc.name, resp, hdr)
		}
	}
	// The right key, raw: echoed, and x-amz-server-side-encryption absent.
	status, hdr, resp := surfDo(t, url, http.MethodGet, "/bkt/small", nil, k.headers("x-amz-"))
	if status != 200 || resp != "tiny Sup3rPriv4te" || hdr.Get("x-amz-server-side-encryption-customer-key-MD5") != *k.md5 || hdr.Get("x-amz-server-side-encryption") != "" {
		t.Fatalf("GET with key: %d %q %v", status, resp, hdr)
	}
	// SSE-S3 asked for explicitly: accepted, as data is always encrypted.
	status, hdr, _ = surfDo(t, url, http.MethodPut, "/bkt/sse-s3", []byte("x"), map[string]string{"x-amz-server-side-encryption": "AES256"})
	if status != 200 || hdr.Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("PUT with SSE-S3: %d %v", status, hdr)
	}
}

func TestSSECNeedsASecureConnection(t *testing.T) {
	k := newSSECKey(5)
	for _, tc := range []struct {
		name   string
		tr     sse.Transport
		hdr    map[string]string
		status int
	}{
		{"plain HTTP", sse.Transport{}, k.headers("x-amz-"), 400},
		{"copy source over plain HTTP", sse.Transport{}, k.headers("x-amz-copy-source-"), 400},
		{"trusted proxy, https", sse.Transport{TrustedProxies: mustProxies(t, "127.0.0.0/8")}, withHeader(k.headers("x-amz-"), "X-Forwarded-Proto", "https"), 200},
		{"trusted proxy, http", sse.Transport{TrustedProxies: mustProxies(t, "127.0.0.0/8")}, withHeader(k.headers("x-amz-"), "X-Forwarded-Proto", "http"), 400},
		{"untrusted proxy", sse.Transport{TrustedProxies: mustProxies(t, "10.0.0.0/8")}, withHeader(k.headers("x-amz-"), "X-Forwarded-Proto", "https"), 400},
		{"no SSE-C", sse.Transport{}, nil, 200},
	} {
		_, _, _, url := surfGateway(t, func(c *Config) { c.SSECTransport = tc.tr })
		surfDo(t, url, http.MethodPut, "/bkt", nil, nil)
		status, _, resp := surfDo(t, url, http.MethodPut, "/bkt/k", []byte("body"), tc.hdr)
		if status != tc.status || (status == 400 && !strings.Contains(resp, "secure connection")) {
			t.Errorf("%s: %d %s", tc.name, status, resp)
		}
	}
}

func mustProxies(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := sse.ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func withHeader(h map[string]string, k, v string) map[string]string {
	h[k] = v
	return h
}

func TestSSECMultipart(t *testing.T) {
	cl, idx, sh, url := ssecGateway(t)
	ctx := context.Background()
	k := newSSECKey(6)
	body := make([]byte, 5<<20+2000)
	rand.New(rand.NewSource(6)).Read(body)
	parts := [][]byte{body[:5<<20], body[5<<20:]} // the second one inline
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.SSECustomerKeyMD5) != *k.md5 {
		t.Fatalf("create: echo %q", aws.ToString(up.SSECustomerKeyMD5))
	}
	partPath := fmt.Sprintf("/bkt/mp?partNumber=1&uploadId=%s", aws.ToString(up.UploadId))
	for name, tc := range map[string]struct {
		hdr    map[string]string
		status int
		code   string
	}{
		"no key":    {nil, 400, "InvalidRequest"},
		"other key": {newSSECKey(7).headers("x-amz-"), 400, "InvalidArgument"},
	} {
		if status, _, resp := surfDo(t, url, http.MethodPut, partPath, parts[0][:100], tc.hdr); status != tc.status || !strings.Contains(resp, tc.code) {
			t.Errorf("part with %s: %d %s", name, status, resp)
		}
	}
	var completed []types.CompletedPart
	for i, p := range parts {
		out, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
		if err != nil {
			t.Fatal(err)
		}
		if sum := md5.Sum(p); aws.ToString(out.ETag) == `"`+hex.EncodeToString(sum[:])+`"` || aws.ToString(out.SSECustomerKeyMD5) != *k.md5 {
			t.Fatalf("part %d: ETag %s is the plaintext MD5, or no echo", i+1, aws.ToString(out.ETag))
		}
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	// Complete with another key is refused; with the right one, echoed.
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}, SSECustomerAlgorithm: aws.String("AES256"),
		SSECustomerKey: newSSECKey(7).key, SSECustomerKeyMD5: newSSECKey(7).md5}); code(err) != "InvalidArgument" {
		t.Fatalf("complete with another key: %v", err)
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}, SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	assertNoPlaintext(t, idx, sh, body)
	got, _, err := getSSEC(cl, "mp", "", k)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get: %v", err)
	}
	lo, hi := 5<<20-10, 5<<20+10 // across the parts
	if got, _, err = getSSEC(cl, "mp", fmt.Sprintf("bytes=%d-%d", lo, hi), k); err != nil || !bytes.Equal(got, body[lo:hi+1]) {
		t.Fatalf("range across parts: %v", err)
	}
	if _, _, err := getSSEC(cl, "mp", "", ssecKey{}); code(err) != "InvalidRequest" {
		t.Fatalf("get without key: %v", err)
	}
	if _, _, err := getSSEC(cl, "mp", "", newSSECKey(7)); code(err) != "AccessDenied" {
		t.Fatalf("get with another key: %v", err)
	}
	if out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), PartNumber: aws.Int32(2),
		SSECustomerAlgorithm: k.alg, SSECustomerKey: k.key, SSECustomerKeyMD5: k.md5}); err != nil {
		t.Fatalf("get part 2: %v", err)
	} else {
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(b, parts[1]) {
			t.Fatal("part 2 differs")
		}
	}
	// A plain upload refuses SSE-C parts.
	plain, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp2")})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, resp := surfDo(t, url, http.MethodPut, fmt.Sprintf("/bkt/mp2?partNumber=1&uploadId=%s", aws.ToString(plain.UploadId)), []byte("x"), k.headers("x-amz-")); status != 400 || !strings.Contains(resp, "not applicable") {
		t.Fatalf("SSE-C part of a plain upload: %d %s", status, resp)
	}
}

func TestSSECCopy(t *testing.T) {
	cl, _, _, _ := ssecGateway(t)
	ctx := context.Background()
	k1, k2 := newSSECKey(8), newSSECKey(9)
	body := make([]byte, 200<<10+3)
	rand.New(rand.NewSource(8)).Read(body)
	putSSEC(t, cl, "src", body, k1)
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("plain"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	copyObj := func(dst, src string, from, to ssecKey) (*s3.CopyObjectOutput, error) {
		return cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String(dst), CopySource: aws.String("bkt/" + src),
			CopySourceSSECustomerAlgorithm: from.alg, CopySourceSSECustomerKey: from.key, CopySourceSSECustomerKeyMD5: from.md5,
			SSECustomerAlgorithm: to.alg, SSECustomerKey: to.key, SSECustomerKeyMD5: to.md5})
	}
	for _, tc := range []struct {
		name, dst, src string
		from, to       ssecKey
	}{
		{"SSE-C to SSE-C, new key", "c1", "src", k1, k2},
		{"SSE-C to plain", "c2", "src", k1, ssecKey{}},
		{"plain to SSE-C", "c3", "plain", ssecKey{}, k2},
		{"SSE-C rekeyed in place", "src2", "src2", k1, k2},
	} {
		if tc.src == "src2" {
			putSSEC(t, cl, "src2", body, k1)
		}
		out, err := copyObj(tc.dst, tc.src, tc.from, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if aws.ToString(out.SSECustomerKeyMD5) != aws.ToString(tc.to.md5) {
			t.Fatalf("%s: echo %q", tc.name, aws.ToString(out.SSECustomerKeyMD5))
		}
		got, _, err := getSSEC(cl, tc.dst, "", tc.to)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: get: %v", tc.name, err)
		}
		if tc.to.alg != nil {
			if _, _, err := getSSEC(cl, tc.dst, "", tc.from); err == nil {
				t.Fatalf("%s: the old key still reads the copy", tc.name)
			}
		}
	}
	if _, err := copyObj("c4", "src", ssecKey{}, ssecKey{}); code(err) != "InvalidRequest" {
		t.Fatalf("copy without the source key: %v", err)
	}
	if _, err := copyObj("c4", "src", k2, ssecKey{}); code(err) != "AccessDenied" {
		t.Fatalf("copy with the wrong source key: %v", err)
	}
	if _, err := copyObj("c4", "plain", k1, ssecKey{}); code(err) != "InvalidRequest" {
		t.Fatalf("copy of a plain source with a source key: %v", err)
	}
}

func TestTamperedDataIsNeverServed(t *testing.T) {
	cl, idx, sh, _ := ssecGateway(t)
	body := make([]byte, 300<<10)
	rand.New(rand.NewSource(9)).Read(body)
	if _, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("obj"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("small"), Body: strings.NewReader("small")}); err != nil {
		t.Fatal(err)
	}
	// The fakes keep no block checksums or digests: a flipped byte is
	// caught only by decryption. Up to parity (2) such shards are read
	// around and reported; one more and the object is not served.
	flip := func(suffix string) {
		sh.Edit(func(shards map[string][][]byte) {
			for id, blocks := range shards {
				if strings.HasSuffix(id, suffix) {
					blocks[0][100] ^= 1
				}
			}
		})
	}
	flip(".0")
	if got, _, err := getSSEC(cl, "obj", "bytes=0-10", ssecKey{}); err != nil || !bytes.Equal(got, body[:11]) {
		t.Fatalf("one tampered shard: %v", err)
	}
	waitFor(t, "the shard's report", func() bool {
		for _, p := range idx.ShardProblems() {
			if p.GetIndex() == 0 && p.GetKey() == "obj" && p.GetReason() == "content failed decryption" {
				return true
			}
		}
		return false
	})
	flip(".3")
	if got, _, err := getSSEC(cl, "obj", "", ssecKey{}); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("two tampered shards: %v", err)
	}
	flip(".1")
	if _, _, err := getSSEC(cl, "obj", "bytes=0-10", ssecKey{}); code(err) != "InternalError" {
		t.Fatalf("three tampered shards: %v", err)
	}
	// The rest of the object, in other packages, still reads.
	if got, _, err := getSSEC(cl, "obj", "bytes=140000-140100", ssecKey{}); err != nil || !bytes.Equal(got, body[140000:140101]) {
		t.Fatalf("untouched packages: %v", err)
	}
	idx.mu.Lock()
	idx.objects["bkt"]["small"].InlineData[0] ^= 1
	idx.mu.Unlock()
	if _, _, err := getSSEC(cl, "small", "", ssecKey{}); code(err) != "InternalError" {
		t.Fatalf("tampered inline data: %v", err)
	}
	idx.mu.Lock()
	idx.objects["bkt"]["small"].Encryption = nil
	idx.mu.Unlock()
	if _, _, err := getSSEC(cl, "small", "", ssecKey{}); code(err) != "InternalError" {
		t.Fatalf("record without an envelope: %v", err)
	}
}

func TestNewRequiresAMasterKey(t *testing.T) {
	if _, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards()}); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("New without a master key: %v", err)
	}
}
