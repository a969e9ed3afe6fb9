package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// maxXMLBody bounds the XML bodies Cairn parses.
const maxXMLBody = 1 << 20

// s3Time formats times the way S3 XML does.
func s3Time(unixNano int64) string {
	return time.Unix(0, unixNano).UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) listBuckets(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	bs, err := s.cfg.Index.ListBuckets(ctx, req.ns)
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{XMLNS: s3XMLNS, Owner: owner{ID: req.ns, DisplayName: req.ns}}
	for _, b := range bs {
		if !s.mayListBucket(req, b) {
			continue
		}
		out.Buckets = append(out.Buckets, bucketEntry{Name: b.GetName(), CreationDate: s3Time(b.GetCreatedUnixNano())})
	}
	return writeXML(w, out)
}

func (s *Server) createBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if !validBucketName(req.bucket) {
		return s3err.New(s3err.InvalidBucketName, "")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxXMLBody {
		return s3err.New(s3err.MalformedXML, "The request body is too large.")
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
	if _, err := s.cfg.Index.CreateBucket(ctx, req.ns, req.bucket, ""); err != nil {
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
