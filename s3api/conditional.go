package s3api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// ConditionalIndex commits versions under a write condition. Meta checks
// the condition in the same Raft apply that commits the version, so of
// racing conditional writes at most one wins: a failed condition is
// rpcerr.ErrPreconditionFailed, an If-Match on a missing key
// rpcerr.ErrObjectNotFound.
type ConditionalIndex interface {
	CommitObjectIf(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) error
}

// parseWriteCondition reads If-Match and If-None-Match of a write
// (PutObject, CopyObject's destination, CompleteMultipartUpload): each
// takes "*" or an ETag, and both may be given, every one then having to
// hold. nil means the write is unconditional.
func parseWriteCondition(h http.Header) (*cairnpb.WriteCondition, error) {
	im, inm := h.Get("If-Match"), h.Get("If-None-Match")
	if im == "" && inm == "" {
		return nil, nil
	}
	c := &cairnpb.WriteCondition{}
	if err := parseIfMatch(im, c); err != nil {
		return nil, err
	}
	switch etag := model.NormalizeETag(inm); {
	case inm == "":
	case etag == "*":
		c.IfNoneMatch = true
	case etag == "":
		return nil, s3err.New(s3err.InvalidArgument, "If-None-Match must be * or an ETag.")
	default:
		c.IfNoneMatchEtag = etag
	}
	return c, nil
}

// parseIfMatch sets c from an If-Match value: "*" (the key must have a
// current version) or an ETag (its ETag must be this one).
func parseIfMatch(im string, c *cairnpb.WriteCondition) error {
	switch etag := model.NormalizeETag(im); {
	case im == "":
	case etag == "*":
		c.IfMatchAny = true
	case etag == "":
		return s3err.New(s3err.InvalidArgument, "If-Match must be * or an ETag.")
	default:
		c.IfMatchEtag = etag
	}
	return nil
}

// parseDeleteCondition reads DeleteObject's If-Match ("*" or an ETag),
// decided against the key's current version. The If-Match forms on
// modification time and size are S3's for directory buckets only.
func parseDeleteCondition(h http.Header) (*cairnpb.WriteCondition, error) {
	for _, name := range []string{"x-amz-if-match-last-modified-time", "x-amz-if-match-size"} {
		if h.Get(name) != "" {
			return nil, s3err.New(s3err.NotImplemented, fmt.Sprintf("%s is not supported: S3 takes it only for directory buckets.", name))
		}
	}
	im := h.Get("If-Match")
	if im == "" {
		return nil, nil
	}
	c := &cairnpb.WriteCondition{}
	if err := parseIfMatch(im, c); err != nil {
		return nil, err
	}
	return c, nil
}

// holds decides cond against v (nil: no current version) as meta will
// (cairnpb.WriteCondition.Against), to refuse early.
func holds(cond *cairnpb.WriteCondition, v *cairnpb.ObjectVersion) error {
	switch cond.Against(v) {
	case cairnpb.ConditionFails:
		return rpcerr.ErrPreconditionFailed
	case cairnpb.ConditionNoObject:
		return rpcerr.ErrObjectNotFound
	}
	return nil
}

// checkEarly refuses a conditional write whose condition the key's
// current version already fails, before any data moves; the commit
// decides again, atomically.
func (s *Server) checkEarly(ctx context.Context, req *request, cond *cairnpb.WriteCondition) error {
	if cond == nil {
		return nil
	}
	cur, err := s.cfg.Index.GetObject(ctx, req.ns, req.bucket, req.key)
	if errors.Is(err, rpcerr.ErrObjectNotFound) {
		cur, err = nil, nil
	}
	if err != nil {
		return err
	}
	return holds(cond, cur)
}

// writeOptions are PutObject's tags, write condition and object lock.
type writeOptions struct {
	cond *cairnpb.WriteCondition
	tags map[string]string
	lock *cairnpb.ObjectLock
}

// putOptions parses x-amz-tagging and the write condition of a PutObject.
// A conditional write of more than the inline threshold is checked against
// the current version before any data moves, so a doomed write is refused
// cheaply; the commit checks again, atomically.
func (s *Server) putOptions(ctx context.Context, r *http.Request, req *request, size int64) (writeOptions, error) {
	var opts writeOptions
	var err error
	if opts.tags, err = parseTaggingHeader(r.Header); err != nil {
		return opts, err
	}
	if opts.cond, err = parseWriteCondition(r.Header); err != nil || size <= s.cfg.InlineThreshold {
		return opts, err
	}
	return opts, s.checkEarly(ctx, req, opts.cond)
}

// commitVersion commits v with the request's tags, under its condition if
// it has one, and returns its S3 version ID (empty in a bucket without
// versioning). A version refused by its condition was never committed (a
// retried commit of a version that went through passes); its shards are
// orphans that meta's reconciliation reclaims.
func (s *Server) commitVersion(ctx context.Context, req *request, v *cairnpb.ObjectVersion, opts writeOptions) (string, error) {
	v.Tags = opts.tags
	v.Lock = opts.lock
	return s.cfg.Index.CommitVersion(ctx, req.ns, req.bucket, v, opts.cond)
}
