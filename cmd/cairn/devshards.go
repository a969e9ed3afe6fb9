package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/s3api/model"
)

// localShards is the object model's way to the data stores of `cairn
// dev`, which run in the gateway's own process: their shards are written
// and read by calling the stores, with no loopback gRPC, TLS or
// protobuf in between. An address that is not one of them goes to
// remote. The checks that guard stored bytes stay: the store checks every
// block's CRC-32C as it reads, and refuses a shard whose digest is not the
// one the record names; the in-transit checks have no transit to guard.
// Only PutShard and GetShard cross, the two calls a gateway may make.
type localShards struct {
	stores map[string]*node.Store // by the address meta knows the node at
	remote model.Shards
}

func (l localShards) PutShard(ctx context.Context, addr, shardID string) (model.ShardWriter, error) {
	s, ok := l.stores[addr]
	if !ok {
		return l.remote.PutShard(ctx, addr, shardID)
	}
	return startLocalPut(ctx, s, addr, shardID), nil
}

func (l localShards) GetShard(ctx context.Context, addr, shardID string, firstBlock int64, expectDigest uint64, patience time.Duration) (erasure.BlockReader, error) {
	s, ok := l.stores[addr]
	if !ok {
		return l.remote.GetShard(ctx, addr, shardID, firstBlock, expectDigest, patience)
	}
	r, err := s.GetShardExpecting(ctx, shardID, firstBlock, 0, expectDigest)
	if err != nil {
		return nil, fmt.Errorf("get shard %q from %s (in process): %w", shardID, addr, err)
	}
	return &localReader{r: r, addr: addr}, nil
}

// localReader is a node.ShardReader as an erasure.BlockReader. A block's
// bytes stay valid until the next ReadBlock, which is all the
// BlockReader contract promises.
type localReader struct {
	r    *node.ShardReader
	addr string
}

func (lr *localReader) ReadBlock(context.Context) ([]byte, error) {
	b, err := lr.r.Next()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the decoder asks only for blocks that exist
	}
	if err != nil {
		return nil, fmt.Errorf("get shard %q from %s (in process): %w", lr.r.Info().ID, lr.addr, err)
	}
	return b.Data, nil
}

func (lr *localReader) Close() error { return lr.r.Close() }

// localWriter feeds the blocks WriteBlock is given to the store's
// PutShard, which pulls them from an iterator in a goroutine of its own.
// WriteBlock returns once the store has taken the block (it copies it),
// so the caller may reuse it, as over gRPC.
type localWriter struct {
	addr, id string
	ctx      context.Context // the store's PutShard's: Abort ends it
	cancel   context.CancelFunc
	blocks   chan []byte   // to the store; closed by Commit
	taken    chan struct{} // the store is done with the last block sent
	done     chan struct{} // PutShard returned: info and err are set
	info     node.ShardInfo
	err      error
	inc      uint64
}

func startLocalPut(ctx context.Context, s *node.Store, addr, id string) *localWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &localWriter{addr: addr, id: id, ctx: ctx, cancel: cancel, blocks: make(chan []byte), taken: make(chan struct{}),
		done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.info, w.err = s.PutShard(ctx, id, func(yield func([]byte, error) bool) {
			for {
				select {
				case b, ok := <-w.blocks:
					if !ok {
						return
					}
					more := yield(b, nil)
					w.taken <- struct{}{}
					if !more {
						return
					}
				case <-ctx.Done():
					yield(nil, ctx.Err())
					return
				}
			}
		})
		w.inc = s.Incarnation()
	}()
	return w
}

func (w *localWriter) WriteBlock(_ context.Context, index int64, block []byte) error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("put shard %q to %s (in process): block %d: %w", w.id, w.addr, index, err)
	}
	select {
	case w.blocks <- block:
	case <-w.done:
		return w.failed(fmt.Sprintf("block %d", index))
	}
	// Once the store has the block it answers on taken, even if it then
	// stops: the iterator sends before it returns.
	<-w.taken
	return nil
}

func (w *localWriter) failed(what string) error {
	err := w.err
	if err == nil {
		err = errors.New("the store stopped reading blocks")
	}
	return fmt.Errorf("put shard %q to %s (in process): %s: %w", w.id, w.addr, what, err)
}

func (w *localWriter) Commit() error {
	defer w.cancel()
	close(w.blocks)
	<-w.done
	if w.err != nil {
		return w.failed("commit")
	}
	return nil
}

// Abort discards the shard: the store's PutShard sees its context end
// and keeps nothing.
func (w *localWriter) Abort() { w.cancel() }

// Digest and Incarnation are the store's, after a successful Commit (0
// before). The store computed the digest from the very bytes it was
// handed, so unlike a remote writer there is no transit to check it
// against.
func (w *localWriter) Digest() uint64 { return w.result().Digest }

func (w *localWriter) Incarnation() uint64 { return w.result().inc }

type putResult struct{ Digest, inc uint64 }

func (w *localWriter) result() putResult {
	select {
	case <-w.done:
		if w.err == nil {
			return putResult{Digest: w.info.Digest, inc: w.inc}
		}
	default:
	}
	return putResult{}
}
