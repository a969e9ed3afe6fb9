package dataclient_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// A shard written with ShardWriter to a real data node reads back byte for
// byte with ShardReader, from the start and from a later block, and shows
// up in Stat and List until it is deleted. Sizes cover the node's batch
// path (a small shard), its sstable path, and blocks larger than the
// flow-control window of a stream.
func TestShardRoundTripAgainstNode(t *testing.T) {
	ctx := testContext(t)
	addr := startNode(t)
	p := newPool(t)
	if err := p.WaitReady(ctx, addr, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id      string
		n, size int
	}{
		{"small", 3, 1000},
		{"sstable", 24, 64 << 10},
		{"big-blocks", 3, 4 << 20},
	}
	for i, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			want := blocks(uint64(i), tc.n, tc.size)
			w, err := p.PutShard(ctx, addr, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for j, b := range want {
				if err := w.WriteBlock(ctx, int64(j), b); err != nil {
					t.Fatalf("write block %d: %v", j, err)
				}
				total += int64(len(b))
			}
			if err := w.Commit(); err != nil {
				t.Fatalf("commit: %v", err)
			}

			info, err := p.StatShard(ctx, addr, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if info.GetBlocks() != int64(tc.n) || info.GetBytes() != total {
				t.Fatalf("stat: %d blocks, %d bytes; want %d, %d", info.GetBlocks(), info.GetBytes(), tc.n, total)
			}

			r, err := p.GetShard(ctx, addr, tc.id, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for j := range want {
				got, err := r.Next()
				if err != nil {
					t.Fatalf("block %d: %v", j, err)
				}
				if !bytes.Equal(got, want[j]) {
					t.Fatalf("block %d differs", j)
				}
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the last block: %v, want io.EOF", err)
			}

			// As an erasure.BlockReader from a later block: the end of the
			// shard is unexpected.
			var br erasure.BlockReader
			br, err = p.GetShard(ctx, addr, tc.id, int64(tc.n-1), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer br.Close()
			if got, err := br.ReadBlock(ctx); err != nil || !bytes.Equal(got, want[tc.n-1]) {
				t.Fatalf("ReadBlock of the last block: %d bytes, %v", len(got), err)
			}
			if _, err := br.ReadBlock(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("ReadBlock past the end: %v, want io.ErrUnexpectedEOF", err)
			}

			// As an erasure.BlockLender: every block lent stays whole
			// while later ones are read, until it is released.
			var bl erasure.BlockLender
			bl, err = p.GetShard(ctx, addr, tc.id, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer bl.Close()
			lent := make([][]byte, 0, tc.n)
			releases := make([]func(), 0, tc.n)
			for j := range want {
				b, release, err := bl.LendBlock(ctx)
				if err != nil {
					t.Fatalf("LendBlock %d: %v", j, err)
				}
				lent, releases = append(lent, b), append(releases, release)
			}
			for j, b := range lent {
				if !bytes.Equal(b, want[j]) {
					t.Fatalf("lent block %d changed while %d later blocks were read", j, tc.n-1-j)
				}
				releases[j]()
			}
			if _, _, err := bl.LendBlock(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("LendBlock past the end: %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}

	var listed []string
	for s, err := range p.ListShards(ctx, addr, "") {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, s.GetShardId())
	}
	if want := []string{"big-blocks", "small", "sstable"}; !equal(listed, want) {
		t.Fatalf("listed %v, want %v", listed, want)
	}
	listed = listed[:0]
	for s, err := range p.ListShards(ctx, addr, "big-blocks") {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, s.GetShardId())
		break // stopping early ends the stream
	}
	if !equal(listed, []string{"small"}) {
		t.Fatalf("listed after big-blocks, first only: %v", listed)
	}

	if err := p.DeleteShard(ctx, addr, "small"); err != nil {
		t.Fatal(err)
	}
	_, err := p.StatShard(ctx, addr, "small")
	if !errors.Is(err, rpcerr.ErrShardNotFound) || status.Code(err) != codes.NotFound {
		t.Fatalf("stat of a deleted shard: %v (code %s), want ErrShardNotFound", err, status.Code(err))
	}
	if err := p.DeleteShard(ctx, addr, "small"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("second delete: %v, want ErrShardNotFound", err)
	}
	// A stream's error arrives with its first Recv, not with the open.
	r, err := p.GetShard(ctx, addr, "small", 0, 0)
	if err == nil {
		defer r.Close()
		_, err = r.Next()
	}
	if !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("read of a deleted shard: %v, want ErrShardNotFound", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An aborted shard, or one the node refuses (a block out of order), never
// becomes visible, and the node's reason comes back as its sentinel.
func TestShardWriterAbortAndRefusal(t *testing.T) {
	ctx := testContext(t)
	addr := startNode(t)
	p := newPool(t)

	w, err := p.PutShard(ctx, addr, "aborted")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBlock(ctx, 0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := p.StatShard(ctx, addr, "aborted"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat after abort: %v, want ErrShardNotFound", err)
	}

	w, err = p.PutShard(ctx, addr, "refused")
	if err != nil {
		t.Fatal(err)
	}
	err = w.WriteBlock(ctx, 1, []byte("out of order"))
	for i := int64(2); err == nil && i < 1000; i++ {
		// The node ends the stream; a write notices once it has.
		err = w.WriteBlock(ctx, i, []byte("more"))
	}
	if err == nil {
		err = w.Commit()
	} else {
		w.Abort()
	}
	if !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("out-of-order block: %v, want ErrInvalidArgument", err)
	}
	if _, err := p.StatShard(ctx, addr, "refused"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat of a refused shard: %v, want ErrShardNotFound", err)
	}
}

// rogueNode answers GetShard with the blocks it is given, as given, then
// with fail (nil: a clean end).
type rogueNode struct {
	cairnpb.UnimplementedDataServer
	blocks []*cairnpb.Block
	fail   error
}

func (n *rogueNode) GetShard(_ *cairnpb.GetShardRequest, st grpc.ServerStreamingServer[cairnpb.GetShardResponse]) error {
	for _, b := range n.blocks {
		if err := st.Send(&cairnpb.GetShardResponse{Block: b}); err != nil {
			return err
		}
	}
	return n.fail
}

func block(i int64, data string) *cairnpb.Block {
	return &cairnpb.Block{Index: i, Data: []byte(data), Crc32C: erasure.Checksum([]byte(data))}
}

// The reader hands out good blocks and refuses, for good, a block damaged
// in transit or out of order; a node's own DATA_LOSS arrives as
// rpcerr.ErrChecksum.
func TestShardReaderDetectsBadBlocks(t *testing.T) {
	ctx := testContext(t)
	damaged := block(1, "bytes the node checksummed")
	damaged.Data[0] ^= 0x40

	cases := []struct {
		name    string
		node    *rogueNode
		wantErr []error
	}{
		{"corrupt", &rogueNode{blocks: []*cairnpb.Block{block(0, "fine"), damaged, block(2, "never read")}},
			[]error{dataclient.ErrBadBlock, rpcerr.ErrChecksum}},
		{"skipped", &rogueNode{blocks: []*cairnpb.Block{block(0, "fine"), block(2, "a block too far")}},
			[]error{dataclient.ErrBadBlock, rpcerr.ErrChecksum}},
		{"data loss on the node", &rogueNode{blocks: []*cairnpb.Block{block(0, "fine")}, fail: rpcerr.ErrChecksum},
			[]error{rpcerr.ErrChecksum}},
		{"short", &rogueNode{blocks: []*cairnpb.Block{block(0, "fine")}},
			[]error{io.ErrUnexpectedEOF}},
	}
	p := newPool(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.node)
			r, err := p.GetShard(ctx, addr, "s", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.ReadBlock(ctx)
			if err != nil || string(got) != "fine" {
				t.Fatalf("first block: %q, %v", got, err)
			}
			got, err = r.ReadBlock(ctx)
			if got != nil {
				t.Fatalf("second read returned %q with error %v; want no bytes", got, err)
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("second read: %v, want it to wrap %v", err, want)
				}
			}
			if again, err2 := r.ReadBlock(ctx); again != nil || err2 == nil {
				t.Fatalf("read after a failure: %q, %v; want the error again", again, err2)
			}
		})
	}
}

// WaitReady gives up on a node nobody listens on within its patience, with
// ErrUnreachable; a closed pool makes no new connections.
func TestWaitReadyAndClose(t *testing.T) {
	ctx := testContext(t)
	dead := deadAddr(t)

	p := dataclient.New(nil)
	start := time.Now()
	err := p.WaitReady(ctx, dead, 300*time.Millisecond)
	if !errors.Is(err, dataclient.ErrUnreachable) {
		t.Fatalf("WaitReady on a dead address: %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("WaitReady took %s with a patience of 300ms", d)
	}

	live := startNode(t)
	if err := p.WaitReady(ctx, live, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PutShard(ctx, live, "x"); !errors.Is(err, dataclient.ErrClosed) {
		t.Fatalf("PutShard on a closed pool: %v, want ErrClosed", err)
	}
	if err := p.WaitReady(ctx, live, time.Second); !errors.Is(err, dataclient.ErrClosed) {
		t.Fatalf("WaitReady on a closed pool: %v, want ErrClosed", err)
	}
}

// A node that refused the reconnect WaitReady forced costs the next
// impatient callers nothing: they fail at once until a second has passed.
// A node that comes back at the address is found again by a patient one.
func TestWaitReadyFailsFastOnARecentlyDeadNode(t *testing.T) {
	ctx := testContext(t)
	dead := deadAddr(t)

	p := newPool(t)
	if err := p.WaitReady(ctx, dead, 2*time.Second); !errors.Is(err, dataclient.ErrUnreachable) {
		t.Fatalf("first WaitReady on a dead address: %v, want ErrUnreachable", err)
	}
	for i := range 5 {
		start := time.Now()
		err := p.WaitReady(ctx, dead, 300*time.Millisecond)
		if !errors.Is(err, dataclient.ErrUnreachable) {
			t.Fatalf("WaitReady %d on a dead address: %v, want ErrUnreachable", i, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("WaitReady %d right after a refused reconnect took %s, want an immediate failure", i, d)
		}
	}

	startNodeStoreAt(t, dead)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := p.WaitReady(ctx, dead, 2*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node back at %s was not found: %v", dead, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Against a real node, the digest a ShardWriter computes is the one the
// node records (Commit checks it) and reports through StatShard,
// StatShards and ListShards; the writer learns the directory's
// incarnation. A read naming another digest is refused with
// rpcerr.ErrChecksum before any block; naming the right one, or none, it
// reads.
func TestShardDigestsAgainstNode(t *testing.T) {
	ctx := testContext(t)
	addr, store := startNodeStore(t)
	p := newPool(t)
	want := blocks(7, 4, 3000)
	w, err := p.PutShard(ctx, addr, "d")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range want {
		if err := w.WriteBlock(ctx, int64(i), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	digest := w.Digest()
	if w.Incarnation() == 0 || w.Incarnation() != store.Incarnation() {
		t.Fatalf("writer's incarnation %016x, the node's %016x", w.Incarnation(), store.Incarnation())
	}
	info, err := p.StatShard(ctx, addr, "d")
	if err != nil || info.GetDigest() != digest {
		t.Fatalf("stat: %v, %v; want digest %016x", info, err, digest)
	}
	infos, err := p.StatShards(ctx, addr, []string{"absent", "d"})
	if err != nil || len(infos) != 1 || infos[0].GetShardId() != "d" || infos[0].GetDigest() != digest {
		t.Fatalf("stat shards: %v, %v", infos, err)
	}
	for s, err := range p.ListShards(ctx, addr, "") {
		if err != nil || s.GetDigest() != digest {
			t.Fatalf("list: %v, %v", s, err)
		}
	}

	r, err := p.GetShard(ctx, addr, "d", 0, digest^0xff)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Next()
	r.Close()
	if got != nil || !errors.Is(err, rpcerr.ErrChecksum) || status.Code(err) != codes.DataLoss {
		t.Fatalf("read naming another digest: %d bytes, %v (code %s); want DATA_LOSS and no bytes", len(got), err, status.Code(err))
	}
	for _, expect := range []uint64{digest, 0} {
		r, err := p.GetShard(ctx, addr, "d", 0, expect)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			b, err := r.Next()
			if err != nil || !bytes.Equal(b, want[i]) {
				t.Fatalf("read expecting %016x, block %d: %v", expect, i, err)
			}
		}
		r.Close()
	}
}

// lyingNode takes a shard and answers with the digest it is given.
type lyingNode struct {
	cairnpb.UnimplementedDataServer
	digest uint64
}

func (n *lyingNode) PutShard(st grpc.ClientStreamingServer[cairnpb.PutShardRequest, cairnpb.PutShardResponse]) error {
	for {
		if _, err := st.Recv(); errors.Is(err, io.EOF) {
			return st.SendAndClose(&cairnpb.PutShardResponse{Blocks: 1, Bytes: 3, Digest: n.digest, Incarnation: 42})
		} else if err != nil {
			return err
		}
	}
}

// Commit refuses a node that says it stored another digest than the one
// of the blocks sent; a node that reports none (0) is not checked.
func TestShardWriterChecksNodeDigest(t *testing.T) {
	ctx := testContext(t)
	p := newPool(t)
	for _, tc := range []struct {
		name   string
		digest uint64
		ok     bool
	}{{"lying", 0x1234, false}, {"silent", 0, true}} {
		addr := serve(t, &lyingNode{digest: tc.digest})
		w, err := p.PutShard(ctx, addr, "s")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteBlock(ctx, 0, []byte("abc")); err != nil {
			t.Fatal(err)
		}
		err = w.Commit()
		if tc.ok && err != nil {
			t.Fatalf("%s: commit: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, rpcerr.ErrChecksum) {
			t.Fatalf("%s: commit: %v, want ErrChecksum", tc.name, err)
		}
		if tc.ok && w.Incarnation() != 42 {
			t.Fatalf("%s: incarnation %d, want 42", tc.name, w.Incarnation())
		}
	}
}
