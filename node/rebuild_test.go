package node

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// collectWriter keeps the blocks Encode hands it.
type collectWriter struct{ blocks [][]byte }

func (w *collectWriter) WriteBlock(_ context.Context, _ int64, b []byte) error {
	w.blocks = append(w.blocks, bytes.Clone(b))
	return nil
}

func startPeer(t *testing.T) (string, *Store) {
	t.Helper()
	s := openMem(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(ServerOptions()...)
	cairnpb.RegisterDataServer(gs, NewServer("peer", s, testLogger(t), nil))
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String(), s
}

// RebuildShard reconstructs a lost shard (data or parity) from K peers,
// byte for byte what Encode wrote, and copies a shard from a draining
// holder when one is given.
func TestServerRebuildShardReconstructsAndCopies(t *testing.T) {
	const k, m, bs = 4, 2, 4096
	coder, err := erasure.New(k, m, bs)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3*k*bs+777)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ws := make([]*collectWriter, k+m)
	bw := make([]erasure.BlockWriter, k+m)
	for i := range ws {
		ws[i] = &collectWriter{}
		bw[i] = ws[i]
	}
	if _, err := coder.Encode(context.Background(), bytes.NewReader(data), bw, k+m); err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, k+m)
	for i := range ws {
		addr, st := startPeer(t)
		addrs[i] = addr
		mustPut(t, st, shardName(i), sliceBlocks(ws[i].blocks))
	}
	target, tstore := startServer(t)
	scheme := &cairnpb.ErasureScheme{Data: k, Parity: m, BlockSize: bs}
	for _, lost := range []int{1, 5} {
		var srcs []*cairnpb.RebuildSource
		for i := range ws {
			if i != lost && i != (lost+2)%(k+m) { // a second shard is down too
				srcs = append(srcs, &cairnpb.RebuildSource{Index: int32(i), ShardId: shardName(i), Addr: addrs[i]})
			}
		}
		resp, err := target.RebuildShard(context.Background(), &cairnpb.RebuildShardRequest{
			ShardId: shardName(lost), Index: int32(lost), Scheme: scheme, Sources: srcs,
		})
		if err != nil {
			t.Fatalf("rebuild shard %d: %v", lost, err)
		}
		if resp.GetCopied() {
			t.Fatalf("shard %d: copied, want reconstructed", lost)
		}
		got, err := readAll(tstore, shardName(lost), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ws[lost].blocks) {
			t.Fatalf("shard %d: %d blocks, want %d", lost, len(got), len(ws[lost].blocks))
		}
		for j := range got {
			if !bytes.Equal(got[j], ws[lost].blocks[j]) {
				t.Fatalf("shard %d block %d differs", lost, j)
			}
		}
	}
	// A drain: the holder of the same index is a source, so it is copied.
	srcs := []*cairnpb.RebuildSource{{Index: 2, ShardId: shardName(2), Addr: addrs[2]}}
	resp, err := target.RebuildShard(context.Background(), &cairnpb.RebuildShardRequest{
		ShardId: shardName(2), Index: 2, Scheme: scheme, Sources: srcs,
	})
	if err != nil || !resp.GetCopied() {
		t.Fatalf("copy: %v, %v", resp, err)
	}
	checkBlocks(t, tstore, shardName(2), ws[2].blocks)
}

func shardName(i int) string { return "v1." + string(rune('0'+i)) }

func checkBlocks(t *testing.T, s *Store, id string, want [][]byte) {
	t.Helper()
	got, err := readAll(s, id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d blocks, want %d", id, len(got), len(want))
	}
	for j := range got {
		if !bytes.Equal(got[j], want[j]) {
			t.Fatalf("%s block %d differs", id, j)
		}
	}
}

// blocksDigest is the shard digest of blocks.
func blocksDigest(blocks [][]byte) uint64 {
	d := erasure.NewDigest()
	for _, b := range blocks {
		d.Add(len(b), erasure.Checksum(b))
	}
	return d.Sum()
}

// RebuildShard keeps a shard only if it matches expect_digest: a rebuild
// to another digest is DATA_LOSS and leaves nothing. A copy source whose
// digest is not the recorded one (a wrong record, or another shard held
// under that ID) is given up for reconstruction from the others. The
// response carries the digest and the incarnation.
func TestServerRebuildShardChecksDigests(t *testing.T) {
	const k, m, bs = 3, 2, 1024
	coder, err := erasure.New(k, m, bs)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 5*k*bs+99)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ws := make([]*collectWriter, k+m)
	bw := make([]erasure.BlockWriter, k+m)
	for i := range ws {
		ws[i] = &collectWriter{}
		bw[i] = ws[i]
	}
	if _, err := coder.Encode(context.Background(), bytes.NewReader(data), bw, k+m); err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, k+m)
	stores := make([]*Store, k+m)
	digests := make([]uint64, k+m)
	for i := range ws {
		addrs[i], stores[i] = startPeer(t)
		digests[i] = mustPut(t, stores[i], shardName(i), sliceBlocks(ws[i].blocks)).Digest
		if digests[i] != blocksDigest(ws[i].blocks) {
			t.Fatalf("shard %d: stored digest %016x, want %016x", i, digests[i], blocksDigest(ws[i].blocks))
		}
	}
	sources := func(copyDigest uint64) []*cairnpb.RebuildSource {
		var srcs []*cairnpb.RebuildSource
		for i := range ws {
			d := digests[i]
			if i == 1 {
				d = copyDigest
			}
			srcs = append(srcs, &cairnpb.RebuildSource{Index: int32(i), ShardId: shardName(i), Addr: addrs[i], Digest: d})
		}
		return srcs
	}
	target, tstore := startServer(t)
	scheme := &cairnpb.ErasureScheme{Data: k, Parity: m, BlockSize: bs}
	rebuild := func(expect uint64, srcs []*cairnpb.RebuildSource) (*cairnpb.RebuildShardResponse, error) {
		return target.RebuildShard(context.Background(), &cairnpb.RebuildShardRequest{
			ShardId: shardName(1), Index: 1, Scheme: scheme, Sources: srcs, ExpectDigest: expect,
		})
	}

	// Another digest expected: neither the copy nor the reconstruction is kept.
	_, err = rebuild(digests[1]^1, sources(digests[1]))
	wantCode(t, "rebuild to another digest", err, codes.DataLoss, rpcerr.ErrChecksum)
	if _, err := tstore.StatShard(context.Background(), shardName(1)); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("after a refused rebuild: %v, want ErrShardNotFound", err)
	}
	if n := blockKeyCount(t, tstore); n != 0 {
		t.Fatalf("a refused rebuild left %d block keys", n)
	}

	// The copy source has no digest on record, and the one the request
	// names is wrong: the copy arrives but is refused here.
	info, err := stores[1].StatShard(context.Background(), shardName(1))
	if err != nil {
		t.Fatal(err)
	}
	putV1Index(t, stores[1], info)
	before := tstore.Counters().DigestMismatches
	resp, err := rebuild(digests[1], sources(digests[1]^1))
	if err != nil || resp.GetCopied() || resp.GetDigest() != digests[1] || resp.GetIncarnation() != tstore.Incarnation() {
		t.Fatalf("rebuild past a copy with a wrong digest: %v, %v", resp, err)
	}
	if got := tstore.Counters().DigestMismatches; got != before+1 {
		t.Fatalf("target's digest mismatches %d, want %d", got, before+1)
	}
	checkBlocks(t, tstore, shardName(1), ws[1].blocks)
	if err := tstore.DeleteShard(context.Background(), shardName(1)); err != nil {
		t.Fatal(err)
	}

	// The copy source holds another shard under the ID: it refuses to
	// send it.
	mustPut(t, stores[1], shardName(1), sliceBlocks(ws[0].blocks))
	resp, err = rebuild(digests[1], sources(digests[1]))
	if err != nil || resp.GetCopied() || resp.GetDigest() != digests[1] {
		t.Fatalf("rebuild past a copy source holding another shard: %v, %v", resp, err)
	}
	if got := stores[1].Counters().DigestMismatches; got != 1 {
		t.Fatalf("copy source's digest mismatches %d, want 1", got)
	}
	checkBlocks(t, tstore, shardName(1), ws[1].blocks)

	// A sound copy source is copied.
	mustPut(t, stores[1], shardName(1), sliceBlocks(ws[1].blocks))
	resp, err = rebuild(digests[1], sources(digests[1]))
	if err != nil || !resp.GetCopied() || resp.GetDigest() != digests[1] || resp.GetIncarnation() != tstore.Incarnation() {
		t.Fatalf("copy: %v, %v", resp, err)
	}
	checkBlocks(t, tstore, shardName(1), ws[1].blocks)
}
