package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// MaxMsgSize bounds one gRPC message between gateway and data nodes; a
// block plus framing must fit.
const MaxMsgSize = 16 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrBadBlock: a data node sent a block whose bytes do not match the
// checksum sent with it.
var ErrBadBlock = errors.New("cluster: block failed its checksum in transit")

// recvWindow is the gRPC flow-control window of one shard stream.
const recvWindow = 1 << 20

// connectParams keep reconnects to a restarted node quick.
var connectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 3 * time.Second,
}

// Data pools one gRPC connection per data node address.
type Data struct {
	transport *rpcauth.Transport
	mu        sync.Mutex
	conns     map[string]*grpc.ClientConn
}

// NewData returns an empty pool whose connections t secures (nil:
// plaintext).
func NewData(t *rpcauth.Transport) *Data {
	return &Data{transport: t, conns: make(map[string]*grpc.ClientConn)}
}

// Close closes every pooled connection.
func (d *Data) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for a, c := range d.conns {
		errs = append(errs, c.Close())
		delete(d.conns, a)
	}
	return errors.Join(errs...)
}

// ErrUnreachable: a data node's connection could not be made ready.
var ErrUnreachable = errors.New("cluster: data node unreachable")

// Patience for a connection to become ready: a node the cluster map
// calls healthy gets Patient; one it calls unhealthy (which may just be a
// stale map) gets Brief, so a dead node costs little.
const (
	Patient = 2 * time.Second
	Brief   = 300 * time.Millisecond
)

// retryWait bounds the wait after a reconnect is forced on a failed
// connection. gRPC keeps such a connection in TRANSIENT_FAILURE until it
// is READY, so no other state change is to be expected.
const retryWait = 300 * time.Millisecond

// client returns a client for the node at addr whose connection is ready
// within patience. A node that was down and is back is tried at once
// rather than after gRPC's reconnect backoff; a node that refuses a fresh
// attempt fails fast.
func (d *Data) client(ctx context.Context, addr string, patience time.Duration) (cairnpb.DataClient, error) {
	c, err := d.conn(addr)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	retried := false
	for {
		st := c.GetState()
		wait := wctx
		switch st {
		case connectivity.Ready:
			return cairnpb.NewDataClient(c), nil
		case connectivity.Idle:
			c.Connect()
		case connectivity.TransientFailure:
			if retried {
				return nil, fmt.Errorf("%s: %w", addr, ErrUnreachable)
			}
			c.ResetConnectBackoff()
			retried = true
			var rcancel context.CancelFunc
			wait, rcancel = context.WithTimeout(wctx, retryWait)
			defer rcancel()
		case connectivity.Shutdown:
			return nil, fmt.Errorf("%s: connection shut down: %w", addr, ErrUnreachable)
		}
		if !c.WaitForStateChange(wait, st) {
			return nil, fmt.Errorf("%s: not ready within %s: %w", addr, patience, ErrUnreachable)
		}
	}
}

func (d *Data) conn(addr string) (*grpc.ClientConn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.conns[addr]; ok {
		return c, nil
	}
	c, err := grpc.NewClient(addr,
		d.transport.Dial(pki.RoleData),
		grpc.WithConnectParams(connectParams),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMsgSize), grpc.MaxCallSendMsgSize(MaxMsgSize)),
		// Flow control bounds what a data node may send ahead of the
		// client reading it: at most 1 MiB per shard stream and 4 MiB per
		// node, so gateway memory stays flat however many GETs run.
		grpc.WithInitialWindowSize(recvWindow), grpc.WithInitialConnWindowSize(4*recvWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("dial data node %s: %w", addr, err)
	}
	d.conns[addr] = c
	return c, nil
}

// ShardWriter streams one shard to one data node.
type ShardWriter struct {
	stream cairnpb.Data_PutShardClient
	cancel context.CancelFunc
}

// PutShard opens a put stream for shardID on the node at addr. The shard
// becomes durable and visible only after Commit; Abort (or ctx ending)
// discards it.
func (d *Data) PutShard(ctx context.Context, addr, shardID string) (*ShardWriter, error) {
	c, err := d.client(ctx, addr, Patient)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st, err := c.PutShard(sctx)
	if err != nil {
		cancel()
		return nil, rpcerr.FromStatus(err)
	}
	if err := st.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: shardID}}}); err != nil {
		cancel()
		return nil, fmt.Errorf("put shard %s to %s: %w", shardID, addr, rpcerr.FromStatus(err))
	}
	return &ShardWriter{stream: st, cancel: cancel}, nil
}

// WriteBlock sends one block; it does not keep block after returning.
func (w *ShardWriter) WriteBlock(_ context.Context, index int64, block []byte) error {
	err := w.stream.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{
		Index: index, Data: block, Crc32C: crc32.Checksum(block, castagnoli),
	}}})
	if errors.Is(err, io.EOF) {
		// The server ended the stream; its reason comes from RecvMsg.
		_, err = w.stream.CloseAndRecv()
	}
	return rpcerr.FromStatus(err)
}

// Commit closes the stream and waits for the node to make the shard durable.
func (w *ShardWriter) Commit() error {
	defer w.cancel()
	_, err := w.stream.CloseAndRecv()
	return rpcerr.FromStatus(err)
}

// Abort drops the stream; the node discards what it received.
func (w *ShardWriter) Abort() { w.cancel() }

// ShardReader streams blocks of one shard from one data node.
type ShardReader struct {
	stream cairnpb.Data_GetShardClient
	cancel context.CancelFunc
	next   int64
}

// GetShard opens a read stream of shardID from firstBlock to the end,
// waiting at most patience for the connection.
func (d *Data) GetShard(ctx context.Context, addr, shardID string, firstBlock int64, patience time.Duration) (*ShardReader, error) {
	c, err := d.client(ctx, addr, patience)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st, err := c.GetShard(sctx, &cairnpb.GetShardRequest{ShardId: shardID, FirstBlock: firstBlock})
	if err != nil {
		cancel()
		return nil, rpcerr.FromStatus(err)
	}
	return &ShardReader{stream: st, cancel: cancel, next: firstBlock}, nil
}

// ReadBlock returns the next block, checked against its checksum.
func (r *ShardReader) ReadBlock(context.Context) ([]byte, error) {
	m, err := r.stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("block %d: %w", r.next, io.ErrUnexpectedEOF)
		}
		return nil, rpcerr.FromStatus(err)
	}
	b := m.GetBlock()
	if b.GetIndex() != r.next {
		return nil, fmt.Errorf("got block %d, want %d: %w", b.GetIndex(), r.next, ErrBadBlock)
	}
	if crc32.Checksum(b.GetData(), castagnoli) != b.GetCrc32C() {
		return nil, fmt.Errorf("block %d: %w", r.next, ErrBadBlock)
	}
	r.next++
	return b.GetData(), nil
}

// Close ends the stream.
func (r *ShardReader) Close() error { r.cancel(); return nil }

// DeleteShard removes a shard from a node.
func (d *Data) DeleteShard(ctx context.Context, addr, shardID string) error {
	c, err := d.client(ctx, addr, Patient)
	if err != nil {
		return err
	}
	_, err = c.DeleteShard(ctx, &cairnpb.DeleteShardRequest{ShardId: shardID})
	return rpcerr.FromStatus(err)
}
