package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sse"
)

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	XMLNS        string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	partChecksums
}

// copySourceRange is a parsed x-amz-copy-source-range: first and last are
// inclusive byte offsets.
type copySourceRange struct{ first, last int64 }

// parseCopySourceRange checks the form "bytes=first-last" (both offsets,
// first <= last); anything else is InvalidArgument, as S3 answers.
func parseCopySourceRange(v string) (copySourceRange, error) {
	bad := s3err.New(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return copySourceRange{}, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return copySourceRange{}, bad
	}
	first, ferr := strconv.ParseInt(a, 10, 64)
	last, lerr := strconv.ParseInt(b, 10, 64)
	if ferr != nil || lerr != nil || first < 0 || first > last {
		return copySourceRange{}, bad
	}
	return copySourceRange{first, last}, nil
}

// resolve checks the range against the source's size.
func (c copySourceRange) resolve(size int64) (byteRange, error) {
	switch {
	case c.first >= size:
		return byteRange{}, s3err.New(s3err.InvalidRequest, "The specified copy range is invalid for the source object size")
	case c.last >= size:
		return byteRange{}, s3err.New(s3err.InvalidArgument, fmt.Sprintf("Range specified is not valid for source object of size: %d", size))
	}
	return byteRange{off: c.first, n: c.last - c.first + 1}, nil
}

// uploadPartCopy serves UploadPart with x-amz-copy-source: a range of an
// existing object (or all of it) becomes a part, streamed from the
// source's shards into the part's, never held whole.
func (s *Server) uploadPartCopy(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	n, err := req.part()
	if err != nil {
		return err
	}
	uploadID := req.uploadID
	cs, err := req.source()
	if err != nil {
		return err
	}
	var rng *copySourceRange
	if v := r.Header.Get("x-amz-copy-source-range"); v != "" {
		parsed, err := parseCopySourceRange(v)
		if err != nil {
			return err
		}
		rng = &parsed
	}
	// SSE-C: the source's key decrypts it, the upload's seals the part.
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	u, err := s.cfg.Index.GetMultipartUpload(ctx, req.ns, req.bucket, req.key, uploadID)
	if err != nil {
		return err
	}
	if err := model.CheckUploadKey(u, ck); err != nil {
		return err
	}
	src, srcCK, err := s.copySource(ctx, r, req, cs.bucket, cs.key, cs.versionID)
	if err != nil {
		return err
	}
	br := byteRange{0, src.GetSize()}
	if rng != nil {
		if br, err = rng.resolve(src.GetSize()); err != nil {
			return err
		}
	} else if src.GetSize() > maxCopySize {
		return s3err.New(s3err.InvalidRequest, fmt.Sprintf("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(maxCopySize)))
	}
	if br.n > s.cfg.MaxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}

	// The part gets the upload's checksum, as S3 computes it for copies.
	var algs []string
	if alg := u.GetChecksumAlgorithm(); alg != "" {
		algs = []string{alg}
	}
	sums, err := checksum.NewSet(algs...)
	if err != nil {
		return err
	}
	var v *cairnpb.ObjectVersion
	if rng == nil {
		// The whole source: checked against its recorded digests.
		v, err = s.objects.Copy(ctx, src, sums, srcCK, ck)
	} else {
		v, err = s.objects.CopyRange(ctx, src, br.off, br.n, sums, srcCK, ck)
	}
	if err != nil {
		return err
	}
	info, err := s.commitPart(ctx, req, uploadID, n, br.n, v, sums, ck)
	if err != nil {
		return err
	}
	setEncryptionHeaders(w.Header(), ck)
	return writeXML(w, copyPartResult{
		XMLNS: s3XMLNS, LastModified: s3Time(v.GetModifiedUnixNano()), ETag: `"` + info.Etag + `"`,
		partChecksums: checksumsXML(info.Checksums),
	})
}
