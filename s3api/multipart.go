package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sse"
)

// MultipartIndex is what multipart uploads need from the meta group. Upload
// IDs that do not name an upload of the key are rpcerr.ErrUploadNotFound.
type MultipartIndex interface {
	// CreateMultipartUpload starts an upload and returns it with its ID.
	CreateMultipartUpload(ctx context.Context, ns, bucket string, u *cairnpb.MultipartUpload) (*cairnpb.MultipartUpload, error)
	GetMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) (*cairnpb.MultipartUpload, error)
	// CommitPart records a part whose bytes are stored; a part it replaces
	// is freed.
	CommitPart(ctx context.Context, ns, bucket, key, uploadID string, p *cairnpb.UploadedPart) error
	CompleteMultipartUpload(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error)
	AbortMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) error
	ListParts(ctx context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error)
	ListMultipartUploads(ctx context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error)
}

const (
	maxPartNumber   = 10000
	maxListEntries  = 1000
	maxCompleteBody = 4 << 20 // 10,000 parts with every checksum fit
)

// parsePartNumber checks a partNumber parameter: 1..10000, as S3.
func parsePartNumber(v string) (int32, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
	}
	return int32(n), nil
}

func (s *Server) createMultipartUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
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
	md, err := userMetadata(r.Header)
	if err != nil {
		return err
	}
	u := &cairnpb.MultipartUpload{
		Key: req.key, ContentType: r.Header.Get("Content-Type"), UserMetadata: md, Headers: contentHeaders(r.Header),
		ChecksumType: r.Header.Get("x-amz-checksum-type"), Lock: lock,
	}
	if alg := r.Header.Get("x-amz-checksum-algorithm"); alg != "" {
		name, ok := checksum.Canonical(alg)
		if !ok {
			return fmt.Errorf("x-amz-checksum-algorithm %q: %w", alg, checksum.ErrUnknownAlgorithm)
		}
		u.ChecksumAlgorithm = name
	}
	if u.ChecksumType, err = uploadChecksumType(u.ChecksumAlgorithm, u.ChecksumType); err != nil {
		return err
	}
	if u.Tags, err = parseTaggingHeader(r.Header); err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	if err := sse.CheckServerSide(r.Header, ck); err != nil {
		return err
	}
	u.Encryption = model.UploadEncryption(ck) // every part must bring this key
	created, err := s.cfg.Index.CreateMultipartUpload(ctx, req.ns, req.bucket, u)
	if err != nil {
		return err
	}
	setEncryptionHeaders(w.Header(), ck)
	if u.ChecksumAlgorithm != "" {
		w.Header().Set("x-amz-checksum-algorithm", u.ChecksumAlgorithm)
	}
	if u.ChecksumType != "" {
		w.Header().Set("x-amz-checksum-type", u.ChecksumType)
	}
	return writeXML(w, initiateMultipartUploadResult{
		XMLNS: s3XMLNS, Bucket: req.bucket, Key: req.key, UploadID: created.GetUploadId(),
	})
}

// uploadPart streams one part through the same write path as PutObject,
// under a shard base of its own, then records it. (UploadPartCopy is
// uploadPartCopy.)
func (s *Server) uploadPart(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	n, err := req.part()
	if err != nil {
		return err
	}
	uploadID := req.uploadID
	size, err := bodySize(r)
	if err != nil {
		return err
	}
	if size > s.cfg.MaxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	want, err := checksum.FromHeaders(r.Header)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	// Fail fast on an unknown upload, or the wrong SSE-C key, before moving
	// any data.
	u, err := s.cfg.Index.GetMultipartUpload(ctx, req.ns, req.bucket, req.key, uploadID)
	if err != nil {
		return err
	}
	if err := model.CheckUploadKey(u, ck); err != nil {
		return err
	}
	// Every part of an upload with a checksum algorithm gets that checksum,
	// computed here when the client sent none; another algorithm is
	// refused.
	algs := want.Algorithms()
	if alg := u.GetChecksumAlgorithm(); alg != "" {
		for _, a := range algs {
			if a != alg {
				return s3err.New(s3err.InvalidRequest, fmt.Sprintf("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", strings.ToLower(alg), strings.ToLower(a)))
			}
		}
		algs = []string{alg}
	}
	sums, err := checksum.NewSet(algs...)
	if err != nil {
		return err
	}

	verify := func() error { return want.Verify(sums, r.Body) }
	v, err := s.objects.Write(ctx, r.Body, size, sums, verify, ck)
	if err != nil {
		return err
	}
	info, err := s.commitPart(ctx, req, uploadID, n, size, v, sums, ck)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+info.Etag+`"`)
	for alg, val := range info.Checksums {
		w.Header().Set(checksum.Header(alg), val)
	}
	setEncryptionHeaders(w.Header(), ck)
	w.WriteHeader(http.StatusOK)
	return nil
}

// commitPart records data written for part n of an upload (v, as
// model.Store.Write or a copy left it) and returns the part as committed. The
// part's checksums are those sums computed. The shards of a refused part
// are orphans, which meta's reconciliation reclaims.
func (s *Server) commitPart(ctx context.Context, req *request, uploadID string, n int32, size int64,
	v *cairnpb.ObjectVersion, sums *checksum.Set, ck *sse.CustomerKey) (*cairnpb.PartInfo, error) {
	info := &cairnpb.PartInfo{
		Number: n, Size: size, Etag: model.DataETag(v.GetEncryption(), ck, sums.MD5()),
		Scheme: v.GetScheme(), Shards: v.GetShards(), Degraded: v.GetDegraded(),
		Checksums: map[string]string{}, Encryption: v.GetEncryption(),
	}
	if v.GetScheme() != nil {
		info.ShardBase = v.GetVersionId()
	}
	for _, alg := range sums.Algorithms() {
		info.Checksums[alg] = sums.Base64(alg)
	}
	part := &cairnpb.UploadedPart{Part: info, InlineData: v.GetInlineData()}
	if err := s.cfg.Index.CommitPart(ctx, req.ns, req.bucket, req.key, uploadID, part); err != nil {
		return nil, err
	}
	return info, nil
}

func (s *Server) completeMultipartUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCompleteBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxCompleteBody {
		return s3err.New(s3err.MalformedXML, "The request body is too large.")
	}
	var in completeMultipartUpload
	if err := xml.Unmarshal(body, &in); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	if len(in.Parts) == 0 {
		return s3err.New(s3err.MalformedXML, "")
	}
	creq := &cairnpb.CompleteMultipartUploadRequest{
		Namespace: req.ns, Bucket: req.bucket, Key: req.key, UploadId: req.uploadID,
	}
	if creq.Condition, err = parseWriteCondition(r.Header); err != nil {
		return err
	}
	prev := 0
	for _, p := range in.Parts {
		if p.PartNumber <= prev {
			return s3err.New(s3err.InvalidPartOrder, "")
		}
		prev = p.PartNumber
		if p.PartNumber > maxPartNumber {
			return s3err.New(s3err.InvalidPart, "")
		}
		creq.Parts = append(creq.Parts, &cairnpb.CompletedPart{
			Number: int32(p.PartNumber), Etag: model.NormalizeETag(p.ETag), Checksums: p.toMap(),
		})
	}
	// SSE-C headers are optional here; when sent, they must be the upload's.
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	// The upload says which checksum the object gets. It may be gone
	// already: meta answers a retried completion as the first one.
	u, err := s.cfg.Index.GetMultipartUpload(ctx, req.ns, req.bucket, req.key, creq.UploadId)
	if err != nil && (ck != nil || !errors.Is(err, rpcerr.ErrUploadNotFound)) {
		return err
	}
	if ck != nil {
		if err := model.CheckUploadKey(u, ck); err != nil {
			return err
		}
	}
	resp, err := s.cfg.Index.CompleteMultipartUpload(ctx, creq)
	if err != nil {
		return err
	}
	var sums partChecksums
	if u == nil || u.GetChecksumAlgorithm() != "" {
		// The object's checksum, which meta made from the parts'.
		if v, err := s.cfg.Index.GetObject(ctx, req.ns, req.bucket, req.key); err == nil && v.GetEtag() == resp.GetEtag() {
			sums = checksumsXML(v.GetChecksums())
			for alg, val := range v.GetChecksums() {
				w.Header().Set(checksum.Header(alg), val)
			}
			w.Header().Set("x-amz-checksum-type", checksumTypeOf(v.GetChecksumType()))
		}
	}
	sse.SetResponseHeaders(w.Header(), ck)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := url.URL{Scheme: scheme, Host: r.Host, Path: "/" + req.bucket + "/" + req.key}
	w.Header().Set("ETag", `"`+resp.GetEtag()+`"`)
	setWrittenVersion(w.Header(), resp.GetVersionId())
	return writeXML(w, completeMultipartUploadResult{
		XMLNS: s3XMLNS, Location: loc.String(), Bucket: req.bucket, Key: req.key, ETag: `"` + resp.GetEtag() + `"`,
		partChecksums: sums, ChecksumType: checksumTypeIf(sums, w.Header().Get("x-amz-checksum-type")),
	})
}

func (s *Server) abortMultipartUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := s.cfg.Index.AbortMultipartUpload(ctx, req.ns, req.bucket, req.key, req.uploadID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseListLimit reads a max-parts or max-uploads parameter (default and
// cap 1000).
func parseListLimit(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return maxListEntries, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.New(s3err.InvalidArgument, fmt.Sprintf("Provided %s not an integer or within integer range", name))
	}
	return min(n, maxListEntries), nil
}

func parseEncoding(q url.Values) (listParams, error) {
	p := listParams{encoding: q.Get("encoding-type")}
	if p.encoding != "" && p.encoding != "url" {
		return p, s3err.New(s3err.InvalidArgument, "Invalid Encoding Method specified in Request")
	}
	return p, nil
}

func (s *Server) listParts(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	enc, err := parseEncoding(q)
	if err != nil {
		return err
	}
	limit, err := parseListLimit(q, "max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 || marker > maxPartNumber {
			return s3err.New(s3err.InvalidArgument, "Part number marker must be an integer between 0 and 10000, inclusive")
		}
	}
	uploadID := req.uploadID
	var res *cairnpb.ListPartsResponse
	if limit == 0 {
		u, err := s.cfg.Index.GetMultipartUpload(ctx, req.ns, req.bucket, req.key, uploadID)
		if err != nil {
			return err
		}
		res = &cairnpb.ListPartsResponse{Upload: u}
	} else {
		res, err = s.cfg.Index.ListParts(ctx, &cairnpb.ListPartsRequest{
			Namespace: req.ns, Bucket: req.bucket, Key: req.key, UploadId: uploadID,
			PartNumberMarker: int32(marker), MaxParts: int32(limit),
		})
		if err != nil {
			return err
		}
	}
	who := owner{ID: req.ns, DisplayName: req.ns}
	out := listPartsResult{
		XMLNS: s3XMLNS, Bucket: req.bucket, Key: enc.encode(req.key), UploadID: uploadID,
		Initiator: who, Owner: who, StorageClass: "STANDARD",
		PartNumberMarker: int32(marker), NextPartNumberMarker: res.GetNextPartNumberMarker(),
		MaxParts: limit, IsTruncated: res.GetIsTruncated(),
		ChecksumAlgorithm: res.GetUpload().GetChecksumAlgorithm(), ChecksumType: res.GetUpload().GetChecksumType(),
		EncodingType: enc.encoding,
	}
	for _, p := range res.GetParts() {
		out.Parts = append(out.Parts, partEntry{
			PartNumber: p.GetNumber(), LastModified: s3Time(p.GetModifiedUnixNano()),
			ETag: `"` + p.GetEtag() + `"`, Size: p.GetSize(), partChecksums: checksumsXML(p.GetChecksums()),
		})
	}
	return writeXML(w, out)
}

func (s *Server) listMultipartUploads(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	p, err := parseEncoding(q)
	if err != nil {
		return err
	}
	p.prefix, p.delimiter = q.Get("prefix"), q.Get("delimiter")
	limit, err := parseListLimit(q, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	if keyMarker == "" {
		idMarker = "" // S3 ignores upload-id-marker without key-marker
	}
	var res *cairnpb.ListMultipartUploadsResponse
	if limit == 0 {
		if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return err
		}
		res = &cairnpb.ListMultipartUploadsResponse{}
	} else {
		res, err = s.cfg.Index.ListMultipartUploads(ctx, &cairnpb.ListMultipartUploadsRequest{
			Namespace: req.ns, Bucket: req.bucket, Prefix: p.prefix, Delimiter: p.delimiter,
			KeyMarker: keyMarker, UploadIdMarker: idMarker, MaxUploads: int32(limit),
		})
		if err != nil {
			return err
		}
	}
	who := owner{ID: req.ns, DisplayName: req.ns}
	out := listMultipartUploadsResult{
		XMLNS: s3XMLNS, Bucket: req.bucket, KeyMarker: p.encode(keyMarker), UploadIDMarker: idMarker,
		NextKeyMarker: p.encode(res.GetNextKeyMarker()), NextUploadIDMarker: res.GetNextUploadIdMarker(),
		Delimiter: p.encode(p.delimiter), Prefix: p.encode(p.prefix), MaxUploads: limit,
		IsTruncated: res.GetIsTruncated(), EncodingType: p.encoding,
	}
	for _, u := range res.GetUploads() {
		out.Uploads = append(out.Uploads, uploadEntry{
			Key: p.encode(u.GetKey()), UploadID: u.GetUploadId(), Initiator: who, Owner: who,
			StorageClass: "STANDARD", Initiated: s3Time(u.GetInitiatedUnixNano()),
			ChecksumAlgorithm: u.GetChecksumAlgorithm(), ChecksumType: u.GetChecksumType(),
		})
	}
	for _, cp := range res.GetCommonPrefixes() {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: p.encode(cp)})
	}
	return writeXML(w, out)
}

// selectPart resolves GET/HEAD ?partNumber=N to the byte range of the
// object's Nth part and sets x-amz-mp-parts-count. An object that was not
// uploaded in parts has one part: itself. whole reports that the whole
// object is meant (a one-part object), to be sent as a plain 200.
func selectPart(h http.Header, r *http.Request, req *request, v *cairnpb.ObjectVersion) (br byteRange, whole bool, err error) {
	if r.Header.Get("Range") != "" {
		return br, false, s3err.New(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter")
	}
	n, err := req.part()
	if err != nil {
		return br, false, err
	}
	parts := v.GetParts()
	if len(parts) == 0 {
		if n != 1 {
			return br, false, s3err.New(s3err.InvalidPartNumber, "")
		}
		return byteRange{0, v.GetSize()}, true, nil
	}
	if int(n) > len(parts) {
		return br, false, s3err.New(s3err.InvalidPartNumber, "")
	}
	h.Set("x-amz-mp-parts-count", strconv.Itoa(len(parts)))
	off := int64(0)
	for _, p := range parts[:n-1] {
		off += p.GetSize()
	}
	size := parts[n-1].GetSize()
	return byteRange{off, size}, size == 0, nil
}
