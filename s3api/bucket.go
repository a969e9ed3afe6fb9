package s3api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// maxXMLBody bounds the XML bodies Cairn parses.
const maxXMLBody = 1 << 20

// readXMLBody reads a request's XML document, at most maxXMLBody bytes.
func readXMLBody(r io.Reader) ([]byte, error) { return readBounded(r, maxXMLBody) }

// readBounded reads a request's document, at most limit bytes.
func readBounded(r io.Reader, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > limit {
		return nil, s3err.New(s3err.MalformedXML, "The request body is too large.")
	}
	return body, nil
}

// s3Time formats times the way S3 XML does.
func s3Time(unixNano int64) string {
	return time.Unix(0, unixNano).UTC().Format("2006-01-02T15:04:05.000Z")
}

// ListBuckets pages as S3 does: max-buckets (1 to 10000) bounds a page,
// and a request that pages (any of max-buckets, continuation-token,
// prefix or bucket-region) gets at most maxBucketsPage buckets and a
// continuation token when more follow. A request with none of them gets
// every bucket, as before S3 paged this call.
const maxBucketsPage = 10000

func (s *Server) listBuckets(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	limit := -1
	if q.Has("max-buckets") || q.Has("continuation-token") || q.Has("prefix") || q.Has("bucket-region") {
		limit = maxBucketsPage
	}
	if q.Has("max-buckets") {
		n, err := strconv.Atoi(q.Get("max-buckets"))
		if err != nil || n < 1 || n > maxBucketsPage {
			return s3err.New(s3err.InvalidArgument, fmt.Sprintf("Argument max-buckets must be an integer between 1 and %d.", maxBucketsPage))
		}
		limit = n
	}
	after := ""
	if t := q.Get("continuation-token"); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !utf8.Valid(raw) {
			return s3err.New(s3err.InvalidArgument, "The continuation token provided is incorrect.")
		}
		after = string(raw)
	}
	prefix := q.Get("prefix")
	bs, err := s.cfg.Index.ListBuckets(ctx, req.ns)
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{XMLNS: s3XMLNS, Owner: owner{ID: req.ns, DisplayName: req.ns}}
	if q.Has("prefix") {
		out.Prefix = &prefix
	}
	if region := q.Get("bucket-region"); region != "" && region != s.cfg.Region {
		return writeXML(w, out) // every bucket here is in this region
	}
	slices.SortFunc(bs, func(a, b *cairnpb.Bucket) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, b := range bs {
		name := b.GetName()
		if name <= after || !strings.HasPrefix(name, prefix) || !s.mayListBucket(req, b) {
			continue
		}
		if limit >= 0 && len(out.Buckets) == limit {
			last := out.Buckets[len(out.Buckets)-1].Name
			out.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		out.Buckets = append(out.Buckets, bucketEntry{Name: name, CreationDate: s3Time(b.GetCreatedUnixNano()), BucketRegion: s.cfg.Region})
	}
	return writeXML(w, out)
}

func (s *Server) createBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	valid := model.ValidBucketName
	if req.virtual {
		valid = dnsBucketName
	}
	if !valid(req.bucket) {
		return s3err.New(s3err.InvalidBucketName, "")
	}
	objectLock := false
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("x-amz-bucket-object-lock-enabled"))) {
	case "":
	case "true":
		objectLock = true
	case "false":
	default:
		return s3err.New(s3err.InvalidArgument, "x-amz-bucket-object-lock-enabled must be true or false")
	}
	if _, err := checkACLHeaders(r.Header, req, aclWithOwnership); err != nil {
		return err
	}
	body, err := readXMLBody(r.Body)
	if err != nil {
		return err
	}
	if len(body) > 0 {
		var conf createBucketConfiguration
		if err := xml.Unmarshal(body, &conf); err != nil {
			return s3err.Wrap(s3err.MalformedXML, err)
		}
		if lc := conf.LocationConstraint; lc != "" && lc != s.cfg.Region && lc != "us-east-1" {
			return s3err.New(s3err.Code{Name: "InvalidLocationConstraint", Status: http.StatusBadRequest,
				Message: fmt.Sprintf("The specified location-constraint %q is not valid; this endpoint serves %q.", lc, s.cfg.Region)}, "")
		}
	}
	if _, err := s.cfg.Index.CreateBucket(ctx, req.ns, req.bucket, "", objectLock); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+req.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := s.cfg.Index.DeleteBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketLocation(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	return writeXML(w, locationConstraint{XMLNS: s3XMLNS, Region: s.cfg.Region})
}

// errNoBody is what a handler returns after it already wrote a response.
var errNoBody = errors.New("response already written")
