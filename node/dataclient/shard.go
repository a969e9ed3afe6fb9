package dataclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// ErrBadBlock: a data node sent a block whose bytes do not match the
// checksum sent with it, or a block out of order. It wraps
// rpcerr.ErrChecksum, so it is DATA_LOSS when passed on over gRPC.
var ErrBadBlock = fmt.Errorf("dataclient: block failed its checksum in transit: %w", rpcerr.ErrChecksum)

// ShardWriter streams one shard to one data node. It is not safe for
// concurrent use.
type ShardWriter struct {
	stream cairnpb.Data_PutShardClient
	cancel context.CancelFunc
	addr   string
	id     string
	digest *erasure.DigestBuilder // over the blocks sent
	result *cairnpb.PutShardResponse
}

// PutShard opens a put stream for shardID on the node at addr and sends
// its header. The shard becomes durable and visible only after Commit;
// Abort (or ctx ending) discards it.
func (p *Pool) PutShard(ctx context.Context, addr, shardID string) (*ShardWriter, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st, err := c.PutShard(sctx)
	if err == nil {
		err = st.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: shardID}}})
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dataclient: put shard %q to %s: %w", shardID, addr, rpcerr.FromStatus(err))
	}
	return &ShardWriter{stream: st, cancel: cancel, addr: addr, id: shardID, digest: erasure.NewDigest()}, nil
}

// WriteBlock sends block index with its checksum. It does not keep block
// after returning. When ctx ends first (a send blocked on a node that
// stopped reading, given up by erasure.Coder.EncodeWith), the stream is
// dropped, as by Abort.
func (w *ShardWriter) WriteBlock(ctx context.Context, index int64, block []byte) error {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, w.cancel)
		defer stop()
	}
	crc := erasure.Checksum(block)
	w.digest.Add(len(block), crc)
	err := w.stream.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{
		Index: index, Data: block, Crc32C: crc,
	}}})
	if errors.Is(err, io.EOF) {
		// The server ended the stream; its reason comes from RecvMsg.
		_, err = w.stream.CloseAndRecv()
	}
	if err != nil {
		return fmt.Errorf("dataclient: put shard %q to %s: block %d: %w", w.id, w.addr, index, rpcerr.FromStatus(err))
	}
	return nil
}

// Commit closes the stream and waits for the node to make the shard
// durable. A node that reports a digest other than the one of the blocks
// sent is an error wrapping rpcerr.ErrChecksum (the shard is then not to
// be recorded).
func (w *ShardWriter) Commit() error {
	defer w.cancel()
	resp, err := w.stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("dataclient: put shard %q to %s: commit: %w", w.id, w.addr, rpcerr.FromStatus(err))
	}
	if d := resp.GetDigest(); d != 0 && d != w.digest.Sum() {
		return fmt.Errorf("dataclient: put shard %q to %s: the node stored digest %016x, the blocks sent make %016x: %w",
			w.id, w.addr, d, w.digest.Sum(), rpcerr.ErrChecksum)
	}
	w.result = resp
	return nil
}

// Digest is the shard digest of the blocks sent so far (erasure.DigestBuilder).
func (w *ShardWriter) Digest() uint64 { return w.digest.Sum() }

// Incarnation is the incarnation of the data directory the shard became
// durable in, as the node reported it; 0 before a successful Commit or
// from a node that does not report one.
func (w *ShardWriter) Incarnation() uint64 { return w.result.GetIncarnation() }

// Abort drops the stream; the node discards what it received.
func (w *ShardWriter) Abort() { w.cancel() }

// getShardDesc is GetShard's stream in the generated service description
// (TestGetShardDesc checks it is found).
func getShardDesc() *grpc.StreamDesc {
	for i, d := range cairnpb.Data_ServiceDesc.Streams {
		if d.StreamName == "GetShard" {
			return &cairnpb.Data_ServiceDesc.Streams[i]
		}
	}
	return &grpc.StreamDesc{StreamName: "GetShard", ServerStreams: true}
}

// ShardReader streams the blocks of one shard from one data node, each
// checked against its CRC-32C. It implements erasure.BlockLender. It is
// not safe for concurrent use.
type ShardReader struct {
	stream grpc.ClientStream
	frame  BlockFrame // the last block returned, until the next Next or Close
	cancel context.CancelFunc
	addr   string
	id     string
	next   int64
	err    error // sticky: a reader that failed is not read again
}

// GetShard opens a read stream of shardID on the node at addr, from block
// first to the end of the shard. A non-zero expectDigest makes the node
// refuse (rpcerr.ErrChecksum) a shard whose digest is another: one that is
// self-consistent but not the shard that was recorded. Close it when done.
func (p *Pool) GetShard(ctx context.Context, addr, shardID string, first int64, expectDigest uint64) (*ShardReader, error) {
	cc, err := p.conn(addr)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	// The generated client would decode each block into a new message;
	// the stream is opened by hand so that blocks arrive as blockFrames.
	st, err := cc.NewStream(sctx, getShardDesc(), cairnpb.Data_GetShard_FullMethodName, grpc.StaticMethod())
	if err == nil {
		err = st.SendMsg(&cairnpb.GetShardRequest{ShardId: shardID, FirstBlock: first, ExpectDigest: expectDigest})
	}
	if err == nil {
		err = st.CloseSend()
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dataclient: get shard %q from %s: %w", shardID, addr, rpcerr.FromStatus(err))
	}
	return &ShardReader{stream: st, frame: newGetFrame(), cancel: cancel, addr: addr, id: shardID, next: first}, nil
}

// Next returns the next block of the shard, or io.EOF after its last
// block. The block's bytes are valid until the next call to Next or Close
// (they are the buffer the block was received in). A block that fails its checksum or arrives out of order is an
// error wrapping ErrBadBlock; its bytes are never returned. After any
// error, Next returns that error again.
func (r *ShardReader) Next() ([]byte, error) {
	return r.recv(&r.frame)
}

// recv receives the next block into f, checked as Next says.
func (r *ShardReader) recv(f *BlockFrame) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	err := r.stream.RecvMsg(f)
	if errors.Is(err, io.EOF) {
		f.Release()
		r.err = io.EOF
		return nil, io.EOF
	}
	switch b := f; {
	case err != nil:
		err = rpcerr.FromStatus(err)
	case b.Index() != r.next:
		err = fmt.Errorf("got block %d: %w", b.Index(), ErrBadBlock)
	case erasure.Checksum(b.Data()) != b.CRC():
		err = ErrBadBlock
	default:
		r.next++
		return b.Data(), nil
	}
	f.Release()
	r.err = fmt.Errorf("dataclient: get shard %q from %s: block %d: %w", r.id, r.addr, r.next, err)
	return nil, r.err
}

// ReadBlock returns the next block, as Next does, for erasure.Decode and
// erasure.Coder.Rebuild: they ask only for blocks that must exist, so the
// end of the shard is io.ErrUnexpectedEOF.
func (r *ShardReader) ReadBlock(context.Context) ([]byte, error) {
	return r.expectBlock(r.Next())
}

// expectBlock turns the end of the shard into io.ErrUnexpectedEOF, for
// callers that ask only for blocks that must exist.
func (r *ShardReader) expectBlock(b []byte, err error) ([]byte, error) {
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("dataclient: get shard %q from %s: block %d: %w", r.id, r.addr, r.next, io.ErrUnexpectedEOF)
	}
	return b, err
}

// LendBlock returns the next block, as ReadBlock does, in a buffer of its
// own that stays valid until release is called, however many blocks are
// read meanwhile: erasure.Decode writes blocks out from where they were
// received instead of copying them into its stripe (erasure.BlockLender).
func (r *ShardReader) LendBlock(ctx context.Context) ([]byte, func(), error) {
	f := newGetFrame()
	b, err := r.expectBlock(r.recv(&f))
	if err != nil {
		return nil, nil, err
	}
	return b, f.Release, nil
}

// Close ends the stream and releases the last block.
func (r *ShardReader) Close() error {
	r.cancel()
	r.frame.Release()
	return nil
}
