package s3api

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model/modeltest"
)

// fakeIndex is an in-memory Index for handler unit tests; the cluster map
// and the reports of reads are modeltest.Meta's.
type fakeIndex struct {
	*modeltest.Meta
	mu      sync.Mutex
	buckets map[string]*cairnpb.Bucket
	objects map[string]map[string]*cairnpb.ObjectVersion
	mp      fakeMultipart // guarded by mu; see fakes_multipart_test.go
	applied uint64        // configuration changes so far: the fake's Raft index
}

func newFakeIndex(nodes int) *fakeIndex {
	return &fakeIndex{Meta: modeltest.NewMeta(nodes), buckets: map[string]*cairnpb.Bucket{}, objects: map[string]map[string]*cairnpb.ObjectVersion{}}
}

func (f *fakeIndex) CreateBucket(_ context.Context, ns, name, _ string, objectLock bool) (*cairnpb.Bucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[name]; ok {
		return nil, rpcerr.ErrBucketExists
	}
	b := &cairnpb.Bucket{Namespace: ns, Name: name, CreatedUnixNano: time.Now().UnixNano(), ObjectLockEnabled: objectLock}
	if objectLock {
		b.Versioning = "Enabled"
	}
	f.buckets[name] = b
	f.objects[name] = map[string]*cairnpb.ObjectVersion{}
	return b, nil
}

func (f *fakeIndex) DeleteBucket(_ context.Context, _, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[name]; !ok {
		return rpcerr.ErrBucketNotFound
	}
	if len(f.objects[name]) > 0 {
		return rpcerr.ErrBucketNotEmpty
	}
	delete(f.buckets, name)
	return nil
}

func (f *fakeIndex) GetBucket(_ context.Context, _, name string) (*cairnpb.Bucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.buckets[name]; ok {
		return b, nil
	}
	return nil, rpcerr.ErrBucketNotFound
}

// SetBucketConfig changes a bucket's configurations by meta's own rules
// (fsm.ApplyBucketConfigs), on a copy of the record, so that a reader
// holding the old record sees it unchanged, as with meta.
func (f *fakeIndex) SetBucketConfig(_ context.Context, _, bucket string, cs ...*cairnpb.BucketConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	c := proto.Clone(b).(*cairnpb.Bucket)
	f.applied++
	if err := fsm.ApplyBucketConfigs(c, f.applied, cs); err != nil {
		return err
	}
	f.buckets[bucket] = c
	return nil
}

func (f *fakeIndex) ListBuckets(context.Context, string) ([]*cairnpb.Bucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*cairnpb.Bucket
	for _, b := range f.buckets {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeIndex) CommitObject(_ context.Context, _, bucket string, v *cairnpb.ObjectVersion) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	objs[v.Key] = proto.Clone(v).(*cairnpb.ObjectVersion)
	return nil
}

func (f *fakeIndex) GetObject(_ context.Context, _, bucket, key string) (*cairnpb.ObjectVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[bucket]
	if !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	v, ok := objs[key]
	if !ok {
		return nil, rpcerr.ErrObjectNotFound
	}
	return v, nil
}

func (f *fakeIndex) DeleteObject(_ context.Context, _, bucket, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	delete(objs, key)
	return nil
}

// ListObjects is a naive scan: fine for a fake.
func (f *fakeIndex) ListObjects(_ context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[req.Bucket]
	if !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	var keys []string
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	after := max(req.StartAfter, req.ContinuationToken)
	out := &cairnpb.ListObjectsResponse{}
	seen := map[string]bool{}
	for _, k := range keys {
		if k <= after || !strings.HasPrefix(k, req.Prefix) {
			continue
		}
		if len(out.Objects)+len(out.CommonPrefixes) == int(req.MaxKeys) {
			out.IsTruncated = true
			break
		}
		if req.Delimiter != "" {
			if i := strings.Index(k[len(req.Prefix):], req.Delimiter); i >= 0 {
				cp := k[:len(req.Prefix)+i+len(req.Delimiter)]
				if !seen[cp] {
					seen[cp] = true
					out.CommonPrefixes = append(out.CommonPrefixes, cp)
					out.NextContinuationToken = cp + "\xff"
				}
				continue
			}
		}
		v := objs[k]
		out.Objects = append(out.Objects, &cairnpb.ObjectSummary{Key: k, Size: v.Size, Etag: v.Etag, ModifiedUnixNano: v.ModifiedUnixNano})
		out.NextContinuationToken = k
	}
	if !out.IsTruncated {
		out.NextContinuationToken = ""
	}
	return out, nil
}

// fakeShards are in-memory data nodes (modeltest.Shards).
type fakeShards = modeltest.Shards

func newFakeShards() *fakeShards { return modeltest.NewShards() }
