package s3api

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// TaggingIndex is what tagging needs from the meta group beyond reads:
// GetObject and GetBucket return the tags. An empty tag set removes the
// tags.
type TaggingIndex interface {
	// SetObjectTags replaces the tags of the key's current version and
	// changes nothing else about it; a missing key is
	// rpcerr.ErrObjectNotFound.
	SetObjectTags(ctx context.Context, ns, bucket, key string, tags map[string]string) error
}

// Tag limits, as S3 sets them. Lengths count UTF-16 code units: S3 keeps
// tags in UTF-16.
const (
	maxObjectTags  = 10
	maxBucketTags  = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tagging is the Tagging document of PutObjectTagging, PutBucketTagging and
// their GETs. Pointers tell a missing element from an empty one.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	TagSet  *tagSet  `xml:"TagSet"`
}

type tagSet struct {
	Tags []tagXML `xml:"Tag"`
}

type tagXML struct {
	Key   *string `xml:"Key"`
	Value *string `xml:"Value"`
}

type tagPair struct{ key, value string }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(1, utf16.RuneLen(r))
	}
	return n
}

// validTagChars reports whether s holds only what S3 allows in tags:
// Unicode letters, numbers and spaces, and _ . : / = + - @.
func validTagChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Z, r) || strings.ContainsRune("_.:/=+-@", r) {
			continue
		}
		return false
	}
	return true
}

// checkTags applies S3's tag rules in S3's order: each tag in turn (key,
// then value, then uniqueness), then the count.
func checkTags(pairs []tagPair, limit int, forObject bool) (map[string]string, error) {
	tags := make(map[string]string, len(pairs))
	for _, p := range pairs {
		switch {
		case p.key == "" || !validTagChars(p.key):
			return nil, s3err.New(s3err.InvalidTag, "The TagKey you have provided is invalid")
		case utf16Len(p.key) > maxTagKeyLen:
			return nil, s3err.New(s3err.InvalidTag, fmt.Sprintf("The TagKey you have provided is too long, max %d", maxTagKeyLen))
		case strings.HasPrefix(p.key, "aws:"):
			return nil, s3err.New(s3err.InvalidTag, "Your TagKey cannot be prefixed with aws:")
		case !validTagChars(p.value):
			return nil, s3err.New(s3err.InvalidTag, "The TagValue you have provided is invalid")
		case utf16Len(p.value) > maxTagValueLen:
			return nil, s3err.New(s3err.InvalidTag, fmt.Sprintf("The TagValue you have provided is too long, max %d", maxTagValueLen))
		}
		if _, dup := tags[p.key]; dup {
			return nil, s3err.New(s3err.InvalidTag, "Cannot provide multiple Tags with the same key")
		}
		tags[p.key] = p.value
	}
	if len(tags) > limit {
		if forObject {
			// What S3 answers, although its documentation says InvalidTag.
			return nil, s3err.New(s3err.BadRequest, fmt.Sprintf("Object tags cannot be greater than %d", limit))
		}
		return nil, s3err.New(s3err.InvalidTag, fmt.Sprintf("Bucket tag count cannot be greater than %d", limit))
	}
	return tags, nil
}

// parseTaggingHeader reads x-amz-tagging (PutObject, CreateMultipartUpload,
// CopyObject with REPLACE): URL query encoded pairs; a key without "="
// has the empty value. nil when the header is absent.
func parseTaggingHeader(h http.Header) (map[string]string, error) {
	raw, ok := h["X-Amz-Tagging"]
	if !ok {
		return nil, nil
	}
	bad := s3err.New(s3err.InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	var pairs []tagPair
	seen := map[string]bool{}
	for piece := range strings.SplitSeq(strings.Join(raw, "&"), "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		if strings.Contains(v, "=") {
			return nil, bad
		}
		key, kerr := url.QueryUnescape(k)
		value, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil || !utf8.ValidString(key) || !utf8.ValidString(value) || seen[key] {
			return nil, bad
		}
		seen[key] = true
		pairs = append(pairs, tagPair{key, value})
	}
	return checkTags(pairs, maxObjectTags, true)
}

// readTagging reads and checks the Tagging body of a Put...Tagging request.
func readTagging(r *http.Request, limit int, forObject bool) (map[string]string, error) {
	body, err := readDigestedBody(r, maxXMLBody)
	if err != nil {
		return nil, err
	}
	return parseTaggingDoc(body, limit, forObject)
}

// parseTaggingDoc parses and checks a Tagging document.
func parseTaggingDoc(body []byte, limit int, forObject bool) (map[string]string, error) {
	var doc tagging
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, s3err.Wrap(s3err.MalformedXML, err)
	}
	if doc.TagSet == nil {
		return nil, s3err.New(s3err.MalformedXML, "")
	}
	pairs := make([]tagPair, 0, len(doc.TagSet.Tags))
	for _, t := range doc.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, s3err.New(s3err.MalformedXML, "")
		}
		pairs = append(pairs, tagPair{*t.Key, *t.Value})
	}
	return checkTags(pairs, limit, forObject)
}

// taggingDoc renders tags in key order.
func taggingDoc(tags map[string]string) tagging {
	out := tagging{XMLNS: s3XMLNS, TagSet: &tagSet{}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out.TagSet.Tags = append(out.TagSet.Tags, tagXML{Key: &k, Value: new(tags[k])})
	}
	return out
}

func (s *Server) putObjectTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	tags, err := readTagging(r, maxObjectTags, true)
	if err != nil {
		return err
	}
	if err := s.setObjectTags(ctx, w.Header(), req, tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// setObjectTags sets the tags of the current version, or of the version
// named by versionId.
func (s *Server) setObjectTags(ctx context.Context, h http.Header, req *request, tags map[string]string) error {
	versionID, named, err := req.version()
	if err != nil {
		return err
	}
	if !named {
		return s.cfg.Index.SetObjectTags(ctx, req.ns, req.bucket, req.key, tags)
	}
	if _, err := s.objectFor(ctx, req, versionID, true); err != nil {
		return err
	}
	if err := s.cfg.Index.SetVersionTags(ctx, req.ns, req.bucket, req.key, versionID, tags); err != nil {
		return err
	}
	h.Set("x-amz-version-id", versionID)
	return nil
}

func (s *Server) getObjectTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	v, named, err := s.requestedVersion(ctx, req)
	if err != nil {
		return err
	}
	setVersionHeader(w.Header(), v, named)
	return writeXML(w, taggingDoc(v.GetTags()))
}

func (s *Server) deleteObjectTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := s.setObjectTags(ctx, w.Header(), req, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putBucketTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	tags, err := readTagging(r, maxBucketTags, false)
	if err != nil {
		return err
	}
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Tags{Tags: &cairnpb.BucketTagsConfig{Tags: tags}}})
}

func (s *Server) getBucketTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if len(b.GetTags()) == 0 {
		return s3err.New(s3err.NoSuchTagSet, "")
	}
	return writeXML(w, taggingDoc(b.GetTags()))
}

func (s *Server) deleteBucketTagging(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	return s.setBucketConfig(ctx, w, req, http.StatusNoContent, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Tags{Tags: &cairnpb.BucketTagsConfig{}}, Remove: true})
}

// copyTagging is what CopyObject's x-amz-tagging-directive asks for.
type copyTagging struct {
	replace bool
	tags    map[string]string // with replace: x-amz-tagging
}

func parseCopyTagging(h http.Header) (copyTagging, error) {
	switch d := h.Get("x-amz-tagging-directive"); d {
	case "", "COPY":
		return copyTagging{}, nil
	case "REPLACE":
		tags, err := parseTaggingHeader(h)
		return copyTagging{replace: true, tags: tags}, err
	default:
		return copyTagging{}, s3err.New(s3err.InvalidArgument, "Unknown tagging directive.")
	}
}

// tagsFor returns the tags the copy of src gets.
func (c copyTagging) tagsFor(src *cairnpb.ObjectVersion) map[string]string {
	if c.replace {
		return c.tags
	}
	return maps.Clone(src.GetTags())
}

// readDigestedBody reads the XML body of a request that S3 requires a
// Content-MD5 or an x-amz-checksum-* (header or trailer) on
// (Put...Tagging, PutBucketCors, the object lock Puts, DeleteObjects), at
// most limit bytes, and verifies it.
func readDigestedBody(r *http.Request, limit int) ([]byte, error) {
	want, err := checksum.FromHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	if want.ContentMD5 == "" && want.Value == "" && want.Trailer == "" {
		return nil, s3err.New(s3err.MissingContentMD5, "")
	}
	sums, err := checksum.NewSet(want.Algorithms()...)
	if err != nil {
		return nil, err
	}
	body, err := readBounded(io.TeeReader(r.Body, sums), limit)
	if err != nil {
		return nil, err
	}
	if err := want.Verify(sums, r.Body); err != nil {
		return nil, err
	}
	return body, nil
}

// readDigestedXML is readDigestedBody decoded into v.
func readDigestedXML(r *http.Request, v any) error {
	body, err := readDigestedBody(r, maxXMLBody)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	return nil
}
