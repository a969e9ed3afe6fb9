package s3api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

const (
	// bucketConfTTL is how long a bucket record read for the checks every
	// request makes (its policy and public access block, its CORS rules)
	// is used before it is read again. A change made through another
	// gateway takes effect here within it (docs/policies.md).
	bucketConfTTL = 2 * time.Second
	// bucketConfMax bounds the records kept; past it, the cache starts
	// over rather than track ages.
	bucketConfMax = 4096
)

// bucketConfs caches bucket records for the checks made on every request,
// so that they cost one meta read per bucket per bucketConfTTL rather
// than one per request. A bucket-level write through this gateway forgets
// its bucket (dispatch), so the next request here sees it; a bucket that
// does not exist is remembered as such for the same time.
type bucketConfs struct {
	index Index
	now   func() time.Time

	mu sync.Mutex
	m  map[bucketConfKey]bucketConf
}

type bucketConfKey struct{ ns, name string }

type bucketConf struct {
	b    *cairnpb.Bucket // nil: no such bucket
	read time.Time
}

func newBucketConfs(index Index, now func() time.Time) *bucketConfs {
	return &bucketConfs{index: index, now: now, m: map[bucketConfKey]bucketConf{}}
}

// get returns the bucket's record, at most bucketConfTTL old; a missing
// bucket wraps rpcerr.ErrBucketNotFound, as Index.GetBucket's does.
func (c *bucketConfs) get(ctx context.Context, ns, name string) (*cairnpb.Bucket, error) {
	k := bucketConfKey{ns, name}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || now.Sub(e.read) >= bucketConfTTL || now.Before(e.read) {
		b, err := c.index.GetBucket(ctx, ns, name)
		switch {
		case errors.Is(err, rpcerr.ErrBucketNotFound):
			b = nil
		case err != nil:
			return nil, err
		}
		e = bucketConf{b: b, read: now}
		c.mu.Lock()
		if len(c.m) >= bucketConfMax {
			clear(c.m)
		}
		c.m[k] = e
		c.mu.Unlock()
	}
	if e.b == nil {
		return nil, rpcerr.ErrBucketNotFound
	}
	return e.b, nil
}

// forget drops the bucket's record.
func (c *bucketConfs) forget(ns, name string) {
	c.mu.Lock()
	delete(c.m, bucketConfKey{ns, name})
	c.mu.Unlock()
}

// changesBucket reports whether a request may change its bucket's record:
// any bucket-level request but a read (create, delete, and every
// configuration: policy, public access block, CORS, versioning, lock,
// lifecycle, tags, ...). Decided by shape, so that a new configuration
// operation needs no entry anywhere.
func changesBucket(r *http.Request, req *request) bool {
	if req.bucket == "" || req.key != "" {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// BucketConfigIndex is how the gateway changes a bucket's configurations
// (CORS, lifecycle, policy, public access block, tags, versioning, object
// lock): one call for every kind, which meta applies as one command
// (meta/fsm/bucketconfig.go holds the kinds and their rules). They are
// read back with the bucket record (GetBucket, and bucketConfs above).
type BucketConfigIndex interface {
	// SetBucketConfig sets or removes cs on one bucket, in order, all or
	// none. A refusal wraps an rpcerr sentinel (a public policy under
	// BlockPublicPolicy: ErrPublicPolicyBlocked; versioning of a bucket
	// with object lock: ErrInvalidBucketState; ...).
	SetBucketConfig(ctx context.Context, ns, bucket string, cs ...*cairnpb.BucketConfig) error
}

// setBucketConfig sets c on the request's bucket and answers status with
// no body, as S3 answers a configuration's PUT or DELETE.
func (s *Server) setBucketConfig(ctx context.Context, w http.ResponseWriter, req *request, status int, c *cairnpb.BucketConfig) error {
	if err := s.cfg.Index.SetBucketConfig(ctx, req.ns, req.bucket, c); err != nil {
		return err
	}
	w.WriteHeader(status)
	return nil
}
