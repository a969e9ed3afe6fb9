package native

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// maxUserMetadata bounds an object's opc-meta-* names and values, as S3's
// bound on x-amz-meta-* (one dataset, one bound).
const maxUserMetadata = 2 << 10

// maxObjectName is OCI's bound on an object name, in bytes.
const maxObjectName = 1024

// metaPrefix starts the headers of user metadata.
const metaPrefix = "opc-meta-"

// contentHeaderNames are the content headers an object keeps, stored
// under the same names S3 stores them, so both APIs return them.
func contentHeaderNames() []string {
	return []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language"}
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// checkSHA256 compares a body's SHA-256 with its x-content-sha256 header,
// when the request has one (it is signed whenever the operation signs
// its body, see authenticate).
func checkSHA256(r *http.Request, sum []byte) error {
	want := r.Header.Get("x-content-sha256")
	if want == "" {
		return nil
	}
	if got := base64.StdEncoding.EncodeToString(sum); got != want {
		return refuse(codeNotAuthenticated, "The body's SHA-256 (%s) does not match the x-content-sha256 header", got)
	}
	return nil
}

// userMetadata collects opc-meta-* headers (names lowercased, without the
// prefix: S3's x-amz-meta-* land in the same map).
func userMetadata(h http.Header) (map[string]string, error) {
	md := map[string]string{}
	total := 0
	for name, vals := range h {
		lower := strings.ToLower(name)
		k, ok := strings.CutPrefix(lower, metaPrefix)
		if !ok {
			continue
		}
		if k == "" {
			return nil, refuse(codeInvalidParameter, "A metadata header needs a name after opc-meta-")
		}
		v := strings.Join(vals, ", ")
		md[k] = v
		total += len(k) + len(v)
	}
	if total > maxUserMetadata {
		return nil, refuse(codeInvalidParameter, "The object's metadata is larger than %d bytes", maxUserMetadata)
	}
	return md, nil
}

// refuseConditions refuses the conditional headers UploadPart does not
// serve yet, rather than ignoring them (SSE-C headers are the op table's:
// customerKeyAllowed).
func refuseConditions(h http.Header) error {
	return refuseHeaders(h, "If-Match", "If-None-Match", "opc-sse-kms-key-id")
}

// readConditions checks GetObject's and HeadObject's if-match (ETags or
// *) and if-none-match (ETags; OCI allows no wildcard there) before the
// object is looked up; opc-sse-kms-key-id is not served.
func readConditions(h http.Header) error {
	if err := refuseHeaders(h, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	if inm := h.Get("If-None-Match"); inm != "" && model.ETagMatches(inm, "") { // only a * matches no ETag
		return refuse(codeInvalidParameter, "if-none-match takes an ETag; OCI allows no wildcard (*) there")
	}
	return nil
}

// notModified judges a read's conditions against etag, the version's, as
// OCI does (and S3, with the shared model.ETagMatches): an if-match that
// does not name it is PreconditionFailed; an if-none-match that names it
// means 304 Not Modified, with no body (true).
func notModified(h http.Header, etag string) (bool, error) {
	if im := h.Get("If-Match"); im != "" && !model.ETagMatches(im, etag) {
		return false, refuse(codePreconditionFailed, "The object's ETag does not match if-match")
	}
	if inm := h.Get("If-None-Match"); inm != "" && model.ETagMatches(inm, etag) {
		return true, nil
	}
	return false, nil
}

// deleteCondition is DeleteObject's if-match (an ETag, or "*") as the
// condition meta judges in the apply that deletes; nil without one.
// if-none-match, which OCI does not take on a delete, is refused.
func deleteCondition(h http.Header) (*cairnpb.WriteCondition, error) {
	if err := refuseHeaders(h, "If-None-Match", "opc-sse-kms-key-id"); err != nil {
		return nil, err
	}
	return matchCondition(h.Get("If-Match")), nil
}

// refuseHeaders answers NotImplemented when h has any of names.
func refuseHeaders(h http.Header, names ...string) error {
	for _, name := range names {
		if h.Get(name) != "" {
			return refuse(codeNotImplemented, "The %s header is not implemented yet", name)
		}
	}
	return nil
}

// putCondition is PutObject's if-match (an ETag, or "*") and
// if-none-match ("*" only, as OCI takes it) as a write condition; nil
// when neither is sent. The OCI CLI sends if-none-match: * unless told
// to overwrite.
func putCondition(h http.Header) (*cairnpb.WriteCondition, error) {
	match, noneMatch := h.Get("If-Match"), h.Get("If-None-Match")
	switch {
	case match != "" && noneMatch != "":
		return nil, refuse(codeInvalidParameter, "if-match and if-none-match cannot both be set")
	case noneMatch != "" && model.NormalizeETag(noneMatch) != "*":
		return nil, refuse(codeInvalidParameter, "if-none-match takes only *")
	case noneMatch != "":
		return noneMatchCondition(noneMatch), nil
	}
	return matchCondition(match), nil
}

func (s *Server) putObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if len(req.object) > maxObjectName {
		return refuse(codeInvalidParameter, "The object name is longer than %d bytes", maxObjectName)
	}
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	cond, err := putCondition(r.Header)
	if err != nil {
		return err
	}
	if r.Header.Get("opc-storage-tier") != "" && r.Header.Get("opc-storage-tier") != "Standard" {
		return refuse(codeNotImplemented, "Storage tiers other than Standard are not implemented")
	}
	size := r.ContentLength
	if size < 0 || len(r.TransferEncoding) > 0 {
		return refuse(codeLengthRequired, "PutObject needs a Content-Length")
	}
	if size > s.cfg.MaxObjectSize {
		return refuse(codeEntityTooLarge, "The object is larger than %d bytes", s.cfg.MaxObjectSize)
	}
	var wantMD5 []byte
	if v := r.Header.Get("Content-MD5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != md5.Size {
			return refuse(codeInvalidParameter, "Content-MD5 is not a base64 MD5")
		}
		wantMD5 = b
	}
	md, err := userMetadata(r.Header)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	if size > s.store.InlineThreshold() {
		if _, err := s.index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return err // no data moves for a missing bucket
		}
	}
	sumMD5 := md5.New()
	tee := io.Writer(sumMD5)
	var sumSHA hash.Hash
	if r.Header.Get("x-content-sha256") != "" {
		sumSHA = sha256.New()
		tee = io.MultiWriter(sumMD5, sumSHA)
	}
	verify := func() error {
		if wantMD5 != nil && !bytes.Equal(sumMD5.Sum(nil), wantMD5) {
			return refuse(codeUnmatchedContentMD5, "The body's MD5 does not match the Content-MD5 header")
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
	sum := sumMD5.Sum(nil)
	v.Key = req.object
	v.Etag = model.DataETag(v.GetEncryption(), ck, sum)
	v.ContentType = r.Header.Get("Content-Type")
	v.UserMetadata = md
	v.Headers = map[string]string{}
	for _, name := range contentHeaderNames() {
		if val := r.Header.Get(name); val != "" {
			v.Headers[name] = val
		}
	}
	vid, err := s.index.CommitVersion(ctx, req.ns, req.bucket, v, cond)
	if err != nil {
		return err // the shards of a refused write are orphans meta reclaims
	}
	h := w.Header()
	h.Set("ETag", v.GetEtag())
	h.Set("opc-content-md5", base64.StdEncoding.EncodeToString(sum))
	h.Set("Last-Modified", time.Unix(0, v.GetModifiedUnixNano()).UTC().Format(http.TimeFormat))
	if vid != "" {
		h.Set("version-id", vid)
	}
	sse.SetOCIResponseHeaders(h, ck)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.readObject(ctx, w, r, req, true)
}

func (s *Server) headObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.readObject(ctx, w, r, req, false)
}

// md5Headers sets OCI's MD5 headers from an S3-style ETag: Content-MD5
// for single-part data, opc-multipart-md5 for multipart. An SSE-C ETag is
// no MD5: callers leave it out.
func md5Headers(h http.Header, etag string) {
	hexPart, parts, multipart := strings.Cut(etag, "-")
	raw, err := hex.DecodeString(hexPart)
	if err != nil || len(raw) != md5.Size {
		return
	}
	if multipart {
		h.Set("opc-multipart-md5", base64.StdEncoding.EncodeToString(raw)+"-"+parts)
		return
	}
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(raw))
}

func (s *Server) readObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request, withBody bool) error {
	if err := readConditions(r.Header); err != nil {
		return err
	}
	v, err := s.index.GetObject(ctx, req.ns, req.bucket, req.object)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	if err := model.CheckCustomerKey(v, ck); err != nil {
		return err
	}
	modified := time.Unix(0, v.GetModifiedUnixNano()).UTC().Format(http.TimeFormat)
	if same, err := notModified(r.Header, v.GetEtag()); same || err != nil {
		if same {
			w.Header().Set("ETag", v.GetEtag())
			w.Header().Set("Last-Modified", modified)
			w.WriteHeader(http.StatusNotModified)
		}
		return err
	}
	size := v.GetSize()
	off, n, ranged, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		return err
	}
	h := w.Header()
	ct := v.GetContentType()
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", v.GetEtag())
	if !model.IsSSEC(v) {
		md5Headers(h, v.GetEtag())
	}
	h.Set("Last-Modified", modified)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	h.Set("storage-tier", "Standard")
	h.Set("version-id", model.VersionID(v)) // OCI always sends one (ocifs reads it)
	for k, val := range v.GetHeaders() {
		h.Set(k, val)
	}
	for k, val := range v.GetUserMetadata() {
		h[metaPrefix+k] = []string{val}
	}
	sse.SetOCIResponseHeaders(h, ck)
	status := http.StatusOK
	if ranged {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
		status = http.StatusPartialContent
	}
	if !withBody {
		w.WriteHeader(status)
		return nil
	}
	started, err := s.store.ReadStarting(ctx, w, func() { w.WriteHeader(status) }, v, off, n, ck)
	if err != nil {
		if !started {
			return err
		}
		s.store.NoteUnreadable(req.ns, req.bucket, err)
		s.log.Error("native GET failed mid-stream", "id", req.id, "bucket", req.bucket, "object", req.object, "err", err)
		panic(http.ErrAbortHandler) // a short body, never a silently truncated one
	}
	if !started {
		w.WriteHeader(status)
	}
	return nil
}

// parseRange parses a single byte range (bytes=a-b, bytes=a-, bytes=-n)
// against size. ranged is false when there is no Range header.
func parseRange(v string, size int64) (off, n int64, ranged bool, err error) {
	if v == "" {
		return 0, size, false, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	first, last, dash := strings.Cut(spec, "-")
	bad := refuse(codeInvalidRange, "The range %q is not satisfiable for an object of %d bytes", v, size)
	if !ok || !dash || strings.Contains(spec, ",") {
		return 0, 0, false, refuse(codeInvalidParameter, "The Range header %q is not a single byte range", v)
	}
	if first == "" {
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k <= 0 {
			return 0, 0, false, bad
		}
		k = min(k, size)
		if k == 0 {
			return 0, 0, false, bad
		}
		return size - k, k, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 || a >= size {
		return 0, 0, false, bad
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, 0, false, bad
		}
		b = min(b, size-1)
	}
	return a, b - a + 1, true, nil
}

// deleteObject deletes the object's current version (or, in a bucket
// with versioning, puts a delete marker over it). An if-match is judged
// by meta in the apply that deletes, so a version written meanwhile is
// never deleted in its place.
func (s *Server) deleteObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	cond, err := deleteCondition(r.Header)
	if err != nil {
		return err
	}
	// OCI answers 404 for a missing object, where S3 answers 204.
	if _, err := s.index.GetObject(ctx, req.ns, req.bucket, req.object); err != nil {
		return err
	}
	res, err := s.index.DeleteVersion(ctx, req.ns, req.bucket, req.object, "", cond, false)
	if err != nil {
		return err
	}
	if res.GetVersionId() != "" {
		w.Header().Set("version-id", res.GetVersionId())
	}
	if res.GetDeleteMarker() {
		w.Header().Set("is-delete-marker", "true")
	}
	w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
