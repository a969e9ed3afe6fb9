package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/s3err"
)

const (
	// maxDeleteKeys is S3's limit of keys per DeleteObjects request.
	maxDeleteKeys = 1000
	// maxDeleteBody bounds a DeleteObjects body: room for 1000 keys of
	// 1024 bytes even with XML escaping.
	maxDeleteBody = 4 << 20
	// deleteParallelism bounds the Index.DeleteVersion calls one
	// DeleteObjects request has in flight.
	deleteParallelism = 16
)

type deleteRequest struct {
	XMLName xml.Name         `xml:"Delete"`
	Quiet   string           `xml:"Quiet"`
	Objects []deleteObjectID `xml:"Object"`
}

type deleteObjectID struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
	// ETag makes the entry's delete conditional, as If-Match does
	// DeleteObject's ("*" or an ETag). LastModifiedTime and Size are
	// S3's conditions for directory buckets only, refused per entry.
	ETag             string `xml:"ETag"`
	LastModifiedTime string `xml:"LastModifiedTime"`
	Size             string `xml:"Size"`
}

// condition is the entry's delete condition (nil: none).
func (o deleteObjectID) condition() (*cairnpb.WriteCondition, error) {
	if o.LastModifiedTime != "" || o.Size != "" {
		return nil, s3err.New(s3err.NotImplemented, "LastModifiedTime and Size conditions are S3's for directory buckets only.")
	}
	if o.ETag == "" {
		return nil, nil
	}
	c := &cairnpb.WriteCondition{}
	if err := parseIfMatch(o.ETag, c); err != nil {
		return nil, err
	}
	return c, nil
}

type deleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	XMLNS   string         `xml:"xmlns,attr"`
	Deleted []deletedEntry `xml:"Deleted"`
	Errors  []deleteError  `xml:"Error"`
}

type deletedEntry struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// deleteObjects serves DeleteObjects: the body must carry a Content-MD5 or
// an x-amz-checksum-* (header or trailer), verified before anything is
// deleted; each key is deleted with its own Index call, at most
// deleteParallelism at a time. Missing keys count as deleted, as in S3.
func (s *Server) deleteObjects(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readDigestedBody(r, maxDeleteBody)
	if err != nil {
		return err
	}
	objects, quiet, err := parseDeleteRequest(body)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}

	// The request as a whole was authorized for OBJECT_DELETE; removing a
	// version for good takes OBJECT_VERSION_DELETE, judged here because
	// only the body names versions.
	versionsOK, err := s.mayDeleteVersions(ctx, req, objects)
	if err != nil {
		return err
	}

	results := make([]error, len(objects))
	buckets := map[string]*cairnpb.Bucket{}
	sem := make(chan struct{}, deleteParallelism)
	var wg sync.WaitGroup
	done := make([]*cairnpb.DeleteVersionResponse, len(objects))
	for i, o := range objects {
		if results[i] = checkDeleteTarget(o); results[i] != nil {
			continue
		}
		cond, err := o.condition()
		if err != nil {
			results[i] = err
			continue
		}
		if o.VersionID != "" && !versionsOK {
			results[i] = s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: delete version %q of %q: %w", o.VersionID, o.Key, errAccessDenied))
			continue
		}
		if results[i] = s.policyDeniesKey(ctx, req, o.Key, o.VersionID, buckets); results[i] != nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := s.cfg.Index.DeleteVersion(ctx, req.ns, req.bucket, o.Key, o.VersionID, cond, req.bypassGovernance)
			if errors.Is(err, rpcerr.ErrObjectNotFound) && cond == nil {
				err = nil // deleting what is not there succeeds, unless a condition asked for it
			}
			results[i], done[i] = err, res
		}()
	}
	wg.Wait()

	out := deleteResult{XMLNS: s3XMLNS}
	for i, o := range objects {
		if results[i] == nil {
			if !quiet {
				e := deletedEntry{Key: o.Key, VersionID: o.VersionID}
				if done[i].GetDeleteMarker() {
					e.DeleteMarker, e.DeleteMarkerVersionID = true, done[i].GetVersionId()
				}
				out.Deleted = append(out.Deleted, e)
			}
			continue
		}
		e := toS3Error(results[i])
		msg := e.Message
		if msg == "" {
			msg = e.Code.Message
		}
		if e.Code.Status >= 500 && e.Code.Status != http.StatusNotImplemented {
			s.log.Error("DeleteObjects: key not deleted", "id", req.id, "bucket", req.bucket, "key", o.Key, "err", results[i])
		}
		out.Errors = append(out.Errors, deleteError{Key: o.Key, VersionID: o.VersionID, Code: e.Code.Name, Message: msg})
	}
	return writeXML(w, out)
}

// parseDeleteRequest decodes and validates a DeleteObjects body.
func parseDeleteRequest(body []byte) (objects []deleteObjectID, quiet bool, err error) {
	var dr deleteRequest
	if err := xml.Unmarshal(body, &dr); err != nil {
		return nil, false, s3err.Wrap(s3err.MalformedXML, err)
	}
	if len(dr.Objects) == 0 || len(dr.Objects) > maxDeleteKeys {
		return nil, false, s3err.New(s3err.MalformedXML, "")
	}
	switch strings.ToLower(strings.TrimSpace(dr.Quiet)) {
	case "", "false":
	case "true":
		quiet = true
	default:
		return nil, false, s3err.New(s3err.MalformedXML, "")
	}
	for _, o := range dr.Objects {
		if o.Key == "" {
			return nil, false, s3err.New(s3err.MalformedXML, "")
		}
	}
	return dr.Objects, quiet, nil
}

// checkDeleteTarget refuses, for one key, what the Index cannot do.
func checkDeleteTarget(o deleteObjectID) error {
	if len(o.Key) > maxKeyLength {
		return s3err.New(s3err.KeyTooLong, "")
	}
	return nil
}

// mayDeleteVersions reports whether the request's principal may delete
// specific versions in the request's bucket; it asks only when one of
// objects names a version.
func (s *Server) mayDeleteVersions(ctx context.Context, req *request, objects []deleteObjectID) (bool, error) {
	if req.who == nil || req.who.operator {
		return true, nil // authorize has already refused a request without a principal
	}
	for _, o := range objects {
		if o.VersionID != "" {
			return s.allowed(ctx, req, need{kind: needPerm, perm: policy.ObjectVersionDelete, bucket: req.bucket}, map[string]*cairnpb.Bucket{})
		}
	}
	return true, nil
}
