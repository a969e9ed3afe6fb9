package node

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"testing"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
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
