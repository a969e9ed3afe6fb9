package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Rebuilding shards for the repair engine.
//
// The meta leader decides what to rebuild and where; the byte work happens
// here, on the node that will hold the new shard: it streams the shard
// from a source of the same index when there is one (a drain), or else
// reads K other shards of the unit from its peers, reconstructs the
// missing one stripe by stripe with package erasure and stores it. Memory
// is one stripe buffer plus Pebble's batch or sstable writer, whatever the
// shard's size. Shards hold sealed bytes, so no keys are needed.

// peers pools client connections to other data nodes.
type peers struct {
	transport *rpcauth.Transport
	mu        sync.Mutex
	conns     map[string]*grpc.ClientConn
}

func newPeers(t *rpcauth.Transport) *peers {
	return &peers{transport: t, conns: map[string]*grpc.ClientConn{}}
}

func (p *peers) client(addr string) (cairnpb.DataClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cc, ok := p.conns[addr]; ok {
		return cairnpb.NewDataClient(cc), nil
	}
	cc, err := grpc.NewClient(addr, p.transport.Dial(pki.RoleData),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)))
	if err != nil {
		return nil, fmt.Errorf("node: dial peer %s: %w", addr, err)
	}
	p.conns[addr] = cc
	return cairnpb.NewDataClient(cc), nil
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, cc := range p.conns {
		_ = cc.Close()
		delete(p.conns, a)
	}
}

// remoteBlocks reads one peer shard as erasure.BlockReader, checking every
// block's CRC-32C.
type remoteBlocks struct {
	stream grpc.ServerStreamingClient[cairnpb.GetShardResponse]
	cancel context.CancelFunc
	next   int64
}

func (p *peers) open(ctx context.Context, src *cairnpb.RebuildSource, first int64) (*remoteBlocks, error) {
	c, err := p.client(src.GetAddr())
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st, err := c.GetShard(sctx, &cairnpb.GetShardRequest{ShardId: src.GetShardId(), FirstBlock: first})
	if err != nil {
		cancel()
		return nil, rpcerr.FromStatus(err)
	}
	return &remoteBlocks{stream: st, cancel: cancel, next: first}, nil
}

func (r *remoteBlocks) ReadBlock(context.Context) ([]byte, error) {
	m, err := r.stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("block %d: %w", r.next, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return nil, rpcerr.FromStatus(err)
	}
	b := m.GetBlock()
	if b.GetIndex() != r.next {
		return nil, fmt.Errorf("got block %d, want %d: %w", b.GetIndex(), r.next, rpcerr.ErrChecksum)
	}
	if checksum(b.GetData()) != b.GetCrc32C() {
		return nil, fmt.Errorf("block %d arrived damaged: %w", r.next, rpcerr.ErrChecksum)
	}
	r.next++
	return b.GetData(), nil
}

func (r *remoteBlocks) Close() error {
	r.cancel()
	return nil
}

// RebuildShard makes req.shard_id on this node: a copy from a source of the
// same index if that works, else a reconstruction from the other sources.
func (s *Server) RebuildShard(ctx context.Context, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	resp, err := s.rebuild(ctx, req)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("rebuild shard failed", "shard", req.GetShardId(), "index", req.GetIndex(), "err", err)
		}
		return nil, toStatus(err)
	}
	return resp, nil
}

func (s *Server) rebuild(ctx context.Context, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	sc := req.GetScheme()
	coder, err := erasure.New(int(sc.GetData()), int(sc.GetParity()), int(sc.GetBlockSize()))
	if err != nil {
		return nil, fmt.Errorf("node: rebuild %q: %w: %w", req.GetShardId(), rpcerr.ErrInvalidArgument, err)
	}
	target := int(req.GetIndex())
	if err := validShardID(req.GetShardId()); err != nil {
		return nil, err
	}
	if target < 0 || target >= coder.K()+coder.M() {
		return nil, fmt.Errorf("node: rebuild: index %d outside %d+%d: %w", target, coder.K(), coder.M(), rpcerr.ErrInvalidArgument)
	}
	byIndex := map[int]*cairnpb.RebuildSource{}
	for _, src := range req.GetSources() {
		byIndex[int(src.GetIndex())] = src
	}

	// The unit's shard geometry, from the first source that answers.
	var layout erasure.Layout
	var found bool
	var statErr []error
	for _, src := range req.GetSources() {
		c, err := s.peers.client(src.GetAddr())
		if err != nil {
			statErr = append(statErr, err)
			continue
		}
		st, err := c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: src.GetShardId()})
		if err != nil {
			statErr = append(statErr, rpcerr.FromStatus(err))
			continue
		}
		layout, err = coder.LayoutOfShard(st.GetInfo().GetBlocks(), st.GetInfo().GetBytes())
		if err != nil {
			statErr = append(statErr, err)
			continue
		}
		found = true
		break
	}
	if !found {
		return nil, fmt.Errorf("node: rebuild %q: no source answered: %w", req.GetShardId(), errors.Join(append(statErr, erasure.ErrTooManyFailures)...))
	}

	if src, ok := byIndex[target]; ok {
		info, err := s.store.PutShard(ctx, req.GetShardId(), s.copyBlocks(ctx, src))
		if err == nil {
			if err := checkRebuilt(info, layout); err != nil {
				return nil, err
			}
			s.store.ctr.shardsRebuilt.Add(1)
			return &cairnpb.RebuildShardResponse{Blocks: info.Blocks, Bytes: info.Bytes, Copied: true}, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		s.log.Info("copy of shard failed; reconstructing it", "shard", req.GetShardId(), "from", src.GetAddr(), "err", err)
	}

	open := func(ctx context.Context, shard int, first int64) (erasure.BlockReader, error) {
		src, ok := byIndex[shard]
		if !ok || shard == target {
			return nil, fmt.Errorf("shard %d: no source", shard)
		}
		return s.peers.open(ctx, src, first)
	}
	info, err := s.store.PutShard(ctx, req.GetShardId(), coder.Rebuild(ctx, layout, open, target))
	if err != nil {
		return nil, err
	}
	if err := checkRebuilt(info, layout); err != nil {
		return nil, err
	}
	s.store.ctr.shardsRebuilt.Add(1)
	return &cairnpb.RebuildShardResponse{Blocks: info.Blocks, Bytes: info.Bytes}, nil
}

// checkRebuilt verifies a rebuilt shard's geometry against the layout.
func checkRebuilt(info ShardInfo, l erasure.Layout) error {
	if info.Blocks != l.Stripes() || info.Bytes != l.ShardSize() {
		return fmt.Errorf("node: rebuilt shard %q has %d blocks, %d bytes; want %d, %d: %w",
			info.ID, info.Blocks, info.Bytes, l.Stripes(), l.ShardSize(), rpcerr.ErrChecksum)
	}
	return nil
}

// copyBlocks streams a peer's shard, verified block by block.
func (s *Server) copyBlocks(ctx context.Context, src *cairnpb.RebuildSource) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		r, err := s.peers.open(ctx, src, 0)
		if err != nil {
			yield(nil, err)
			return
		}
		defer r.Close()
		for {
			m, err := r.stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, rpcerr.FromStatus(err))
				return
			}
			b := m.GetBlock()
			if b.GetIndex() != r.next || checksum(b.GetData()) != b.GetCrc32C() {
				yield(nil, fmt.Errorf("copy: block %d arrived damaged or out of order: %w", r.next, rpcerr.ErrChecksum))
				return
			}
			r.next++
			if !yield(b.GetData(), nil) {
				return
			}
		}
	}
}
