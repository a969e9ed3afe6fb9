package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/bufpool"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// MaxMessageSize is the gRPC message size limit the Data server accepts and
// sends: the limit its clients use.
const MaxMessageSize = dataclient.MaxMessageSize

// listPage is how many shards one ListShards response message carries.
const listPage = 1000

// Server implements cairnpb.DataServer over a Store. Its methods return
// domain errors (rpcerr sentinels, wrapped); served with ServerOptions,
// they leave as gRPC statuses made once by the rpcerr edge interceptors.
type Server struct {
	cairnpb.UnimplementedDataServer

	nodeID string
	store  *Store
	log    *slog.Logger
	peers  *dataclient.Pool // other data nodes, for RebuildShard
}

// NewServer returns a Data server for store, answering Health as nodeID.
// t secures its connections to other data nodes (RebuildShard); nil is
// plaintext.
func NewServer(nodeID string, store *Store, logger *slog.Logger, t *rpcauth.Transport) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{nodeID: nodeID, store: store, log: logger, peers: dataclient.New(t)}
}

// ServerOptions are the grpc.ServerOptions a Data server needs: message
// limits, a buffer pool and codec that never zero what they hand out
// (proto/bufpool), and the error edge (rpcerr.ServerOptions), which turns
// the domain errors the methods return into statuses once, on their way
// out. Chain any other interceptors after these.
func ServerOptions() []grpc.ServerOption {
	bufs := bufpool.New()
	return append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.InitialWindowSize(dataclient.StreamWindow), grpc.InitialConnWindowSize(dataclient.ConnWindow),
		grpc.ReadBufferSize(dataclient.ReadBuffer),
		experimental.BufferPool(bufs),
		grpc.ForceServerCodecV2(dataclient.NewCodec(bufs)),
	}, rpcerr.ServerOptions()...)
}

// GRPCStatus makes ErrClosed, wrapped or not, an UNAVAILABLE status
// without a Cairn reason: the node is going away, so clients try another
// (rpcerr.Retryable). It is not a sentinel of rpcerr's table because it
// says nothing about the request; the edge passes statuses unchanged.
func (errClosed) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, errClosed{}.Error())
}

// PutShard receives a header and then blocks 0..n-1. A block out of order
// is InvalidArgument; a block whose crc32c does not match its data is
// DataLoss (rpcerr.ErrChecksum). Nothing is visible unless the whole stream
// arrived and was committed.
func (s *Server) PutShard(stream grpc.ClientStreamingServer[cairnpb.PutShardRequest, cairnpb.PutShardResponse]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("put shard: empty stream: %w", rpcerr.ErrInvalidArgument)
	}
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return fmt.Errorf("put shard: first message must be the header: %w", rpcerr.ErrInvalidArgument)
	}
	id := hdr.GetShardId()
	var expect int64
	// Blocks are received into a frame that leaves each where gRPC put it
	// (node/dataclient.BlockFrame): the store copies a block before it
	// asks for the next, which is when the frame's buffer is reused.
	frame := dataclient.NewPutFrame()
	defer frame.Release()
	// Each block's checksum is computed once, here: the store keeps the
	// one that matched (PutBlocks).
	blocks := func(yield func(Block, error) bool) {
		for {
			err := stream.RecvMsg(frame)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(Block{}, fmt.Errorf("expected block %d: %w", expect, err))
				return
			}
			if !frame.HasBlock() {
				yield(Block{}, fmt.Errorf("expected block %d, got another header: %w", expect, rpcerr.ErrInvalidArgument))
				return
			}
			if frame.Index() != expect {
				yield(Block{}, fmt.Errorf("block %d out of order, expected %d: %w", frame.Index(), expect, rpcerr.ErrInvalidArgument))
				return
			}
			if got := erasure.Checksum(frame.Data()); got != frame.CRC() {
				yield(Block{}, fmt.Errorf("block %d arrived with crc32c %08x, data has %08x: %w", expect, frame.CRC(), got, rpcerr.ErrChecksum))
				return
			}
			if !yield(Block{Index: expect, Data: frame.Data(), CRC: frame.CRC()}, nil) {
				return
			}
			expect++
		}
	}
	info, err := s.store.PutBlocks(ctx, id, blocks, nil)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("put shard failed", "shard", id, "err", err)
		}
		return err
	}
	return stream.SendAndClose(&cairnpb.PutShardResponse{
		Blocks:      info.Blocks,
		Bytes:       info.Bytes,
		Digest:      info.Digest,
		Incarnation: s.store.Incarnation(),
	})
}

// GetShard streams the requested blocks as they are read and verified; the
// shard is never loaded whole. With expect_digest set, a shard whose index
// record has another digest is refused (DATA_LOSS) before any block.
func (s *Server) GetShard(req *cairnpb.GetShardRequest, stream grpc.ServerStreamingServer[cairnpb.GetShardResponse]) error {
	r, err := s.store.GetShardExpecting(stream.Context(), req.GetShardId(), req.GetFirstBlock(), req.GetBlockCount(), req.GetExpectDigest())
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// b.Data points into Pebble's buffers and is reused by the next
		// Next. That is safe: SendMsg marshals the message before it
		// returns, and this server installs no stats handler that would
		// keep the message.
		msg := &cairnpb.GetShardResponse{Block: &cairnpb.Block{Index: b.Index, Data: b.Data, Crc32C: b.CRC}}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// DeleteShard removes a shard; an unknown one is NotFound.
func (s *Server) DeleteShard(ctx context.Context, req *cairnpb.DeleteShardRequest) (*cairnpb.DeleteShardResponse, error) {
	if err := s.store.DeleteShard(ctx, req.GetShardId()); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteShardResponse{}, nil
}

// StatShard describes a shard; an unknown one is NotFound.
func (s *Server) StatShard(ctx context.Context, req *cairnpb.StatShardRequest) (*cairnpb.StatShardResponse, error) {
	info, err := s.store.StatShard(ctx, req.GetShardId())
	if err != nil {
		return nil, err
	}
	return &cairnpb.StatShardResponse{Info: shardInfoPB(info)}, nil
}

// StatShards describes those of the named shards this node holds, in ID
// order; more than MaxStatShards IDs is InvalidArgument.
func (s *Server) StatShards(ctx context.Context, req *cairnpb.StatShardsRequest) (*cairnpb.StatShardsResponse, error) {
	infos, err := s.store.StatShards(ctx, req.GetShardIds())
	if err != nil {
		return nil, err
	}
	out := make([]*cairnpb.ShardInfo, len(infos))
	for i, info := range infos {
		out[i] = shardInfoPB(info)
	}
	return &cairnpb.StatShardsResponse{Shards: out}, nil
}

// ListShards streams shards in ID order after start_after, up to limit
// (0: all), in messages of up to 1000 shards.
func (s *Server) ListShards(req *cairnpb.ListShardsRequest, stream grpc.ServerStreamingServer[cairnpb.ListShardsResponse]) error {
	if req.GetLimit() < 0 {
		return fmt.Errorf("list shards: negative limit: %w", rpcerr.ErrInvalidArgument)
	}
	page := make([]*cairnpb.ShardInfo, 0, listPage)
	for info, err := range s.store.ListShards(stream.Context(), req.GetStartAfter(), int(req.GetLimit())) {
		if err != nil {
			return err
		}
		page = append(page, shardInfoPB(info))
		if len(page) == listPage {
			if err := stream.Send(&cairnpb.ListShardsResponse{Shards: page}); err != nil {
				return err
			}
			page = make([]*cairnpb.ShardInfo, 0, listPage)
		}
	}
	if len(page) > 0 {
		return stream.Send(&cairnpb.ListShardsResponse{Shards: page})
	}
	return nil
}

// Health reports the node's identity (ID and the data directory's
// incarnation) and space: capacity is live bytes plus the disk space still
// available, used is live bytes.
func (s *Server) Health(ctx context.Context, _ *cairnpb.HealthRequest) (*cairnpb.HealthResponse, error) {
	u, err := s.store.Usage(ctx)
	if err != nil {
		return nil, err
	}
	return &cairnpb.HealthResponse{
		NodeId:        s.nodeID,
		CapacityBytes: u.Capacity(),
		UsedBytes:     u.LiveBytes,
		Shards:        u.Shards,
		Incarnation:   s.store.Incarnation(),
	}, nil
}

func shardInfoPB(info ShardInfo) *cairnpb.ShardInfo {
	return &cairnpb.ShardInfo{
		ShardId:         info.ID,
		Blocks:          info.Blocks,
		Bytes:           info.Bytes,
		CreatedUnixNano: info.Created.UnixNano(),
		Digest:          info.Digest,
	}
}
