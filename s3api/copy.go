package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sse"
)

// maxCopySize is the largest source CopyObject copies, as S3 (5 GiB);
// larger objects must be copied part by part.
const maxCopySize = 5 << 30

type copyObjectResult struct {
	XMLName           xml.Name `xml:"CopyObjectResult"`
	XMLNS             string   `xml:"xmlns,attr"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumCRC32     string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string   `xml:"ChecksumSHA256,omitempty"`
}

// parseCopySource splits x-amz-copy-source ("/bucket/key" or "bucket/key",
// URL-encoded, optionally "?versionId=...").
func parseCopySource(v string) (copySource, error) {
	raw, query, _ := strings.Cut(v, "?")
	bad := s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	dec, uerr := url.PathUnescape(raw)
	if uerr != nil {
		return copySource{}, bad
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(dec, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return copySource{}, bad
	}
	src := copySource{bucket: bucket, key: key}
	if query != "" {
		vals, qerr := url.ParseQuery(query)
		if qerr != nil {
			return copySource{}, bad
		}
		if vs, ok := vals["versionId"]; ok {
			src.versionID = vs[0]
			if src.versionID == "" {
				return copySource{}, s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string")
			}
		}
	}
	return src, nil
}

// copySourceConditions applies x-amz-copy-source-if-match, -if-none-match,
// -if-modified-since and -if-unmodified-since with the precedence GET uses
// (a match condition overrides its date condition), except that every
// failed condition is 412 PreconditionFailed, as S3 answers for copies.
func copySourceConditions(h http.Header, etag string, modified time.Time) error {
	quoted := `"` + etag + `"`
	match := func(list string) bool {
		for t := range strings.SplitSeq(list, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == quoted || t == etag {
				return true
			}
		}
		return false
	}
	modified = modified.Truncate(time.Second)
	failed := s3err.New(s3err.PreconditionFailed, "")
	if im := h.Get("x-amz-copy-source-if-match"); im != "" {
		if !match(im) {
			return failed
		}
	} else if ius := h.Get("x-amz-copy-source-if-unmodified-since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && modified.After(t) {
			return failed
		}
	}
	if inm := h.Get("x-amz-copy-source-if-none-match"); inm != "" {
		if match(inm) {
			return failed
		}
	} else if ims := h.Get("x-amz-copy-source-if-modified-since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			return failed
		}
	}
	return nil
}

// copyObject serves CopyObject (PUT with x-amz-copy-source): the source is
// streamed from its shards into a new version of the destination, never
// held whole in memory beyond the inline threshold.
func (s *Server) copyObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if len(req.key) > maxKeyLength {
		return s3err.New(s3err.KeyTooLong, "")
	}
	lock, err := s.writeLock(ctx, r.Header, req, nil)
	if err != nil {
		return err
	}
	if _, err := checkACLHeaders(r.Header, req, aclNotSupported); err != nil {
		return err
	}
	cs, err := req.source()
	if err != nil {
		return err
	}
	srcBucket, srcKey, versionID := cs.bucket, cs.key, cs.versionID
	replace := false
	switch d := r.Header.Get("x-amz-metadata-directive"); d {
	case "", "COPY":
	case "REPLACE":
		replace = true
	default:
		return s3err.New(s3err.InvalidArgument, "Unknown metadata directive.")
	}
	tagging, err := parseCopyTagging(r.Header)
	if err != nil {
		return err
	}
	var md map[string]string
	if replace {
		if md, err = userMetadata(r.Header); err != nil {
			return err
		}
	}
	algs, err := copyChecksumAlgorithms(r.Header)
	if err != nil {
		return err
	}
	// SSE-C: the source's key decrypts it, the destination's seals the copy.
	dstCK, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	if err := sse.CheckServerSide(r.Header, dstCK); err != nil {
		return err
	}
	src, srcCK, err := s.copySource(ctx, r, req, srcBucket, srcKey, versionID)
	if err != nil {
		return err
	}
	// Copying an older version onto its own key restores it, as in S3.
	if srcBucket == req.bucket && srcKey == req.key && versionID == "" && !replace && srcCK == nil && dstCK == nil {
		return s3err.New(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	size := src.GetSize()
	if size > maxCopySize {
		return s3err.New(s3err.InvalidRequest, fmt.Sprintf("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(maxCopySize)))
	}
	if size > s.cfg.MaxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	// If-Match / If-None-Match on a copy are about the destination key.
	cond, err := parseWriteCondition(r.Header)
	if err != nil {
		return err
	}
	if err := s.checkEarly(ctx, req, cond); err != nil {
		return err
	}

	if algs == nil {
		algs = sortedKeys(src.GetChecksums())
	}
	sums, err := checksum.NewSet(algs...)
	if err != nil {
		return err
	}
	v, err := s.objects.Copy(ctx, src, sums, srcCK, dstCK)
	if err != nil {
		return err
	}
	v.Key = req.key
	v.Etag = model.DataETag(v.GetEncryption(), dstCK, sums.MD5())
	if replace {
		v.ContentType = r.Header.Get("Content-Type")
		v.UserMetadata = md
		v.Headers = contentHeaders(r.Header)
	} else {
		v.ContentType = src.GetContentType()
		v.UserMetadata = maps.Clone(src.GetUserMetadata())
		v.Headers = maps.Clone(src.GetHeaders())
	}
	v.Checksums = map[string]string{}
	for _, alg := range sums.Algorithms() {
		v.Checksums[alg] = sums.Base64(alg)
	}
	v.Tags = tagging.tagsFor(src)
	v.Lock = lock // the source's lock is not copied, as in S3
	vid, err := s.cfg.Index.CommitVersion(ctx, req.ns, req.bucket, v, cond)
	if err != nil {
		return err
	}
	setWrittenVersion(w.Header(), vid)
	if versionID != "" {
		w.Header().Set("x-amz-copy-source-version-id", versionID)
	}
	out := copyObjectResult{XMLNS: s3XMLNS, LastModified: s3Time(v.GetModifiedUnixNano()), ETag: `"` + v.Etag + `"`}
	for alg, val := range v.Checksums {
		switch alg {
		case checksum.CRC32:
			out.ChecksumCRC32 = val
		case checksum.CRC32C:
			out.ChecksumCRC32C = val
		case checksum.CRC64NVME:
			out.ChecksumCRC64NVME = val
		case checksum.SHA1:
			out.ChecksumSHA1 = val
		case checksum.SHA256:
			out.ChecksumSHA256 = val
		}
	}
	setEncryptionHeaders(w.Header(), dstCK)
	return writeXML(w, out)
}

// copyChecksumAlgorithms returns the algorithm x-amz-checksum-algorithm
// asks the copy to compute, or nil to keep the source's.
func copyChecksumAlgorithms(h http.Header) ([]string, error) {
	v := h.Get("x-amz-checksum-algorithm")
	if v == "" {
		return nil, nil
	}
	alg, ok := checksum.Canonical(v)
	if !ok {
		return nil, fmt.Errorf("x-amz-checksum-algorithm %q: %w", v, checksum.ErrUnknownAlgorithm)
	}
	return []string{alg}, nil
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// copySource resolves the source of a copy (CopyObject, UploadPartCopy):
// its record, named in errors as the source rather than the destination,
// the customer key from the x-amz-copy-source-server-side-encryption-*
// headers checked against it, and the x-amz-copy-source-if-* conditions.
func (s *Server) copySource(ctx context.Context, r *http.Request, req *request, bucket, key, versionID string) (*cairnpb.ObjectVersion, *sse.CustomerKey, error) {
	ck, err := sse.SourceKeyFromCopyHeaders(r.Header)
	if err != nil {
		return nil, nil, err
	}
	var src *cairnpb.ObjectVersion
	if versionID == "" {
		src, err = s.cfg.Index.GetObject(ctx, req.ns, bucket, key)
	} else {
		// A named version: a delete marker cannot be copied (S3 says
		// InvalidRequest), a missing one is NoSuchVersion.
		var got *cairnpb.GetObjectVersionResponse
		got, err = s.cfg.Index.GetObjectVersion(ctx, req.ns, bucket, key, versionID)
		switch {
		case errors.Is(err, rpcerr.ErrObjectNotFound):
			err = s3err.Wrap(s3err.NoSuchVersion, err)
		case err == nil && got.GetVersion().GetDeleteMarker():
			return nil, nil, s3err.New(s3err.InvalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
		case err == nil:
			src = got.GetVersion()
		}
	}
	if err != nil {
		e := toS3Error(err)
		e.Bucket, e.Key = bucket, key
		return nil, nil, e
	}
	if err := model.CheckCustomerKey(src, ck); err != nil {
		return nil, nil, err
	}
	if err := copySourceConditions(r.Header, src.GetEtag(), time.Unix(0, src.GetModifiedUnixNano())); err != nil {
		return nil, nil, err
	}
	return src, ck, nil
}
