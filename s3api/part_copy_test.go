package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestUploadPartCopy(t *testing.T) {
	cl, _, _, _ := surfGateway(t, nil)
	ctx := context.Background()
	for _, b := range []string{"src", "dst"} {
		if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// An erasure-coded source and an inline one.
	big := make([]byte, 6<<20+333)
	rand.New(rand.NewSource(9)).Read(big)
	small := []byte("a small inline source")
	bigPut, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("big"), Body: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("small"), Body: bytes.NewReader(small)}); err != nil {
		t.Fatal(err)
	}
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("dst"), Key: aws.String("joined"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	copyPart := func(n int32, source, rng string, mod func(*s3.UploadPartCopyInput)) (*s3.UploadPartCopyOutput, error) {
		in := &s3.UploadPartCopyInput{Bucket: aws.String("dst"), Key: aws.String("joined"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(n), CopySource: aws.String(source)}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		if mod != nil {
			mod(in)
		}
		return cl.UploadPartCopy(ctx, in)
	}

	// Part 1: the first 5 MiB + 7 bytes of big (crossing stripes); part 2:
	// all of big (whole-source copy, checked against its ETag); part 3: a
	// range of the inline source.
	var want []byte
	var parts []types.CompletedPart
	for _, p := range []struct {
		n          int32
		source     string
		rng        string
		first, end int
		data       []byte
	}{
		{1, "src/big", "bytes=1000-5243887", 1000, 5243888, big},
		{2, "src/big", "", 0, len(big), big},
		{3, "src/small", "bytes=2-6", 2, 7, small},
	} {
		out, err := copyPart(p.n, p.source, p.rng, nil)
		if err != nil {
			t.Fatalf("part %d: %v", p.n, err)
		}
		chunk := p.data[p.first:p.end]
		sum := md5.Sum(chunk)
		res := out.CopyPartResult
		if aws.ToString(res.ETag) != fmt.Sprintf(`"%x"`, sum) || res.LastModified == nil {
			t.Fatalf("part %d result %+v", p.n, res)
		}
		var crc [4]byte
		binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(chunk))
		if got := aws.ToString(res.ChecksumCRC32); got != base64.StdEncoding.EncodeToString(crc[:]) {
			t.Fatalf("part %d CRC32 %q", p.n, got)
		}
		want = append(want, chunk...)
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(p.n), ETag: res.ETag, ChecksumCRC32: res.ChecksumCRC32})
	}
	if aws.ToString(bigPut.ETag) != fmt.Sprintf(`"%x"`, md5.Sum(big)) {
		t.Fatal("source etag")
	}

	// Errors, none of which records a part.
	for _, tc := range []struct {
		name, source, rng, code string
		mod                     func(*s3.UploadPartCopyInput)
	}{
		{"malformed range", "src/big", "bytes=5-", "InvalidArgument", nil},
		{"reversed range", "src/big", "bytes=9-5", "InvalidArgument", nil},
		{"suffix range", "src/big", "bytes=-5", "InvalidArgument", nil},
		{"range past the end", "src/small", "bytes=0-21", "InvalidArgument", nil},
		{"range starting past the end", "src/small", "bytes=21-30", "InvalidRequest", nil},
		{"missing source", "src/nope", "", "NoSuchKey", nil},
		{"missing source bucket", "nope/big", "", "NoSuchBucket", nil},
		{"source if-match", "src/small", "", "PreconditionFailed", func(in *s3.UploadPartCopyInput) {
			in.CopySourceIfMatch = aws.String(`"0123456789abcdef0123456789abcdef"`)
		}},
		{"unknown upload", "src/small", "", "NoSuchUpload", func(in *s3.UploadPartCopyInput) {
			in.UploadId = aws.String("0123456789abcdef0123456789abcdef")
		}},
		{"part number", "src/small", "", "InvalidArgument", func(in *s3.UploadPartCopyInput) { in.PartNumber = aws.Int32(10001) }},
	} {
		_, err := copyPart(9, tc.source, tc.rng, tc.mod)
		if code(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("dst"), Key: aws.String("joined"), UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 3 {
		t.Fatalf("parts after the failures: %d, %v", len(lp.Parts), err)
	}

	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("dst"), Key: aws.String("joined"),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := surfGetObject(t, cl, "dst", "joined"); !bytes.Equal(got, want) {
		t.Fatalf("joined object: %d bytes, want %d", len(got), len(want))
	}
}
