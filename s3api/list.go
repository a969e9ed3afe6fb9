package s3api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// listParams are the listing parameters common to V1 and V2.
type listParams struct {
	prefix, delimiter, encoding string
	maxKeys                     int
}

func parseListParams(q url.Values) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), encoding: q.Get("encoding-type"), maxKeys: 1000}
	if p.encoding != "" && p.encoding != "url" {
		return p, s3err.New(s3err.InvalidArgument, "Invalid Encoding Method specified in Request")
	}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, s3err.New(s3err.InvalidArgument, "Provided max-keys not an integer or within integer range")
		}
		p.maxKeys = min(n, 1000)
	}
	return p, nil
}

// encode applies encoding-type=url to a key or prefix in a response.
func (p listParams) encode(s string) string {
	if p.encoding != "url" {
		return s
	}
	// S3 encodes like a form value but keeps '/' readable and uses %20.
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	return strings.ReplaceAll(e, "%2F", "/")
}

// list runs one listing page. maxKeys 0 returns an empty, untruncated page
// without asking meta, as S3 does.
func (s *Server) list(ctx context.Context, req *request, p listParams, startAfter, token string) (*cairnpb.ListObjectsResponse, error) {
	if p.maxKeys == 0 {
		if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return nil, err
		}
		return &cairnpb.ListObjectsResponse{}, nil
	}
	return s.cfg.Index.ListObjects(ctx, &cairnpb.ListObjectsRequest{
		Namespace: req.ns, Bucket: req.bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		StartAfter: startAfter, ContinuationToken: token, MaxKeys: int32(p.maxKeys),
	})
}

func (p listParams) entries(res *cairnpb.ListObjectsResponse, withOwner *owner) ([]objectEntry, []commonPrefix) {
	objs := make([]objectEntry, 0, len(res.GetObjects()))
	for _, o := range res.GetObjects() {
		objs = append(objs, objectEntry{
			Key: p.encode(o.GetKey()), LastModified: s3Time(o.GetModifiedUnixNano()),
			ETag: `"` + o.GetEtag() + `"`, Size: o.GetSize(), Owner: withOwner, StorageClass: "STANDARD",
		})
	}
	var cps []commonPrefix
	for _, cp := range res.GetCommonPrefixes() {
		cps = append(cps, commonPrefix{Prefix: p.encode(cp)})
	}
	return objs, cps
}

func (s *Server) listObjectsV2(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	token, startAfter := q.Get("continuation-token"), q.Get("start-after")
	// A token the request gave is echoed, even an empty one, as S3 does.
	var echo *string
	if q.Has("continuation-token") {
		echo = &token
	}
	res, err := s.list(ctx, req, p, startAfter, token)
	if err != nil {
		return err
	}
	var own *owner
	if q.Get("fetch-owner") == "true" {
		own = &owner{ID: req.ns, DisplayName: req.ns}
	}
	objs, cps := p.entries(res, own)
	return writeXML(w, listBucketResultV2{
		XMLNS: s3XMLNS, Name: req.bucket, Prefix: p.encode(p.prefix), Delimiter: p.encode(p.delimiter),
		MaxKeys: p.maxKeys, KeyCount: len(objs) + len(cps), IsTruncated: res.GetIsTruncated(),
		EncodingType: p.encoding, ContinuationToken: echo, NextContinuationToken: res.GetNextContinuationToken(),
		StartAfter: p.encode(startAfter), Contents: objs, CommonPrefixes: cps,
	})
}

func (s *Server) listObjectsV1(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	res, err := s.list(ctx, req, p, marker, "")
	if err != nil {
		return err
	}
	objs, cps := p.entries(res, &owner{ID: req.ns, DisplayName: req.ns})
	out := listBucketResultV1{
		XMLNS: s3XMLNS, Name: req.bucket, Prefix: p.encode(p.prefix), Marker: p.encode(marker),
		Delimiter: p.encode(p.delimiter), MaxKeys: p.maxKeys, IsTruncated: res.GetIsTruncated(),
		EncodingType: p.encoding, Contents: objs, CommonPrefixes: cps,
	}
	if res.GetIsTruncated() && p.delimiter != "" {
		// NextMarker is the last key or common prefix of the page, whichever
		// sorts later.
		last := ""
		if n := len(res.GetObjects()); n > 0 {
			last = res.GetObjects()[n-1].GetKey()
		}
		if n := len(res.GetCommonPrefixes()); n > 0 && res.GetCommonPrefixes()[n-1] > last {
			last = res.GetCommonPrefixes()[n-1]
		}
		out.NextMarker = p.encode(last)
	}
	return writeXML(w, out)
}
