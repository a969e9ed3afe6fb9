package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Block is one block of a shard with its CRC-32C: verified when a
// ShardReader returns it, vouched for by the caller when given to
// PutBlocks.
type Block struct {
	Index int64
	// Data is valid until the next call to ShardReader.Next or Close.
	Data []byte
	// CRC is the CRC-32C of Data.
	CRC uint32
}

// ShardReader streams verified blocks of one shard. It holds a Pebble
// iterator (and a share of the store's lifetime) until Close.
type ShardReader struct {
	s         *Store
	ctx       context.Context
	it        *pebble.Iterator
	info      ShardInfo
	next      int64 // index of the next block to return
	remaining int64
	started   bool
	key       [blockKeyLen]byte
	err       error
	closed    bool
}

// GetShard opens blocks [first, first+count) of shard id for reading;
// count 0 means to the end. An unknown shard is rpcerr.ErrShardNotFound, a
// range outside the shard rpcerr.ErrInvalidArgument. The reader sees the
// shard as it was when GetShard was called, even if it is overwritten or
// deleted meanwhile. The caller must Close it.
func (s *Store) GetShard(ctx context.Context, id string, first, count int64) (*ShardReader, error) {
	if err := validShardID(id); err != nil {
		return nil, err
	}
	if first < 0 || count < 0 {
		return nil, fmt.Errorf("node: get shard %q: negative range [%d,+%d): %w", id, first, count, rpcerr.ErrInvalidArgument)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	r, err := s.openReader(ctx, id, first, count)
	if err != nil {
		s.exit()
		return nil, err
	}
	return r, nil
}

// GetShardExpecting is GetShard that also refuses, before any block, a
// shard whose recorded digest is not expectDigest (rpcerr.ErrChecksum; 0
// checks nothing): a self-consistent shard that is not the one the
// caller's record names. The Data service and in-process callers (cairn
// dev's gateway) read through it.
func (s *Store) GetShardExpecting(ctx context.Context, id string, first, count int64, expectDigest uint64) (*ShardReader, error) {
	r, err := s.GetShard(ctx, id, first, count)
	if err != nil {
		return nil, err
	}
	if err := s.digestMismatch(r.Info().ID, expectDigest, r.Info().Digest, "stored"); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

func (s *Store) openReader(ctx context.Context, id string, first, count int64) (*ShardReader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One iterator serves the index lookup and the blocks, so both come
	// from the same view of the database.
	ik := indexKey(id)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: ik, UpperBound: indexKeyEnd(id)})
	if err != nil {
		return nil, fmt.Errorf("node: get shard %q: %w", id, err)
	}
	info, err := readIndexAt(s, it, id)
	if err != nil {
		_ = it.Close()
		return nil, err
	}
	if first > info.Blocks || (count > 0 && count > info.Blocks-first) {
		_ = it.Close()
		return nil, fmt.Errorf("node: get shard %q: range [%d,+%d) outside %d blocks: %w",
			id, first, count, info.Blocks, rpcerr.ErrInvalidArgument)
	}
	if count == 0 {
		count = info.Blocks - first
	}
	if count > 0 {
		it.SetBounds(appendBlockKey(nil, info.seq, first), appendBlockKey(nil, info.seq, first+count))
	}
	return &ShardReader{s: s, ctx: ctx, it: it, info: info, next: first, remaining: count}, nil
}

func readIndexAt(s *Store, it *pebble.Iterator, id string) (ShardInfo, error) {
	if !it.SeekGE(indexKey(id)) {
		if err := it.Error(); err != nil {
			return ShardInfo{}, s.dataLoss(id, -1, fmt.Errorf("read index: %w", err))
		}
		return ShardInfo{}, fmt.Errorf("node: shard %q: %w", id, rpcerr.ErrShardNotFound)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return ShardInfo{}, s.dataLoss(id, -1, fmt.Errorf("read index: %w", err))
	}
	info, err := decodeIndex(id, v)
	if err != nil {
		return ShardInfo{}, s.dataLoss(id, -1, err)
	}
	return info, nil
}

// Info returns the shard's index record.
func (r *ShardReader) Info() ShardInfo { return r.info }

// Next returns the next block, verified against its checksum, or io.EOF
// after the last block of the range. A block that fails verification (or
// cannot be read at all) ends the stream with an error wrapping
// rpcerr.ErrChecksum; its bytes are never returned.
func (r *ShardReader) Next() (Block, error) {
	if r.err != nil {
		return Block{}, r.err
	}
	if r.remaining == 0 {
		return Block{}, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return Block{}, err
	}
	if ref := (blockRef{r.info.seq, r.next}); r.s.knownBad(ref) {
		r.s.ctr.checksumFailures.Add(1)
		r.s.log.Debug("read of a block known to be damaged", "shard", r.info.ID, "block", r.next)
		r.err = fmt.Errorf("node: shard %q block %d: %w: failed verification before", r.info.ID, r.next, rpcerr.ErrChecksum)
		return Block{}, r.err
	}
	var ok bool
	if !r.started {
		ok = r.it.First()
		r.started = true
	} else {
		ok = r.it.Next()
	}
	b, err := r.current(ok)
	if err != nil {
		if errors.Is(err, rpcerr.ErrChecksum) {
			r.s.markBad(r.info.ID, blockRef{r.info.seq, r.next})
		}
		r.err = err
		return Block{}, err
	}
	r.next++
	r.remaining--
	r.s.ctr.blocksRead.Add(1)
	r.s.ctr.bytesRead.Add(uint64(len(b.Data)))
	return b, nil
}

func (r *ShardReader) current(ok bool) (Block, error) {
	id, idx := r.info.ID, r.next
	if !ok {
		if err := r.it.Error(); err != nil {
			return Block{}, r.readFailure(err)
		}
		return Block{}, r.s.dataLoss(id, idx, errors.New("block missing"))
	}
	want := appendBlockKey(r.key[:0], r.info.seq, idx)
	if !bytes.Equal(r.it.Key(), want) {
		return Block{}, r.s.dataLoss(id, idx, fmt.Errorf("block missing (found key %x)", r.it.Key()))
	}
	v, err := r.it.ValueAndErr()
	if err != nil {
		return Block{}, r.readFailure(err)
	}
	if len(v) < crcLen {
		return Block{}, r.s.dataLoss(id, idx, fmt.Errorf("value of %d bytes has no checksum", len(v)))
	}
	stored := binary.BigEndian.Uint32(v)
	data := v[crcLen:]
	if got := erasure.Checksum(data); got != stored {
		return Block{}, r.s.dataLoss(id, idx, fmt.Errorf("crc32c %08x, stored %08x", got, stored))
	}
	return Block{Index: idx, Data: data, CRC: stored}, nil
}

func (r *ShardReader) readFailure(err error) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return cerr
	}
	return r.s.dataLoss(r.info.ID, r.next, fmt.Errorf("read: %w", err))
}

// Close releases the reader. It is safe to call more than once.
func (r *ShardReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.it.Close()
	r.s.exit()
	if err != nil && r.err == nil {
		// An error Close reports was already seen by Next if it mattered.
		return fmt.Errorf("node: close reader: %w", err)
	}
	return nil
}
