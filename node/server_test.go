package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// startServer serves a Data server over a memfs store on a loopback
// listener and returns a client for it.
func startServer(t *testing.T) (cairnpb.DataClient, *Store) {
	t.Helper()
	s := openMem(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(ServerOptions()...)
	cairnpb.RegisterDataServer(gs, NewServer("n1", s, testLogger(t), nil))
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cairnpb.NewDataClient(cc), s
}

func putReq(id string) *cairnpb.PutShardRequest {
	return &cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: id}}}
}

func blockReq(idx int64, data []byte, crc uint32) *cairnpb.PutShardRequest {
	return &cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{Index: idx, Data: data, Crc32C: crc}}}
}

// rpcPut streams msgs and returns the response or the stream's error.
func rpcPut(ctx context.Context, c cairnpb.DataClient, msgs ...*cairnpb.PutShardRequest) (*cairnpb.PutShardResponse, error) {
	st, err := c.PutShard(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			break // the server ended the stream; CloseAndRecv says why
		}
	}
	return st.CloseAndRecv()
}

func rpcGet(ctx context.Context, c cairnpb.DataClient, id string, first, count int64) ([]*cairnpb.Block, error) {
	st, err := c.GetShard(ctx, &cairnpb.GetShardRequest{ShardId: id, FirstBlock: first, BlockCount: count})
	if err != nil {
		return nil, err
	}
	var out []*cairnpb.Block
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m.GetBlock())
	}
}

func genPut(id string, seed uint64, n, size int) []*cairnpb.PutShardRequest {
	msgs := []*cairnpb.PutShardRequest{putReq(id)}
	for i := range n {
		d := blockData(seed, i, size)
		msgs = append(msgs, blockReq(int64(i), d, erasure.Checksum(d)))
	}
	return msgs
}

func wantCode(t *testing.T, what string, err error, code codes.Code, sentinel error) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: code %v (%v), want %v", what, status.Code(err), err, code)
	}
	if sentinel != nil && !errors.Is(rpcerr.FromStatus(err), sentinel) {
		t.Fatalf("%s: %v does not convert to %v", what, err, sentinel)
	}
}

func TestServerPutGetStatListDelete(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	const n, size = 20, 256 << 10
	resp, err := rpcPut(ctx, c, genPut("v9.2", 9, n, size)...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetBlocks() != n || resp.GetBytes() != n*size {
		t.Fatalf("put response %v", resp)
	}
	blocks, err := rpcGet(ctx, c, "v9.2", 0, 0)
	if err != nil || len(blocks) != n {
		t.Fatalf("get: %d blocks, %v", len(blocks), err)
	}
	for i, b := range blocks {
		if b.GetIndex() != int64(i) || !bytes.Equal(b.GetData(), blockData(9, i, size)) || b.GetCrc32C() != erasure.Checksum(b.GetData()) {
			t.Fatalf("block %d wrong", i)
		}
	}
	blocks, err = rpcGet(ctx, c, "v9.2", 7, 3)
	if err != nil || len(blocks) != 3 || blocks[0].GetIndex() != 7 || !bytes.Equal(blocks[2].GetData(), blockData(9, 9, size)) {
		t.Fatalf("range get: %d blocks, %v", len(blocks), err)
	}
	_, err = rpcGet(ctx, c, "v9.2", 19, 2)
	wantCode(t, "range past end", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)

	if _, err := rpcPut(ctx, c, genPut("v9.1", 8, 2, 100)...); err != nil {
		t.Fatal(err)
	}
	st, err := c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: "v9.2"})
	if err != nil || st.GetInfo().GetBlocks() != n || st.GetInfo().GetBytes() != n*size || st.GetInfo().GetCreatedUnixNano() != fixedClock()().UnixNano() {
		t.Fatalf("stat %v %v", st, err)
	}
	ls, err := c.ListShards(ctx, &cairnpb.ListShardsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		m, err := ls.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.GetShards() {
			ids = append(ids, s.GetShardId())
		}
	}
	if len(ids) != 2 || ids[0] != "v9.1" || ids[1] != "v9.2" {
		t.Fatalf("list %v", ids)
	}
	h, err := c.Health(ctx, &cairnpb.HealthRequest{})
	if err != nil || h.GetNodeId() != "n1" || h.GetShards() != 2 || h.GetUsedBytes() != n*size+200 {
		t.Fatalf("health %v %v", h, err)
	}

	if _, err := c.DeleteShard(ctx, &cairnpb.DeleteShardRequest{ShardId: "v9.2"}); err != nil {
		t.Fatal(err)
	}
	_, err = rpcGet(ctx, c, "v9.2", 0, 0)
	wantCode(t, "get deleted", err, codes.NotFound, rpcerr.ErrShardNotFound)
	_, err = c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: "v9.2"})
	wantCode(t, "stat deleted", err, codes.NotFound, rpcerr.ErrShardNotFound)
	_, err = c.DeleteShard(ctx, &cairnpb.DeleteShardRequest{ShardId: "v9.2"})
	wantCode(t, "delete deleted", err, codes.NotFound, rpcerr.ErrShardNotFound)
}

func TestServerLargeBlocks(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	const size = 4<<20 + 1234
	if _, err := rpcPut(ctx, c, genPut("big", 4, 3, size)...); err != nil {
		t.Fatal(err)
	}
	blocks, err := rpcGet(ctx, c, "big", 0, 0)
	if err != nil || len(blocks) != 3 || !bytes.Equal(blocks[1].GetData(), blockData(4, 1, size)) {
		t.Fatalf("get: %d blocks, %v", len(blocks), err)
	}
}

func TestServerRejectsOutOfOrderBlock(t *testing.T) {
	c, s := startServer(t)
	ctx := context.Background()
	msgs := genPut("ooo", 1, 4, 1000)
	msgs[3], msgs[2] = msgs[2], msgs[3] // blocks 0, 2, 1, 3
	_, err := rpcPut(ctx, c, msgs...)
	wantCode(t, "out of order", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
	_, err = c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: "ooo"})
	wantCode(t, "stat after rejected put", err, codes.NotFound, rpcerr.ErrShardNotFound)
	if n := blockKeyCount(t, s); n != 0 {
		t.Fatalf("%d block keys left", n)
	}
	// Starting at 1 is out of order too.
	_, err = rpcPut(ctx, c, putReq("ooo"), blockReq(1, []byte("x"), erasure.Checksum([]byte("x"))))
	wantCode(t, "first block 1", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
}

func TestServerRejectsBadCRC(t *testing.T) {
	c, s := startServer(t)
	ctx := context.Background()
	msgs := genPut("crc", 1, 12, 256<<10) // spills to an sstable first
	b := msgs[10].GetBlock()
	b.Crc32C ^= 1
	_, err := rpcPut(ctx, c, msgs...)
	wantCode(t, "bad crc", err, codes.DataLoss, rpcerr.ErrChecksum)
	// A missing checksum (0) is not "not sent": it must match too.
	_, err = rpcPut(ctx, c, putReq("crc0"), blockReq(0, []byte("data"), 0))
	wantCode(t, "zero crc", err, codes.DataLoss, rpcerr.ErrChecksum)
	for _, id := range []string{"crc", "crc0"} {
		_, err = c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: id})
		wantCode(t, "stat after rejected put", err, codes.NotFound, rpcerr.ErrShardNotFound)
	}
	if n := blockKeyCount(t, s); n != 0 {
		t.Fatalf("%d block keys left", n)
	}
	if f := tmpFiles(t, s); len(f) != 0 {
		t.Fatalf("scratch files left: %v", f)
	}
	// An empty block's checksum is 0, and that is fine.
	if _, err := rpcPut(ctx, c, putReq("empty-block"), blockReq(0, nil, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestServerRejectsMalformedStreams(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	_, err := rpcPut(ctx, c)
	wantCode(t, "empty stream", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
	_, err = rpcPut(ctx, c, blockReq(0, nil, 0))
	wantCode(t, "no header", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
	_, err = rpcPut(ctx, c, putReq("h"), putReq("h"))
	wantCode(t, "two headers", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
	_, err = rpcPut(ctx, c, putReq(""))
	wantCode(t, "empty shard ID", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
}

func TestServerCorruptedReadIsDataLoss(t *testing.T) {
	c, s := startServer(t)
	ctx := context.Background()
	if _, err := rpcPut(ctx, c, genPut("bad", 3, 5, 64<<10)...); err != nil {
		t.Fatal(err)
	}
	corruptStoredCRC(t, s, "bad", 2)
	blocks, err := rpcGet(ctx, c, "bad", 0, 0)
	wantCode(t, "corrupted get", err, codes.DataLoss, rpcerr.ErrChecksum)
	if len(blocks) != 2 {
		t.Fatalf("%d blocks streamed before the bad one, want 2", len(blocks))
	}
	for i, b := range blocks {
		if !bytes.Equal(b.GetData(), blockData(3, i, 64<<10)) {
			t.Fatalf("block %d wrong", i)
		}
	}
	if rpcerr.Reason(err) != "CHECKSUM_MISMATCH" {
		t.Fatalf("reason %q", rpcerr.Reason(err))
	}
}

func TestServerClientCancelLeavesNothing(t *testing.T) {
	c, s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.PutShard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range genPut("gone", 1, 10, 256<<10) {
		if err := st.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The server notices the cancellation asynchronously.
		if s.seqInFlightCount() == 0 && len(tmpFiles(t, s)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("put still in flight after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.StatShard(context.Background(), "gone"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat: %v", err)
	}
	if n := blockKeyCount(t, s); n != 0 {
		t.Fatalf("%d block keys left", n)
	}
}

// TestClosedStoreIsUnavailable: calls to a node whose store is closed
// answer UNAVAILABLE with no Cairn reason, unary and streaming alike, so
// clients try another node.
func TestClosedStoreIsUnavailable(t *testing.T) {
	c, s := startServer(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, statErr := c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: "a"})
	_, getErr := rpcGet(ctx, c, "a", 0, 0)
	for what, err := range map[string]error{"stat": statErr, "get": getErr} {
		wantCode(t, what, err, codes.Unavailable, nil)
		if rpcerr.Reason(err) != "" || !rpcerr.Retryable(rpcerr.FromStatus(err)) || !strings.Contains(err.Error(), ErrClosed.Error()) {
			t.Fatalf("%s: %v (reason %q), want a retryable status saying the store is closed", what, err, rpcerr.Reason(err))
		}
	}
}
