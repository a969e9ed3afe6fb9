package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// TestMultipartChecksums uploads objects in parts with each checksum
// algorithm and type S3 allows and checks the object checksum the
// completion answers and HEAD/GET return with checksum mode: COMPOSITE is
// the checksum of the part checksums with "-<parts>", FULL_OBJECT the CRC
// of the whole object (which the SDK also verifies against the body it
// reads). Combinations S3 refuses are refused.
func TestMultipartChecksums(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	ctx := ctxT(t, 10*time.Minute)
	mustCreateBucket(t, cl, "mpsum")
	b := aws.String("mpsum")
	parts := [][]byte{pattern(11, 5<<20), pattern(12, 5<<20), pattern(13, 1500)}
	whole := bytes.Join(parts, nil)
	nvme := crc64.MakeTable(0x9A6C9329AC4BC9B5)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	enc := base64.StdEncoding.EncodeToString
	u32 := func(v uint32) string { return enc(binary.BigEndian.AppendUint32(nil, v)) }
	var crcs, shas []byte
	for _, p := range parts {
		crcs = binary.BigEndian.AppendUint32(crcs, crc32.ChecksumIEEE(p))
		s := sha256.Sum256(p)
		shas = append(shas, s[:]...)
	}
	shaOfShas := sha256.Sum256(shas)

	for _, tc := range []struct {
		alg  types.ChecksumAlgorithm
		typ  types.ChecksumType
		want string
	}{
		{types.ChecksumAlgorithmCrc32, "", fmt.Sprintf("%s-3", u32(crc32.ChecksumIEEE(crcs)))},
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, fmt.Sprintf("%s-3", enc(shaOfShas[:]))},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, u32(crc32.Checksum(whole, castagnoli))},
		{types.ChecksumAlgorithmCrc64nvme, "", enc(binary.BigEndian.AppendUint64(nil, crc64.Checksum(whole, nvme)))},
	} {
		key := aws.String(fmt.Sprintf("obj-%s-%s", tc.alg, tc.typ))
		wantType := tc.typ
		if wantType == "" {
			wantType = types.ChecksumTypeComposite
			if tc.alg == types.ChecksumAlgorithmCrc64nvme {
				wantType = types.ChecksumTypeFullObject
			}
		}
		mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: key, ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
		if err != nil {
			t.Fatalf("%s: create: %v", tc.alg, err)
		}
		if mp.ChecksumType != wantType {
			t.Fatalf("%s: upload type %q, want %q", tc.alg, mp.ChecksumType, wantType)
		}
		var done []types.CompletedPart
		for i, p := range parts {
			up, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: mp.UploadId, PartNumber: aws.Int32(int32(i + 1)),
				Body: bytes.NewReader(p), ChecksumAlgorithm: tc.alg})
			if err != nil {
				t.Fatalf("%s: part %d: %v", tc.alg, i+1, err)
			}
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag,
				ChecksumCRC32: up.ChecksumCRC32, ChecksumCRC32C: up.ChecksumCRC32C, ChecksumCRC64NVME: up.ChecksumCRC64NVME, ChecksumSHA256: up.ChecksumSHA256})
		}
		out, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: key, UploadId: mp.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
		if err != nil {
			t.Fatalf("%s: complete: %v", tc.alg, err)
		}
		got := aws.ToString(out.ChecksumCRC32) + aws.ToString(out.ChecksumCRC32C) + aws.ToString(out.ChecksumCRC64NVME) + aws.ToString(out.ChecksumSHA256)
		if got != tc.want || out.ChecksumType != wantType {
			t.Fatalf("%s %s: completion answered %q (%s), want %q (%s)", tc.alg, tc.typ, got, out.ChecksumType, tc.want, wantType)
		}
		h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got = aws.ToString(h.ChecksumCRC32) + aws.ToString(h.ChecksumCRC32C) + aws.ToString(h.ChecksumCRC64NVME) + aws.ToString(h.ChecksumSHA256)
		if got != tc.want || h.ChecksumType != wantType {
			t.Fatalf("%s %s: HEAD answered %q (%s), want %q", tc.alg, tc.typ, got, h.ChecksumType, tc.want)
		}
		g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(g.Body) // the SDK checks FULL_OBJECT values against the body
		g.Body.Close()
		if err != nil || !bytes.Equal(body, whole) {
			t.Fatalf("%s: GET: %d bytes, %v", tc.alg, len(body), err)
		}
	}

	// A listed part checksum that differs from the stored one fails the
	// completion and keeps the upload.
	key := aws.String("wrong-sum")
	mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	up, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[2]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: key, UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag, ChecksumCRC32: aws.String(u32(12345))}}}})
	wantAPIError(t, err, "InvalidPart", 400)
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: key})
	wantAPIError(t, err, "", 404)
	// A part with another algorithm than the upload's is refused.
	_, err = cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: mp.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(parts[2]), ChecksumAlgorithm: types.ChecksumAlgorithmSha1})
	wantAPIError(t, err, "InvalidRequest", 400)

	// Combinations S3 does not allow.
	for _, bad := range []struct {
		alg types.ChecksumAlgorithm
		typ types.ChecksumType
	}{{types.ChecksumAlgorithmSha256, types.ChecksumTypeFullObject}, {types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite}, {"", types.ChecksumTypeFullObject}} {
		_, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("bad"), ChecksumAlgorithm: bad.alg, ChecksumType: bad.typ})
		wantAPIError(t, err, "InvalidRequest", 400)
	}
	lu, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b, Prefix: aws.String("bad")})
	if err != nil || len(lu.Uploads) != 0 {
		t.Fatalf("refused uploads listed: %+v %v", lu, err)
	}
}
