package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairn-store/cairn/erasure"
)

// PutShard stores shard id from blocks, which yields the data of blocks 0,
// 1, 2, ... in order. The store does not keep the slices it is given past
// the yield. If blocks yields an error, ctx ends or anything fails, nothing
// becomes visible and the error (wrapped) is returned. Otherwise the shard
// is durable and visible when PutShard returns, replacing any earlier shard
// with the same ID; the ShardInfo returned carries its digest
// (erasure.DigestBuilder over the blocks' lengths and checksums), which
// the index record keeps.
//
// Shards up to StoreOptions.SmallShardMax bytes are committed as one synced
// batch. Larger ones are streamed into an sstable file in the scratch
// directory, which is then ingested (no WAL copy; fresh keys usually land in
// the bottom level); the index record follows in a synced batch. A crash
// between the two leaves orphaned blocks that SweepOrphans removes.
func (s *Store) PutShard(ctx context.Context, id string, blocks iter.Seq2[[]byte, error]) (ShardInfo, error) {
	return s.PutShardVerified(ctx, id, blocks, nil)
}

// PutShardVerified is PutShard with a last word: once every block has
// arrived, verify (if not nil) is shown the shard's ShardInfo (ID, Blocks,
// Bytes, Digest) before anything becomes visible. If it returns an error,
// the shard is discarded, an earlier shard of the same ID stays as it was,
// and the error is returned wrapped.
func (s *Store) PutShardVerified(ctx context.Context, id string, blocks iter.Seq2[[]byte, error], verify func(ShardInfo) error) (ShardInfo, error) {
	return s.PutBlocks(ctx, id, Checksummed(blocks), verify)
}

// Checksummed pairs each block's data with its CRC-32C (erasure.Checksum),
// for PutBlocks.
func Checksummed(blocks iter.Seq2[[]byte, error]) iter.Seq2[Block, error] {
	return func(yield func(Block, error) bool) {
		var i int64
		for data, err := range blocks {
			if err != nil {
				yield(Block{}, err)
				return
			}
			if !yield(Block{Index: i, Data: data, CRC: erasure.Checksum(data)}, nil) {
				return
			}
			i++
		}
	}
}

// PutBlocks is PutShardVerified for blocks whose CRC-32C the caller has
// already computed or checked: the store keeps each Block's CRC as that
// block's checksum and does not compute it again, so one that is not
// erasure.Checksum of its Data is stored as damaged. The Data service
// passes the checksums it verified on receipt; Index is not used.
func (s *Store) PutBlocks(ctx context.Context, id string, blocks iter.Seq2[Block, error], verify func(ShardInfo) error) (ShardInfo, error) {
	if err := validShardID(id); err != nil {
		return ShardInfo{}, err
	}
	if err := s.enter(); err != nil {
		return ShardInfo{}, err
	}
	defer s.exit()
	if err := s.checkSpace(id); err != nil {
		return ShardInfo{}, err
	}
	seq, err := s.allocSeq()
	if err != nil {
		return ShardInfo{}, err
	}
	defer s.releaseSeq(seq)
	w := &shardWriter{s: s, seq: seq, batch: s.db.NewBatch(), digest: erasure.NewDigest()}
	defer w.discard()
	for b, err := range blocks {
		if err != nil {
			return ShardInfo{}, fmt.Errorf("node: put shard %q block %d: %w", id, w.n, err)
		}
		if err := ctx.Err(); err != nil {
			return ShardInfo{}, fmt.Errorf("node: put shard %q: %w", id, err)
		}
		if err := w.add(b.Data, b.CRC); err != nil {
			return ShardInfo{}, fmt.Errorf("node: put shard %q block %d: %w", id, w.n, err)
		}
		if w.n%spaceCheckBlocks == 0 {
			if err := s.checkSpace(id); err != nil {
				return ShardInfo{}, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return ShardInfo{}, fmt.Errorf("node: put shard %q: %w", id, err)
	}
	info, err := w.commit(ctx, id, verify)
	if err != nil {
		return ShardInfo{}, fmt.Errorf("node: put shard %q: %w", id, err)
	}
	return info, nil
}

// shardWriter accumulates one shard: in a batch while it is small, in an
// sstable file once it is not.
type shardWriter struct {
	s      *Store
	seq    uint64
	n      int64 // blocks added
	bytes  int64 // data bytes added
	digest *erasure.DigestBuilder

	batch *pebble.Batch // small mode; nil after spilling or committing

	path     string // sstable mode
	wr       *abortableWritable
	sst      *sstable.Writer
	scratch  []byte
	ingested bool

	key  [blockKeyLen]byte
	done bool
}

// add appends one block with its CRC-32C.
func (w *shardWriter) add(data []byte, crc uint32) error {
	if w.sst == nil && w.bytes+int64(len(data)) > w.s.small {
		if err := w.spill(); err != nil {
			return err
		}
	}
	k := appendBlockKey(w.key[:0], w.seq, w.n)
	if w.sst == nil {
		op := w.batch.SetDeferred(len(k), crcLen+len(data))
		copy(op.Key, k)
		binary.BigEndian.PutUint32(op.Value, crc)
		copy(op.Value[crcLen:], data)
		if err := op.Finish(); err != nil {
			return err
		}
	} else {
		w.scratch = binary.BigEndian.AppendUint32(w.scratch[:0], crc)
		w.scratch = append(w.scratch, data...)
		if err := w.sst.Set(k, w.scratch); err != nil {
			return fmt.Errorf("write sstable: %w", err)
		}
	}
	w.n++
	w.bytes += int64(len(data))
	w.digest.Add(len(data), crc)
	w.s.ctr.blocksWritten.Add(1)
	w.s.ctr.bytesWritten.Add(uint64(len(data)))
	return nil
}

// shardTableFormat is the format of the sstables large shards are streamed
// into: row blocks, not the columnar blocks of the database's own format.
// A shard's values are whole 256 KiB blocks, which the columnar builder
// copied twice before its no-op compression copied them again; the row
// builder copies once. BenchmarkPutShard/64MiB spent 30% less CPU for the
// same bytes (docs/performance.md). Pebble ingests any format the
// database can read, and compactions rewrite such tables in its own.
const shardTableFormat = sstable.TableFormatPebblev4

// spill switches to sstable mode, moving the blocks batched so far into a
// new sstable file.
func (w *shardWriter) spill() error {
	s := w.s
	w.path = s.fs.PathJoin(s.tmpDir, fmt.Sprintf("%016x-%d.sst", w.seq, s.tmpID.Add(1)))
	var wr objstorage.Writable
	if s.direct != nil {
		d, err := createDirect(w.path, s.direct)
		if err != nil {
			return err
		}
		wr = d
	} else {
		f, err := s.fs.Create(w.path, vfs.WriteCategoryUnspecified)
		if err != nil {
			return fmt.Errorf("create %s: %w", w.path, err)
		}
		f = vfs.NewSyncingFile(f, vfs.SyncingFileOptions{BytesPerSync: s.popts.BytesPerSync})
		wr = objstorageprovider.NewFileWritable(f)
	}
	w.wr = &abortableWritable{w: wr}
	wo := s.popts.MakeWriterOptions(len(s.popts.Levels)-1, s.db.TableFormat())
	wo.TableFormat = shardTableFormat
	w.sst = sstable.NewWriter(w.wr, wo)
	r := w.batch.Reader()
	for {
		_, k, v, ok, err := r.Next()
		if err != nil {
			return fmt.Errorf("replay batch: %w", err)
		}
		if !ok {
			break
		}
		if err := w.sst.Set(k, v); err != nil {
			return fmt.Errorf("write sstable: %w", err)
		}
	}
	err := w.batch.Close()
	w.batch = nil
	return err
}

// commit makes the shard durable and visible, replacing an older shard of
// the same ID, unless verify refuses it.
func (w *shardWriter) commit(ctx context.Context, id string, verify func(ShardInfo) error) (ShardInfo, error) {
	s := w.s
	info := ShardInfo{ID: id, Blocks: w.n, Bytes: w.bytes, Created: s.now(), Digest: w.digest.Sum(), seq: w.seq}
	if verify != nil {
		if err := verify(info); err != nil {
			return ShardInfo{}, err
		}
	}
	b := w.batch
	w.batch = nil
	if w.sst != nil {
		err := w.sst.Close()
		w.sst = nil
		if err != nil {
			return ShardInfo{}, fmt.Errorf("finish sstable: %w", err)
		}
		if err := s.db.Ingest(ctx, []string{w.path}); err != nil {
			return ShardInfo{}, fmt.Errorf("ingest: %w", err)
		}
		w.ingested = true
		// Pebble linked the file into its own directory and removed the
		// path it was given.
		w.path = ""
		b = s.db.NewBatch()
	}
	defer b.Close()

	mu := s.lockShard(id)
	defer mu.Unlock()
	old, found, err := s.lookup(id)
	if err != nil {
		return ShardInfo{}, err
	}
	if err := errors.Join(
		b.Set(indexKey(id), encodeIndex(info), nil),
		b.Set(reverseKey(w.seq), []byte(id), nil),
	); err != nil {
		return ShardInfo{}, err
	}
	if found {
		if err := errors.Join(
			b.Delete(reverseKey(old.seq), nil),
			b.DeleteRange(seqPrefix(old.seq), seqPrefix(old.seq+1), nil),
		); err != nil {
			return ShardInfo{}, err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return ShardInfo{}, fmt.Errorf("commit index: %w", err)
	}
	w.done = true
	if found {
		s.liveBytes.Add(info.Bytes - old.Bytes)
	} else {
		s.shards.Add(1)
		s.liveBytes.Add(info.Bytes)
	}
	s.ctr.shardsPut.Add(1)
	if w.ingested {
		s.ctr.shardsIngested.Add(1)
	}
	return info, nil
}

// discard undoes whatever an unfinished writer left: the batch, the
// sstable file, and ingested blocks that never got an index record.
func (w *shardWriter) discard() {
	if w.done {
		return
	}
	s := w.s
	if w.batch != nil {
		_ = w.batch.Close()
		w.batch = nil
	}
	if w.sst != nil {
		w.wr.abort()
		_ = w.sst.Close()
		w.sst = nil
	}
	if w.path != "" {
		if err := s.fs.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("remove abandoned sstable", "path", w.path, "err", err)
		}
	}
	if w.ingested {
		// Not synced: if this is lost, SweepOrphans finds the blocks.
		if err := s.db.DeleteRange(seqPrefix(w.seq), seqPrefix(w.seq+1), pebble.NoSync); err != nil {
			s.log.Warn("remove blocks of failed put", "seq", w.seq, "err", err)
		}
	}
}

// abortableWritable lets an sstable writer be abandoned: once aborted,
// writes fail and Finish closes the file without syncing it.
type abortableWritable struct {
	w       objstorage.Writable
	aborted atomic.Bool
	ended   atomic.Bool
}

var errAborted = errors.New("node: sstable aborted")

func (a *abortableWritable) abort() { a.aborted.Store(true) }

func (a *abortableWritable) Write(p []byte) error {
	if a.aborted.Load() {
		return errAborted
	}
	return a.w.Write(p)
}

func (a *abortableWritable) Finish() error {
	if !a.ended.CompareAndSwap(false, true) {
		return errAborted
	}
	if a.aborted.Load() {
		a.w.Abort()
		return errAborted
	}
	return a.w.Finish()
}

func (a *abortableWritable) Abort() {
	if a.ended.CompareAndSwap(false, true) {
		a.w.Abort()
	}
}
