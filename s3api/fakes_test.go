package s3api

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
)

// fakeIndex is an in-memory Index for handler unit tests.
type fakeIndex struct {
	mu            sync.Mutex
	buckets       map[string]*cairnpb.Bucket
	objects       map[string]map[string]*cairnpb.ObjectVersion
	nodes         int
	mp            fakeMultipart // guarded by mu; see fakes_multipart_test.go
	reports       []*cairnpb.UnreadableReport
	shardProblems []*cairnpb.ShardProblem
}

func (f *fakeIndex) ReportShards(_ context.Context, ps []*cairnpb.ShardProblem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shardProblems = append(f.shardProblems, ps...)
	return nil
}

func (f *fakeIndex) ReportUnreadable(_ context.Context, r *cairnpb.UnreadableReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return nil
}

// unreadableReports returns the reports received so far.
func (f *fakeIndex) unreadableReports() []*cairnpb.UnreadableReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*cairnpb.UnreadableReport(nil), f.reports...)
}

func newFakeIndex(nodes int) *fakeIndex {
	return &fakeIndex{buckets: map[string]*cairnpb.Bucket{}, objects: map[string]map[string]*cairnpb.ObjectVersion{}, nodes: nodes}
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

func (f *fakeIndex) ClusterMap(context.Context, time.Duration) (*cairnpb.GetClusterMapResponse, error) {
	cm := &cairnpb.GetClusterMapResponse{}
	for i := 0; i < f.nodes; i++ {
		id := fmt.Sprintf("n%d", i)
		cm.Nodes = append(cm.Nodes, &cairnpb.DataNodeStatus{Healthy: true, Node: &cairnpb.DataNode{Id: id, Addr: id, Weight: 1}})
	}
	return cm, nil
}

// fakeShards keeps shards in memory, keyed by address and shard ID.
type fakeShards struct {
	mu     sync.Mutex
	shards map[string][][]byte
	failOn map[string]bool // addresses whose reads fail
}

func newFakeShards() *fakeShards {
	return &fakeShards{shards: map[string][][]byte{}, failOn: map[string]bool{}}
}

type fakeWriter struct {
	f      *fakeShards
	key    string
	blocks [][]byte
}

func (w *fakeWriter) WriteBlock(_ context.Context, _ int64, b []byte) error {
	w.blocks = append(w.blocks, append([]byte(nil), b...))
	return nil
}
func (w *fakeWriter) Commit() error {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.shards[w.key] = w.blocks
	return nil
}
func (w *fakeWriter) Abort() {}
func (w *fakeWriter) Digest() uint64 {
	d := erasure.NewDigest()
	for _, b := range w.blocks {
		d.Add(len(b), erasure.Checksum(b))
	}
	return d.Sum()
}
func (w *fakeWriter) Incarnation() uint64 { return 7 }

func (f *fakeShards) PutShard(_ context.Context, addr, id string) (model.ShardWriter, error) {
	return &fakeWriter{f: f, key: addr + "/" + id}, nil
}

type fakeReader struct {
	blocks [][]byte
	next   int64
}

func (r *fakeReader) ReadBlock(context.Context) ([]byte, error) {
	if r.next >= int64(len(r.blocks)) {
		return nil, fmt.Errorf("no block %d", r.next)
	}
	r.next++
	return r.blocks[r.next-1], nil
}
func (r *fakeReader) Close() error { return nil }

func (f *fakeShards) GetShard(_ context.Context, addr, id string, first int64, _ uint64, _ time.Duration) (erasure.BlockReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn[addr] {
		return nil, fmt.Errorf("node %s down", addr)
	}
	b, ok := f.shards[addr+"/"+id]
	if !ok {
		return nil, rpcerr.ErrShardNotFound
	}
	return &fakeReader{blocks: b, next: first}, nil
}

func (f *fakeShards) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shards)
}
