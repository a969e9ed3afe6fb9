package s3api

import (
	"context"
	"errors"
	"net/http"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
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

// parseWriteCondition reads If-Match and If-None-Match of PutObject and
// CompleteMultipartUpload. S3 takes "If-None-Match: *" or an If-Match
// ETag, one of them at a time; any other use of the headers on a write is
// NotImplemented. nil means the write is unconditional.
func parseWriteCondition(h http.Header) (*cairnpb.WriteCondition, error) {
	im, inm := h.Get("If-Match"), h.Get("If-None-Match")
	switch {
	case im == "" && inm == "":
		return nil, nil
	case im != "" && inm != "":
		return nil, s3err.New(s3err.NotImplemented, "")
	case inm != "":
		if inm != "*" {
			return nil, s3err.New(s3err.NotImplemented, "")
		}
		return &cairnpb.WriteCondition{IfNoneMatch: true}, nil
	}
	etag := normalizeETag(im)
	if etag == "*" || etag == "" {
		return nil, s3err.New(s3err.NotImplemented, "")
	}
	return &cairnpb.WriteCondition{IfMatchEtag: etag}, nil
}

// holds decides cond against v (nil: no current version) the way meta
// will, to refuse early.
func holds(cond *cairnpb.WriteCondition, v *cairnpb.ObjectVersion) error {
	switch {
	case cond.GetIfNoneMatch() && v != nil:
		return rpcerr.ErrPreconditionFailed
	case cond.GetIfMatchEtag() != "" && v == nil:
		return rpcerr.ErrObjectNotFound
	case cond.GetIfMatchEtag() != "" && v.GetEtag() != cond.GetIfMatchEtag():
		return rpcerr.ErrPreconditionFailed
	}
	return nil
}

// writeOptions are PutObject's tags and write condition.
type writeOptions struct {
	cond *cairnpb.WriteCondition
	tags map[string]string
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
	if opts.cond, err = parseWriteCondition(r.Header); err != nil || opts.cond == nil || size <= s.cfg.InlineThreshold {
		return opts, err
	}
	cur, err := s.cfg.Index.GetObject(ctx, req.ns, req.bucket, req.key)
	if errors.Is(err, rpcerr.ErrObjectNotFound) {
		cur, err = nil, nil
	}
	if err != nil {
		return opts, err
	}
	return opts, holds(opts.cond, cur)
}

// commitVersion commits v with the request's tags, under its condition if
// it has one, and returns its S3 version ID (empty in a bucket without
// versioning). A version refused by its condition was never committed (a
// retried commit of a version that went through passes); its shards are
// orphans that meta's reconciliation reclaims.
func (s *Server) commitVersion(ctx context.Context, req *request, v *cairnpb.ObjectVersion, opts writeOptions) (string, error) {
	v.Tags = opts.tags
	return s.cfg.Index.CommitVersion(ctx, req.ns, req.bucket, v, opts.cond)
}
