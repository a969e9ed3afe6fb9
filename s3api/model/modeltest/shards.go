package modeltest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
)

// Shards is a model.Shards keeping every committed shard in memory, keyed
// "<address>/<shard ID>". A node set down fails every read.
type Shards struct {
	mu     sync.Mutex
	shards map[string][][]byte
	down   map[string]bool
}

// NewShards returns empty data nodes.
func NewShards() *Shards {
	return &Shards{shards: map[string][][]byte{}, down: map[string]bool{}}
}

// Count is the number of shards kept.
func (f *Shards) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shards)
}

// SetDown makes the node at addr fail (or serve again) every read.
func (f *Shards) SetDown(addr string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[addr] = down
}

// Edit runs fn on the shards, keyed "<address>/<shard ID>", under the
// lock: to look at them, damage them or delete some.
func (f *Shards) Edit(fn func(shards map[string][][]byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.shards)
}

// PutShard opens a shard upload, kept on Commit.
func (f *Shards) PutShard(_ context.Context, addr, id string) (model.ShardWriter, error) {
	return &writer{f: f, key: addr + "/" + id}, nil
}

// GetShard reads a kept shard from block first; a missing one is
// rpcerr.ErrShardNotFound, as a data node answers.
func (f *Shards) GetShard(_ context.Context, addr, id string, first int64, _ uint64, _ time.Duration) (erasure.BlockReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[addr] {
		return nil, fmt.Errorf("node %s down", addr)
	}
	b, ok := f.shards[addr+"/"+id]
	if !ok {
		return nil, rpcerr.ErrShardNotFound
	}
	return &reader{blocks: b, next: first}, nil
}

type writer struct {
	f      *Shards
	key    string
	blocks [][]byte
}

func (w *writer) WriteBlock(_ context.Context, _ int64, b []byte) error {
	w.blocks = append(w.blocks, append([]byte(nil), b...))
	return nil
}

func (w *writer) Commit() error {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.shards[w.key] = w.blocks
	return nil
}

func (w *writer) Abort() {}

func (w *writer) Digest() uint64 {
	d := erasure.NewDigest()
	for _, b := range w.blocks {
		d.Add(len(b), erasure.Checksum(b))
	}
	return d.Sum()
}

func (w *writer) Incarnation() uint64 { return 7 }

type reader struct {
	blocks [][]byte
	next   int64
}

func (r *reader) ReadBlock(context.Context) ([]byte, error) {
	if r.next >= int64(len(r.blocks)) {
		return nil, fmt.Errorf("no block %d", r.next)
	}
	r.next++
	return r.blocks[r.next-1], nil
}

func (r *reader) Close() error { return nil }

// ClusterMap is the map Meta serves: n healthy data nodes
// "n0".."n<n-1>", each on a host of its own, at addresses equal to their
// IDs.
func ClusterMap(n int) *cairnpb.GetClusterMapResponse {
	cm := &cairnpb.GetClusterMapResponse{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i)
		cm.Nodes = append(cm.Nodes, &cairnpb.DataNodeStatus{Healthy: true, Node: &cairnpb.DataNode{Id: id, Addr: id, Weight: 1}})
	}
	return cm
}
