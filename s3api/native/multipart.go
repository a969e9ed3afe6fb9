package native

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Multipart uploads are the meta group's upload records, the ones S3's
// CreateMultipartUpload makes: parts are written through the object model
// as PutObject's data is, each erasure coded (or inlined) on its own, and
// recorded with CommitPart; CommitMultipartUpload turns the listed parts
// into the key's version in one apply, with S3's multipart ETag.
//
// SSE-C: an upload begun with a customer key (opc-sse-customer-*) records
// the key's check (model.UploadEncryption), as S3's does; every part must
// bring the same key (model.CheckUploadKey), through either API, and is
// sealed under it. The commit takes no key (OCI's takes none).

const (
	// maxPartNumber is OCI's (and S3's) highest part number.
	maxPartNumber = 10000
	// maxCommitBody bounds CommitMultipartUpload's JSON: 10,000 parts
	// with their ETags fit.
	maxCommitBody = 2 << 20
)

// uploadJSON is OCI's MultipartUpload.
type uploadJSON struct {
	Namespace   string `json:"namespace"`
	Bucket      string `json:"bucket"`
	Object      string `json:"object"`
	UploadID    string `json:"uploadId"`
	TimeCreated string `json:"timeCreated"`
	StorageTier string `json:"storageTier"`
}

// partJSON is OCI's MultipartUploadPartSummary.
type partJSON struct {
	PartNumber int32  `json:"partNumber"`
	ETag       string `json:"etag"`
	MD5        string `json:"md5"`
	Size       int64  `json:"size"`
}

// createUploadJSON is OCI's CreateMultipartUploadDetails.
type createUploadJSON struct {
	Object             string            `json:"object"`
	ContentType        string            `json:"contentType"`
	ContentLanguage    string            `json:"contentLanguage"`
	ContentEncoding    string            `json:"contentEncoding"`
	ContentDisposition string            `json:"contentDisposition"`
	CacheControl       string            `json:"cacheControl"`
	StorageTier        string            `json:"storageTier"`
	Metadata           map[string]string `json:"metadata"`
}

// commitJSON is OCI's CommitMultipartUploadDetails.
type commitJSON struct {
	PartsToCommit []struct {
		PartNum int    `json:"partNum"`
		ETag    string `json:"etag"`
	} `json:"partsToCommit"`
	PartsToExclude []int `json:"partsToExclude"`
}

// uploadOf checks a CreateMultipartUploadDetails and returns the upload
// it asks for: the object's content headers and metadata, kept under the
// names PutObject keeps them.
func uploadOf(in *createUploadJSON) (*cairnpb.MultipartUpload, error) {
	switch {
	case in.Object == "":
		return nil, refuse(codeMissingParameter, "The object name (object) is required")
	case len(in.Object) > maxObjectName:
		return nil, refuse(codeInvalidParameter, "The object name is longer than %d bytes", maxObjectName)
	case in.StorageTier != "" && in.StorageTier != "Standard":
		return nil, refuse(codeNotImplemented, "Storage tiers other than Standard are not implemented")
	}
	h := http.Header{}
	for name, v := range map[string]string{
		"Cache-Control": in.CacheControl, "Content-Disposition": in.ContentDisposition,
		"Content-Encoding": in.ContentEncoding, "Content-Language": in.ContentLanguage,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	for k, v := range in.Metadata {
		if !strings.HasPrefix(strings.ToLower(k), metaPrefix) {
			return nil, refuse(codeInvalidParameter, "Metadata keys must start with %s; %q does not", metaPrefix, k)
		}
		h.Set(k, v)
	}
	md, err := userMetadata(h)
	if err != nil {
		return nil, err
	}
	u := &cairnpb.MultipartUpload{Key: in.Object, ContentType: in.ContentType, UserMetadata: md, Headers: map[string]string{}}
	for _, name := range contentHeaderNames() {
		if v := h.Get(name); v != "" {
			u.Headers[name] = v
		}
	}
	return u, nil
}

func (s *Server) uploadJSON(req *request, u *cairnpb.MultipartUpload) uploadJSON {
	return uploadJSON{
		Namespace: req.ns, Bucket: req.bucket, Object: u.GetKey(), UploadID: u.GetUploadId(),
		TimeCreated: jsonTime(u.GetInitiatedUnixNano()), StorageTier: "Standard",
	}
}

func (s *Server) createMultipartUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	cond, err := putCondition(r.Header)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in createUploadJSON
	if err := readJSON(body, &in); err != nil {
		return err
	}
	u, err := uploadOf(&in)
	if err != nil {
		return err
	}
	u.Encryption = model.UploadEncryption(ck) // every part must bring this key
	req.object = u.GetKey()
	if err := s.authorize(ctx, req, s.ops[req.op]); err != nil {
		return err
	}
	if err := s.checkNow(ctx, req, cond); err != nil {
		return err
	}
	created, err := s.index.CreateMultipartUpload(ctx, req.ns, req.bucket, u)
	if err != nil {
		return err
	}
	created.Key = u.GetKey()
	sse.SetOCIResponseHeaders(w.Header(), ck)
	return writeJSON(w, http.StatusOK, s.uploadJSON(req, created))
}

// checkNow checks a CreateMultipartUpload's if-match / if-none-match
// against the object as it is now (the OCI CLI sends if-none-match: *
// there). The upload does not keep the condition: a commit is
// conditional on the headers the commit itself sends.
func (s *Server) checkNow(ctx context.Context, req *request, cond *cairnpb.WriteCondition) error {
	if cond == nil {
		return nil
	}
	v, err := s.index.GetObject(ctx, req.ns, req.bucket, req.object)
	switch {
	case errors.Is(err, rpcerr.ErrObjectNotFound):
		v = nil
	case err != nil:
		return err
	}
	if !conditionHolds(cond, v) {
		return refuse(codePreconditionFailed, "The object's current version does not meet if-match / if-none-match")
	}
	return nil
}

// conditionHolds judges cond against v, the current version (nil: none),
// with the rule meta judges a WriteCondition by at commit.
func conditionHolds(cond *cairnpb.WriteCondition, v *cairnpb.ObjectVersion) bool {
	return cond.Against(v) == cairnpb.ConditionHolds
}

// partNumber parses uploadPartNum: 1 to 10,000.
func partNumber(v string) (int32, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, refuse(codeInvalidParameter, "uploadPartNum must be a number from 1 to %d", maxPartNumber)
	}
	return int32(n), nil
}

// contentMD5 parses a Content-MD5 header (nil when there is none).
func contentMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-MD5")
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != md5.Size {
		return nil, refuse(codeInvalidParameter, "Content-MD5 is not a base64 MD5")
	}
	return b, nil
}

// uploadPart streams one part through the object model, under a shard
// base of its own, checks it against Content-MD5 (and a signed
// x-content-sha256) before it is committed, and records it.
func (s *Server) uploadPart(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := refuseConditions(r.Header); err != nil {
		return err
	}
	n, err := partNumber(req.query.Get("uploadPartNum"))
	if err != nil {
		return err
	}
	size := r.ContentLength
	if size < 0 || len(r.TransferEncoding) > 0 {
		return refuse(codeLengthRequired, "UploadPart needs a Content-Length")
	}
	if size > s.cfg.MaxObjectSize {
		return refuse(codeEntityTooLarge, "The part is larger than %d bytes", s.cfg.MaxObjectSize)
	}
	wantMD5, err := contentMD5(r.Header)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	// An unknown upload, or a key that is not the upload's, fails before
	// any data moves.
	u, err := s.index.GetMultipartUpload(ctx, req.ns, req.bucket, req.object, req.uploadID)
	if err != nil {
		return err
	}
	if err := model.CheckUploadKey(u, ck); err != nil {
		return err
	}
	// An upload begun through S3 with a checksum algorithm gets that
	// checksum on every part, as S3's UploadPart gives it.
	var algs []string
	if alg := u.GetChecksumAlgorithm(); alg != "" {
		algs = []string{alg}
	}
	sums, err := checksum.NewSet(algs...)
	if err != nil {
		return err
	}
	tee := io.Writer(sums)
	var sumSHA hash.Hash
	if r.Header.Get("x-content-sha256") != "" {
		sumSHA = sha256.New()
		tee = io.MultiWriter(sums, sumSHA)
	}
	verify := func() error {
		if wantMD5 != nil && !bytes.Equal(sums.MD5(), wantMD5) {
			return refuse(codeUnmatchedContentMD5, "The part's MD5 does not match the Content-MD5 header")
		}
		if sumSHA != nil {
			return checkSHA256(r, sumSHA.Sum(nil))
		}
		return nil
	}
	v, err := s.store.Write(ctx, r.Body, size, tee, verify, ck)
	if err != nil {
		return err
	}
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
	if err := s.index.CommitPart(ctx, req.ns, req.bucket, req.object, req.uploadID, part); err != nil {
		return err // the shards of a refused part are orphans meta reclaims
	}
	h := w.Header()
	h.Set("ETag", info.GetEtag())
	h.Set("opc-content-md5", base64.StdEncoding.EncodeToString(sums.MD5()))
	h.Set("Last-Modified", s.now().UTC().Format(http.TimeFormat))
	sse.SetOCIResponseHeaders(h, ck)
	w.WriteHeader(http.StatusOK)
	return nil
}

// partsToComplete checks a CommitMultipartUploadDetails and returns the
// parts to commit in ascending order. A part may not be both committed
// and excluded; parts in neither list are dropped with the excluded ones.
func partsToComplete(in *commitJSON) ([]*cairnpb.CompletedPart, error) {
	if len(in.PartsToCommit) == 0 {
		return nil, refuse(codeMissingParameter, "partsToCommit must name at least one part")
	}
	excluded := map[int]bool{}
	for _, n := range in.PartsToExclude {
		if n < 1 || n > maxPartNumber {
			return nil, refuse(codeInvalidParameter, "Part numbers are from 1 to %d; partsToExclude has %d", maxPartNumber, n)
		}
		excluded[n] = true
	}
	seen := map[int]bool{}
	out := make([]*cairnpb.CompletedPart, 0, len(in.PartsToCommit))
	for _, p := range in.PartsToCommit {
		switch {
		case p.PartNum < 1 || p.PartNum > maxPartNumber:
			return nil, refuse(codeInvalidParameter, "Part numbers are from 1 to %d; partsToCommit has %d", maxPartNumber, p.PartNum)
		case p.ETag == "":
			return nil, refuse(codeMissingParameter, "Part %d of partsToCommit has no etag", p.PartNum)
		case seen[p.PartNum]:
			return nil, refuse(codeInvalidParameter, "Part %d is listed twice in partsToCommit", p.PartNum)
		case excluded[p.PartNum]:
			return nil, refuse(codeInvalidParameter, "Part %d is in both partsToCommit and partsToExclude", p.PartNum)
		}
		seen[p.PartNum] = true
		out = append(out, &cairnpb.CompletedPart{Number: int32(p.PartNum), Etag: model.NormalizeETag(p.ETag)})
	}
	slices.SortFunc(out, func(a, b *cairnpb.CompletedPart) int { return int(a.GetNumber() - b.GetNumber()) })
	return out, nil
}

// commitMultipartUpload turns the listed parts into the object, in one
// meta apply; it answers the object's ETag and opc-multipart-md5 (the MD5
// of the parts' MD5s, base64, then "-<parts>"). meta answers a retried
// commit of an upload already committed as the first one.
func (s *Server) commitMultipartUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	cond, err := putCondition(r.Header)
	if err != nil {
		return err
	}
	body, err := readBody(r, maxCommitBody)
	if err != nil {
		return err
	}
	var in commitJSON
	if err := readJSON(body, &in); err != nil {
		return err
	}
	parts, err := partsToComplete(&in)
	if err != nil {
		return err
	}
	return s.completeUpload(ctx, w, req, parts, cond)
}

// completeUpload turns parts into the object and answers the commit.
// opc-multipart-md5 is sent only for an upload known to have no customer
// key: an SSE-C object's ETag is no MD5. (A retried commit, whose upload
// is gone, answers without it.)
func (s *Server) completeUpload(ctx context.Context, w http.ResponseWriter, req *request, parts []*cairnpb.CompletedPart, cond *cairnpb.WriteCondition) error {
	u, err := s.index.GetMultipartUpload(ctx, req.ns, req.bucket, req.object, req.uploadID)
	switch {
	case errors.Is(err, rpcerr.ErrUploadNotFound):
		u = nil // perhaps committed already: the commit decides
	case err != nil:
		return err
	}
	resp, err := s.index.CompleteMultipartUpload(ctx, &cairnpb.CompleteMultipartUploadRequest{
		Namespace: req.ns, Bucket: req.bucket, Key: req.object, UploadId: req.uploadID, Parts: parts,
		Condition: cond,
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", resp.GetEtag())
	if u != nil && model.CheckUploadKey(u, nil) == nil {
		md5Headers(h, resp.GetEtag())
	}
	h.Set("Last-Modified", s.now().UTC().Format(http.TimeFormat))
	if vid := resp.GetVersionId(); vid != "" {
		h.Set("version-id", vid)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) abortMultipartUpload(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	if err := s.index.AbortMultipartUpload(ctx, req.ns, req.bucket, req.object, req.uploadID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// uploadsPage is a ListMultipartUploads page token: where the previous
// page stopped (its last upload's object and ID), opaque to clients.
func uploadsPage(key, uploadID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(uploadID + "/" + key))
}

func parseUploadsPage(page string) (key, uploadID string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(page)
	id, key, ok := strings.Cut(string(raw), "/")
	if err != nil || !ok || id == "" {
		return "", "", refuse(codeInvalidParameter, "The page parameter is not one this service returned")
	}
	return key, id, nil
}

// listMultipartUploads lists the bucket's uploads in progress by object
// name, then age; opc-next-page continues a truncated list.
func (s *Server) listMultipartUploads(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	limit, err := limitOf(req.query.Get("limit"))
	if err != nil {
		return err
	}
	lreq := &cairnpb.ListMultipartUploadsRequest{Namespace: req.ns, Bucket: req.bucket, MaxUploads: int32(limit)}
	if page := req.query.Get("page"); page != "" {
		if lreq.KeyMarker, lreq.UploadIdMarker, err = parseUploadsPage(page); err != nil {
			return err
		}
	}
	res, err := s.index.ListMultipartUploads(ctx, lreq)
	if err != nil {
		return err
	}
	out := []uploadJSON{}
	for _, u := range res.GetUploads() {
		out = append(out, s.uploadJSON(req, &cairnpb.MultipartUpload{
			Key: u.GetKey(), UploadId: u.GetUploadId(), InitiatedUnixNano: u.GetInitiatedUnixNano(),
		}))
	}
	if res.GetIsTruncated() && len(out) > 0 {
		last := out[len(out)-1]
		w.Header().Set("opc-next-page", uploadsPage(last.Object, last.UploadID))
	}
	return writeJSON(w, http.StatusOK, out)
}

// partMD5 is OCI's md5 of a part: its MD5, base64 (the part's ETag is the
// MD5 in hex).
func partMD5(etag string) string {
	raw, err := hex.DecodeString(etag)
	if err != nil || len(raw) != md5.Size {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// listMultipartUploadParts lists an upload's parts by number; the page
// token is the last part number of the previous page.
func (s *Server) listMultipartUploadParts(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	limit, err := limitOf(req.query.Get("limit"))
	if err != nil {
		return err
	}
	marker := 0
	if page := req.query.Get("page"); page != "" {
		if marker, err = strconv.Atoi(page); err != nil || marker < 1 || marker > maxPartNumber {
			return refuse(codeInvalidParameter, "The page parameter is not one this service returned")
		}
	}
	res, err := s.index.ListParts(ctx, &cairnpb.ListPartsRequest{
		Namespace: req.ns, Bucket: req.bucket, Key: req.object, UploadId: req.uploadID,
		PartNumberMarker: int32(marker), MaxParts: int32(limit),
	})
	if err != nil {
		return err
	}
	// An SSE-C part's ETag is no MD5: its md5 is left empty.
	plain := model.CheckUploadKey(res.GetUpload(), nil) == nil
	out := []partJSON{}
	for _, p := range res.GetParts() {
		pj := partJSON{PartNumber: p.GetNumber(), ETag: p.GetEtag(), Size: p.GetSize()}
		if plain {
			pj.MD5 = partMD5(p.GetEtag())
		}
		out = append(out, pj)
	}
	if res.GetIsTruncated() {
		w.Header().Set("opc-next-page", strconv.Itoa(int(res.GetNextPartNumberMarker())))
	}
	return writeJSON(w, http.StatusOK, out)
}
