package s3api

import (
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv4"
	"github.com/cairn-store/cairn/s3api/sse"
)

// storedHeaders are the content headers an object keeps and returns.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// bodySize returns the length of the object bytes in the request: the
// decoded length for aws-chunked bodies, else Content-Length.
func bodySize(r *http.Request) (int64, error) {
	if n, ok := sigv4.ExpectedDecodedLength(r); ok {
		return n, nil
	}
	if r.ContentLength < 0 {
		return 0, s3err.New(s3err.MissingContentLength, "")
	}
	return r.ContentLength, nil
}

// joinValues is the value of a header given once or repeated: a repeated
// field is one list, its values joined with ", " as HTTP combines them
// (RFC 9110, section 5.3) and as S3 answers them.
func joinValues(vals []string) string { return strings.Join(vals, ", ") }

// contentHeaders collects the content headers an object keeps.
func contentHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, name := range storedHeaders {
		val := joinValues(h.Values(name))
		if name == "Content-Encoding" {
			val = sigv4.StripAWSChunked(val) // framing, not a property of the object
		}
		if val != "" {
			out[name] = val
		}
	}
	return out
}

// userMetadata collects x-amz-meta-* headers, bounded as S3 bounds them.
// A value sent RFC 2047 encoded (=?UTF-8?B?...?=, the way to send text
// that is not US-ASCII in a header) is kept decoded, and the bound
// applies to the decoded bytes; metadataHeader encodes it again.
func userMetadata(h http.Header) (map[string]string, error) {
	md := map[string]string{}
	total := 0
	var words mime.WordDecoder
	for name, vals := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-meta-") {
			continue
		}
		k := strings.TrimPrefix(lower, "x-amz-meta-")
		decoded := make([]string, len(vals))
		for i, val := range vals {
			if d, err := words.DecodeHeader(val); err == nil {
				val = d
			}
			decoded[i] = val
		}
		v := joinValues(decoded)
		md[k] = v
		total += len(k) + len(v)
	}
	if total > maxUserMetadata {
		return nil, s3err.New(s3err.MetadataTooLarge, "")
	}
	return md, nil
}

func (s *Server) putObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if len(req.key) > maxKeyLength {
		return s3err.New(s3err.KeyTooLong, "")
	}
	if _, err := checkACLHeaders(r.Header, req, aclNotSupported); err != nil {
		return err
	}
	size, err := bodySize(r)
	if err != nil {
		return err
	}
	if size > s.cfg.MaxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	md, err := userMetadata(r.Header)
	if err != nil {
		return err
	}
	want, err := checksum.FromHeaders(r.Header)
	if err != nil {
		return err
	}
	sums, err := checksum.NewSet(want.Algorithms()...)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return err
	}
	if err := sse.CheckServerSide(r.Header, ck); err != nil {
		return err
	}
	// Fail fast on a missing bucket before moving data to data nodes. An
	// object small enough to be inlined moves no data before its commit,
	// which checks the bucket itself: that saves a meta round trip per
	// small PUT.
	if size > s.cfg.InlineThreshold {
		if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return err
		}
	}
	opts, err := s.putOptions(ctx, r, req, size)
	if err != nil {
		return err
	}
	digestSent := want.ContentMD5 != "" || want.Value != "" || want.Trailer != ""
	if opts.lock, err = s.writeLock(ctx, r.Header, req, &digestSent); err != nil {
		return err
	}

	verify := func() error { return want.Verify(sums, r.Body) }
	v, err := s.objects.Write(ctx, r.Body, size, sums, verify, ck)
	if err != nil {
		return err
	}
	v.Key = req.key
	v.Etag = model.DataETag(v.GetEncryption(), ck, sums.MD5())
	v.ContentType = r.Header.Get("Content-Type")
	v.UserMetadata = md
	v.Headers = contentHeaders(r.Header)
	v.Checksums = map[string]string{}
	for _, alg := range want.Algorithms() {
		v.Checksums[alg] = sums.Base64(alg)
	}
	vid, err := s.commitVersion(ctx, req, v, opts)
	if err != nil {
		return err // shards of a refused write are orphans, reclaimed by meta
	}
	setWrittenVersion(w.Header(), vid)
	w.Header().Set("ETag", `"`+v.Etag+`"`)
	s.setExpirationHeader(ctx, w.Header(), req, v)
	for alg, val := range v.Checksums {
		w.Header().Set(checksum.Header(alg), val)
	}
	setEncryptionHeaders(w.Header(), ck)
	w.WriteHeader(http.StatusOK)
	return nil
}

// metadataHeader is a stored metadata value as a response header: as it
// is when it is printable US-ASCII, else RFC 2047 encoded as S3 sends it,
// "=?UTF-8?B?<base64>?=", in encoded words of at most 75 characters
// (45 bytes each, cut between runes) separated by spaces. Raw UTF-8 in a
// header is read as Latin-1 by most clients, which garbles it.
func metadataHeader(val string) string {
	plain := true
	for i := 0; i < len(val) && plain; i++ {
		c := val[i]
		plain = c < 0x7f && (c >= 0x20 || c == '\t')
	}
	if plain {
		return val
	}
	const wordBytes = 45 // base64 of 45 bytes is 60 characters: 60+12 <= 75
	var words []string
	for len(val) > 0 {
		n := min(len(val), wordBytes)
		for n < len(val) && !utf8.RuneStart(val[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(val[:n]))+"?=")
		val = val[n:]
	}
	return strings.Join(words, " ")
}

// byteRange is a resolved, satisfiable range of an object.
type byteRange struct{ off, n int64 }

// parseRange resolves a Range header against size. ok is false when the
// header should be ignored (absent, malformed or multi-range: S3 then sends
// the whole object); a syntactically valid but unsatisfiable range is
// InvalidRange.
func parseRange(h string, size int64) (br byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return br, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return br, false, nil
	}
	unsat := s3err.New(s3err.InvalidRange, "")
	if first == "" { // suffix: the last N bytes
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return br, false, nil
		}
		if n == 0 {
			return br, false, unsat
		}
		n = min(n, size)
		return byteRange{off: size - n, n: n}, true, nil
	}
	start, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || start < 0 {
		return br, false, nil
	}
	end := size - 1
	if last != "" {
		e, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || e < start {
			return br, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return br, false, unsat
	}
	return byteRange{off: start, n: end - start + 1}, true, nil
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since as S3 does for GET and HEAD. done reports that a 304
// was written.
func checkConditions(w http.ResponseWriter, r *http.Request, etag string, modified time.Time) (done bool, err error) {
	quoted := `"` + etag + `"`
	match := func(list string) bool { return model.ETagMatches(list, etag) }
	modified = modified.Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !match(im) {
			return false, s3err.New(s3err.PreconditionFailed, "")
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && modified.After(t) {
			return false, s3err.New(s3err.PreconditionFailed, "")
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if match(inm) {
			w.Header().Set("ETag", quoted)
			w.WriteHeader(http.StatusNotModified)
			return true, nil
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			w.Header().Set("ETag", quoted)
			w.WriteHeader(http.StatusNotModified)
			return true, nil
		}
	}
	return false, nil
}

func (s *Server) getObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.readObject(ctx, w, r, req, true)
}

func (s *Server) headObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.readObject(ctx, w, r, req, false)
}

// readObject serves GetObject (withBody) and HeadObject.
func (s *Server) readObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request, withBody bool) error {
	v, named, ck, err := s.readableVersion(ctx, r, req)
	if err != nil {
		return err
	}
	modified := time.Unix(0, v.GetModifiedUnixNano()).UTC()
	if done, err := checkConditions(w, r, v.GetEtag(), modified); done || err != nil {
		return err
	}
	size := v.GetSize()
	br, ranged, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		if e, ok := s3err.As(err); ok {
			e.Header = http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", size)}}
		}
		return err
	}
	if req.hasPartNumber {
		var whole bool
		if br, whole, err = selectPart(w.Header(), r, req, v); err != nil {
			return err
		}
		ranged = !whole
	}
	if !ranged {
		br = byteRange{0, size}
	}

	h := w.Header()
	ct := v.GetContentType()
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", `"`+v.GetEtag()+`"`)
	h.Set("Last-Modified", modified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Length", strconv.FormatInt(br.n, 10))
	setEncryptionHeaders(h, ck)
	setVersionHeader(h, v, named)
	for k, val := range v.GetHeaders() {
		h.Set(k, val)
	}
	for k, val := range v.GetUserMetadata() {
		h["X-Amz-Meta-"+k] = []string{metadataHeader(val)}
	}
	if n := len(v.GetTags()); n > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(n))
	}
	setLockHeaders(h, v.GetLock())
	if !named {
		s.setExpirationHeader(ctx, h, req, v)
	}
	applyResponseOverrides(h, req.query)
	if r.Header.Get("x-amz-checksum-mode") == "ENABLED" && !ranged {
		for alg, val := range v.GetChecksums() {
			h.Set(checksum.Header(alg), val)
		}
		if len(v.GetChecksums()) > 0 {
			h.Set("x-amz-checksum-type", checksumTypeOf(v.GetChecksumType()))
		}
	}
	status := http.StatusOK
	if ranged {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", br.off, br.off+br.n-1, size))
		status = http.StatusPartialContent
	}
	if !withBody {
		w.WriteHeader(status)
		return nil
	}
	// Fetch the first stripe before committing to a status, so a read that
	// cannot start still gets a proper error response.
	started, err := s.objects.ReadStarting(ctx, w, func() { w.WriteHeader(status) }, v, br.off, br.n, ck)
	if err != nil {
		if !started {
			return err // the error writer drops the object's headers set above
		}
		// Headers are gone: all that is left is to cut the connection so the
		// client sees a short body instead of a silently truncated one.
		s.noteUnreadable(req, err)
		s.log.Error("GET failed mid-stream", "id", req.id, "bucket", req.bucket, "key", req.key, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !started {
		w.WriteHeader(status)
	}
	return nil
}
