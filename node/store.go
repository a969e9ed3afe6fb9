package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// ErrClosed is returned by operations on a closed Store. Over gRPC it is
// UNAVAILABLE (see its GRPCStatus in server.go).
var ErrClosed error = errClosed{}

type errClosed struct{}

func (errClosed) Error() string { return "node: store closed" }

// Defaults for StoreOptions.
const (
	DefaultMemTableSize  = 64 << 20
	DefaultCacheSize     = 32 << 20
	DefaultSmallShardMax = 1 << 20
)

// seqLeaseSize is how many seqs one persisted lease covers.
const seqLeaseSize = 1024

// lockStripes is the number of mutexes shard IDs are hashed onto to
// serialize changes to one shard's index record.
const lockStripes = 256

// StoreOptions configures a Store. The zero value is usable.
type StoreOptions struct {
	// NodeID is the node the data directory is for: it claims the
	// directory's identity, or gives the directory a fresh incarnation if
	// the identity names another node (see loadIdentity). "" (tools)
	// leaves an existing identity as it is.
	NodeID string
	// FS is the filesystem every file goes through; default vfs.Default.
	// Tests may use vfs.NewMem().
	FS vfs.FS
	// Logger receives the store's and Pebble's logs; default slog.Default().
	Logger *slog.Logger
	// Now stamps shard creation times; default time.Now.
	Now func() time.Time
	// MemTableSize is Pebble's memtable size; default 64 MiB.
	MemTableSize uint64
	// CacheSize is Pebble's block cache size; default 32 MiB.
	CacheSize int64
	// SmallShardMax is the largest shard (sum of block sizes) written
	// through a batch and the WAL; larger shards are built as an sstable and
	// ingested. Default 1 MiB. It also bounds PutShard's buffering.
	SmallShardMax int64
	// DisableValueSeparation turns off Pebble's blob files (on by default).
	DisableValueSeparation bool
	// DirectIO writes large shards' sstables with O_DIRECT
	// (direct_linux.go) when FS is the operating system's and the data
	// directory accepts it; otherwise, and by default, they go through the
	// page cache. It saves CPU per byte but costs throughput on disks that
	// serve many parallel direct writes slower than buffered ones
	// (docs/performance.md has this machine's figures).
	DirectIO bool
	// MinFreeBytes is the free disk space PutShard leaves alone (see
	// checkSpace); default twice MemTableSize, negative: no reserve.
	MinFreeBytes int64
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.SmallShardMax <= 0 {
		o.SmallShardMax = DefaultSmallShardMax
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = 2 * int64(o.MemTableSize)
	}
	return o
}

// Store keeps shards as checksummed blocks in one Pebble database. All
// methods are safe for concurrent use.
type Store struct {
	dir    string
	tmpDir string
	fs     vfs.FS
	log    *slog.Logger
	now    func() time.Time
	small  int64
	popts  *pebble.Options
	direct *directBufs // nil: large shards' sstables go through the page cache
	db     *pebble.DB
	stripe maphash.Seed
	locks  [lockStripes]sync.Mutex

	// lifeMu guards closed; ops counts operations in flight (a ShardReader
	// counts until its Close). Once closed is set, new operations fail with
	// ErrClosed and Close waits for ops to drain before closing Pebble.
	lifeMu sync.Mutex
	closed bool
	ops    sync.WaitGroup

	seqMu    sync.Mutex
	seqNext  uint64
	seqLimit uint64
	active   map[uint64]struct{}

	badMu sync.Mutex
	bad   map[blockRef]struct{}
	// damaged: shards a read found a bad block in, not yet taken by
	// TakeDamaged (the node reports them to meta).
	damaged map[string]struct{}

	shards    atomic.Int64
	liveBytes atomic.Int64
	ctr       counters
	tmpID     atomic.Uint64

	// minFree is the disk space PutShard keeps in reserve (<= 0: none).
	minFree int64

	// identMu guards ident, the data directory's identity.
	identMu sync.Mutex
	ident   Identity
}

// OpenStore opens (creating if needed) the store in dir, and reads or
// formats the directory's identity (Identity, loadIdentity).
func OpenStore(ctx context.Context, dir string, opts StoreOptions) (*Store, error) {
	o := opts.withDefaults()
	s := &Store{
		dir:     dir,
		tmpDir:  o.FS.PathJoin(dir, "ingest"),
		fs:      o.FS,
		log:     o.Logger.With("store", dir),
		now:     o.Now,
		small:   o.SmallShardMax,
		stripe:  maphash.MakeSeed(),
		active:  make(map[uint64]struct{}),
		bad:     make(map[blockRef]struct{}),
		damaged: make(map[string]struct{}),
	}
	dbDir := o.FS.PathJoin(dir, "pebble")
	_, err := o.FS.Stat(dbDir)
	newDB := errors.Is(err, fs.ErrNotExist)
	for _, d := range []string{dbDir, s.tmpDir} {
		if err := o.FS.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("node: create %s: %w", d, err)
		}
	}
	s.minFree = o.MinFreeBytes
	if err := s.cleanTmp(); err != nil {
		return nil, err
	}
	if o.FS == vfs.Default && o.DirectIO {
		bufs := &directBufs{}
		if err := probeDirect(s.tmpDir, bufs); err != nil {
			s.log.Info("direct I/O unavailable: large shards go through the page cache", "err", err)
		} else {
			s.direct = bufs
		}
	}
	s.popts = s.pebbleOptions(o)
	db, err := pebble.Open(dbDir, s.popts)
	if err != nil {
		return nil, fmt.Errorf("node: open pebble in %s: %w", dbDir, err)
	}
	s.db = db
	if err := s.loadSeq(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.loadUsage(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.loadIdentity(o.NodeID, newDB); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.log.Info("store open", "shards", s.shards.Load(), "live_bytes", s.liveBytes.Load(),
		"next_seq", s.seqNext, "format", db.FormatMajorVersion().String(),
		"incarnation", fmt.Sprintf("%016x", s.ident.Incarnation), "cluster", s.ident.ClusterID)
	return s, nil
}

func (s *Store) pebbleOptions(o StoreOptions) *pebble.Options {
	po := &pebble.Options{
		FS:                          o.FS,
		FormatMajorVersion:          pebble.FormatValueSeparation,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 2,
		CacheSize:                   o.CacheSize,
		BytesPerSync:                1 << 20,
		WALBytesPerSync:             1 << 20,
		// Let deleted shards' space go back to the disk soon.
		FlushDelayDeleteRange: 10 * time.Second,
		Logger:                pebbleLogger{log: s.log},
		EventListener: &pebble.EventListener{
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				s.ctr.pebbleCorruptions.Add(1)
				s.log.Error("pebble detected corruption", "path", info.Path, "err", errString(info.Details))
			},
			BackgroundError: func(err error) {
				s.log.Error("pebble background error", "err", errString(err))
			},
		},
	}
	// Shards are fresh, non-overlapping key ranges: let an ingested sstable
	// split a file whose bounds merely straddle it instead of landing high.
	po.Experimental.IngestSplit = func() bool { return true }
	if !o.DisableValueSeparation {
		po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
			return pebble.ValueSeparationPolicy{
				Enabled:               true,
				MinimumSize:           4 << 10,
				MaxBlobReferenceDepth: 10,
				RewriteMinimumAge:     5 * time.Minute,
				TargetGarbageRatio:    0.2,
			}
		}
	}
	po.EnsureDefaults()
	// Block data is encrypted and does not compress; index records are tiny.
	for i := range po.Levels {
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return po
}

// cleanTmp removes sstables left in the scratch directory by a crash.
func (s *Store) cleanTmp() error {
	names, err := s.fs.List(s.tmpDir)
	if err != nil {
		return fmt.Errorf("node: list %s: %w", s.tmpDir, err)
	}
	for _, n := range names {
		p := s.fs.PathJoin(s.tmpDir, n)
		if err := s.fs.Remove(p); err != nil {
			return fmt.Errorf("node: remove leftover %s: %w", p, err)
		}
	}
	return nil
}

// loadSeq sets the next seq above the persisted lease and above every block
// present. When the last block cannot be read because its sstable is
// damaged, a persisted lease alone is trusted (no seq at or above it was
// ever handed out), so one rotten block does not keep the store closed.
func (s *Store) loadSeq() error {
	next := uint64(1)
	leased := false
	v, closer, err := s.db.Get([]byte(keySeqLease))
	switch {
	case err == nil:
		if len(v) == 8 {
			next = max(next, binary.BigEndian.Uint64(v))
			leased = true
		}
		_ = closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("node: read seq lease: %w", err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixBlock), UpperBound: prefixEnd(prefixBlock)})
	if err != nil {
		return fmt.Errorf("node: scan blocks: %w", err)
	}
	if it.Last() {
		if seq, _, ok := parseBlockKey(it.Key()); ok {
			next = max(next, seq+1)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		if !leased || !pebble.IsCorruptionError(err) {
			return fmt.Errorf("node: scan blocks: %w", err)
		}
		s.log.Error("cannot read the last block; trusting the seq lease", "next_seq", next, "err", err)
	}
	s.seqNext, s.seqLimit = next, next
	return nil
}

// loadUsage counts live shards and bytes from the index records.
func (s *Store) loadUsage(ctx context.Context) error {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte(prefixIndex), UpperBound: prefixEnd(prefixIndex)})
	if err != nil {
		return fmt.Errorf("node: scan index: %w", err)
	}
	var n, bytes int64
	for ok := it.First(); ok; ok = it.Next() {
		id := string(it.Key()[len(prefixIndex):])
		v, err := it.ValueAndErr()
		if err != nil {
			break
		}
		info, err := decodeIndex(id, v)
		if err != nil {
			s.log.Error("malformed index record", "shard", id, "err", err)
			continue
		}
		n++
		bytes += info.Bytes
		if n%65536 == 0 && ctx.Err() != nil {
			break
		}
	}
	if err := errors.Join(ctx.Err(), it.Error(), it.Close()); err != nil {
		return fmt.Errorf("node: scan index: %w", err)
	}
	s.shards.Store(n)
	s.liveBytes.Store(bytes)
	return nil
}

// Close closes the database after every operation in flight, including open
// ShardReaders, has finished; operations started after Close began fail
// with ErrClosed. A second Close returns nil at once.
func (s *Store) Close() error {
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		return nil
	}
	s.closed = true
	s.lifeMu.Unlock()
	s.ops.Wait()
	err := s.db.Close()
	if cerr := s.cleanTmp(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("node: close store: %w", err)
	}
	return nil
}

// enter registers an operation; it fails once Close has started. It never
// blocks, so an operation started while holding a ShardReader cannot
// deadlock against Close.
func (s *Store) enter() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.ops.Add(1)
	return nil
}

func (s *Store) exit() { s.ops.Done() }

func (s *Store) lockShard(id string) *sync.Mutex {
	m := &s.locks[maphash.String(s.stripe, id)%lockStripes]
	m.Lock()
	return m
}

// allocSeq hands out a fresh seq and marks it in flight until releaseSeq.
func (s *Store) allocSeq() (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seqNext >= s.seqLimit {
		limit := s.seqNext + seqLeaseSize
		if err := s.db.Set([]byte(keySeqLease), binary.BigEndian.AppendUint64(nil, limit), pebble.Sync); err != nil {
			return 0, fmt.Errorf("node: persist seq lease: %w", err)
		}
		s.seqLimit = limit
	}
	seq := s.seqNext
	s.seqNext++
	s.active[seq] = struct{}{}
	return seq, nil
}

func (s *Store) releaseSeq(seq uint64) {
	s.seqMu.Lock()
	delete(s.active, seq)
	s.seqMu.Unlock()
}

func (s *Store) seqInFlight(seq uint64) bool {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	_, ok := s.active[seq]
	return ok
}

// dataLoss reports a failed read of stored bytes: it counts and logs it and
// returns an error wrapping rpcerr.ErrChecksum (and the cause, if any).
func (s *Store) dataLoss(id string, block int64, cause error) error {
	s.ctr.checksumFailures.Add(1)
	s.log.Error("stored data failed verification", "shard", id, "block", block, "err", errString(cause))
	return fmt.Errorf("node: shard %q block %d: %w: %w", id, block, rpcerr.ErrChecksum, cause)
}

// digestMismatch compares a shard's recorded digest with the one it
// actually has (what), and reports a difference: it counts and logs it and
// returns an error wrapping rpcerr.ErrChecksum. A 0 on either side (a
// record or shard from before shard digests) is not checked.
func (s *Store) digestMismatch(id string, recorded, actual uint64, what string) error {
	if recorded == 0 || actual == 0 || recorded == actual {
		return nil
	}
	s.ctr.digestMismatches.Add(1)
	s.log.Warn("shard digest differs from the recorded one", "shard", id,
		"recorded", fmt.Sprintf("%016x", recorded), what, fmt.Sprintf("%016x", actual))
	return fmt.Errorf("node: shard %q: digest mismatch: recorded %016x, %s %016x: %w", id, recorded, what, actual, rpcerr.ErrChecksum)
}

// errString renders err without the stack traces Pebble's errors carry in
// their %+v form, which is what slog would print.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// blockRef names one stored block.
type blockRef struct {
	seq uint64
	idx int64
}

// maxBadBlocks bounds the memory of blocks known to fail verification.
const maxBadBlocks = 4096

// markBad remembers a block that failed verification. Reading a damaged
// block is expensive (Pebble searches the block for a single flipped bit,
// seconds of CPU for a 256 KiB block), so later reads fail fast instead.
// Seqs are never reused, so an entry can only ever match the damaged copy;
// rewriting the shard (repair) gives it a new seq.
func (s *Store) markBad(shardID string, ref blockRef) {
	s.badMu.Lock()
	defer s.badMu.Unlock()
	if len(s.damaged) < maxBadBlocks {
		s.damaged[shardID] = struct{}{}
	}
	if len(s.bad) >= maxBadBlocks {
		for k := range s.bad {
			delete(s.bad, k)
			break
		}
	}
	s.bad[ref] = struct{}{}
}

// TakeDamaged returns the shards reads found a damaged block in since the
// last call, and forgets them.
func (s *Store) TakeDamaged() []string {
	s.badMu.Lock()
	defer s.badMu.Unlock()
	out := make([]string, 0, len(s.damaged))
	for id := range s.damaged {
		out = append(out, id)
	}
	clear(s.damaged)
	return out
}

func (s *Store) knownBad(ref blockRef) bool {
	s.badMu.Lock()
	defer s.badMu.Unlock()
	_, ok := s.bad[ref]
	return ok
}

// lookup reads a shard's index record. found is false for an unknown shard.
func (s *Store) lookup(id string) (info ShardInfo, found bool, err error) {
	v, closer, err := s.db.Get(indexKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return ShardInfo{}, false, nil
	}
	if err != nil {
		return ShardInfo{}, false, s.dataLoss(id, -1, fmt.Errorf("read index: %w", err))
	}
	info, err = decodeIndex(id, v)
	_ = closer.Close()
	if err != nil {
		return ShardInfo{}, false, s.dataLoss(id, -1, err)
	}
	return info, true, nil
}

// StatShard returns a shard's index record, or an error wrapping
// rpcerr.ErrShardNotFound.
func (s *Store) StatShard(ctx context.Context, id string) (ShardInfo, error) {
	if err := validShardID(id); err != nil {
		return ShardInfo{}, err
	}
	if err := s.enter(); err != nil {
		return ShardInfo{}, err
	}
	defer s.exit()
	if err := ctx.Err(); err != nil {
		return ShardInfo{}, err
	}
	info, found, err := s.lookup(id)
	if err != nil {
		return ShardInfo{}, err
	}
	if !found {
		return ShardInfo{}, fmt.Errorf("node: shard %q: %w", id, rpcerr.ErrShardNotFound)
	}
	return info, nil
}

// MaxStatShards bounds the shard IDs one StatShards call may name.
const MaxStatShards = 10000

// StatShards returns the index records of those of ids the store holds, in
// shard ID order; the ones it lacks are absent. Duplicates count once. All
// records come from one consistent view. More than MaxStatShards IDs, or
// an invalid one, is rpcerr.ErrInvalidArgument. A malformed record is
// logged and left out, as the store cannot serve that shard.
func (s *Store) StatShards(ctx context.Context, ids []string) ([]ShardInfo, error) {
	if len(ids) > MaxStatShards {
		return nil, fmt.Errorf("node: stat shards: %d IDs, at most %d: %w", len(ids), MaxStatShards, rpcerr.ErrInvalidArgument)
	}
	for _, id := range ids {
		if err := validShardID(id); err != nil {
			return nil, err
		}
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	// Seeks in ascending order let Pebble step forward instead of
	// searching from the top each time.
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: indexKey(sorted[0]),
		UpperBound: indexKeyEnd(sorted[len(sorted)-1]),
	})
	if err != nil {
		return nil, fmt.Errorf("node: stat shards: %w", err)
	}
	defer it.Close()
	out := make([]ShardInfo, 0, len(sorted))
	for i, id := range sorted {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := indexKey(id)
		if !it.SeekGE(k) {
			break // nothing at or after k: no later ID either, or an error
		}
		if !bytes.Equal(it.Key(), k) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, s.dataLoss(id, -1, fmt.Errorf("read index: %w", err))
		}
		info, err := decodeIndex(id, v)
		if err != nil {
			_ = s.dataLoss(id, -1, err)
			continue
		}
		out = append(out, info)
	}
	if err := it.Error(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, s.dataLoss("", -1, fmt.Errorf("stat shards: %w", err))
	}
	return out, nil
}

// DeleteShard removes a shard: its index record goes and its blocks are
// range-deleted, in one synced batch. An unknown shard is
// rpcerr.ErrShardNotFound.
func (s *Store) DeleteShard(ctx context.Context, id string) error {
	if err := validShardID(id); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := s.lockShard(id)
	defer mu.Unlock()
	info, found, err := s.lookup(id)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("node: delete shard %q: %w", id, rpcerr.ErrShardNotFound)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := errors.Join(
		b.Delete(indexKey(id), nil),
		b.Delete(reverseKey(info.seq), nil),
		b.DeleteRange(seqPrefix(info.seq), seqPrefix(info.seq+1), nil),
	); err != nil {
		return fmt.Errorf("node: delete shard %q: %w", id, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("node: delete shard %q: %w", id, err)
	}
	s.shards.Add(-1)
	s.liveBytes.Add(-info.Bytes)
	s.ctr.shardsDeleted.Add(1)
	return nil
}

// ListShards yields shards in shard ID order, starting after startAfter, at
// most limit of them (limit <= 0: all). The iteration sees one consistent
// view of the store.
func (s *Store) ListShards(ctx context.Context, startAfter string, limit int) iter.Seq2[ShardInfo, error] {
	return func(yield func(ShardInfo, error) bool) {
		if err := s.enter(); err != nil {
			yield(ShardInfo{}, err)
			return
		}
		defer s.exit()
		lower := []byte(prefixIndex)
		if startAfter != "" {
			lower = indexKeyEnd(startAfter)
		}
		it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefixIndex)})
		if err != nil {
			yield(ShardInfo{}, fmt.Errorf("node: list shards: %w", err))
			return
		}
		defer it.Close()
		n := 0
		for ok := it.First(); ok && (limit <= 0 || n < limit); ok = it.Next() {
			if err := ctx.Err(); err != nil {
				yield(ShardInfo{}, err)
				return
			}
			id := string(it.Key()[len(prefixIndex):])
			v, err := it.ValueAndErr()
			if err != nil {
				break
			}
			info, err := decodeIndex(id, v)
			if err != nil {
				if !yield(ShardInfo{}, s.dataLoss(id, -1, err)) {
					return
				}
				continue
			}
			n++
			if !yield(info, nil) {
				return
			}
		}
		if err := it.Error(); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else {
				err = s.dataLoss("", -1, fmt.Errorf("list index: %w", err))
			}
			yield(ShardInfo{}, err)
		}
	}
}

// Usage is a store's space accounting.
type Usage struct {
	// Shards and LiveBytes count visible shards and the sum of their block
	// sizes (what clients stored, without checksums or Pebble overhead).
	Shards    int64
	LiveBytes int64
	// DiskTotal and DiskAvailable describe the filesystem holding the
	// store (statfs); both are 0 when the FS cannot tell (an in-memory FS).
	DiskTotal     int64
	DiskAvailable int64
	// PebbleBytes is the space Pebble's files take, garbage included.
	PebbleBytes int64
}

// Capacity is what this store could hold in all: its live bytes plus the
// space still available on the disk.
func (u Usage) Capacity() int64 { return u.LiveBytes + u.DiskAvailable }

// Usage reports shard counts and disk space.
func (s *Store) Usage(ctx context.Context) (Usage, error) {
	if err := s.enter(); err != nil {
		return Usage{}, err
	}
	defer s.exit()
	if err := ctx.Err(); err != nil {
		return Usage{}, err
	}
	u := Usage{
		Shards:      s.shards.Load(),
		LiveBytes:   s.liveBytes.Load(),
		PebbleBytes: int64(s.db.Metrics().DiskSpaceUsage()),
	}
	du, err := s.fs.GetDiskUsage(s.dir)
	switch {
	case err == nil:
		u.DiskTotal, u.DiskAvailable = int64(du.TotalBytes), int64(du.AvailBytes)
	case errors.Is(err, vfs.ErrUnsupported):
	default:
		return Usage{}, fmt.Errorf("node: statfs %s: %w", s.dir, err)
	}
	return u, nil
}

// PebbleMetrics returns Pebble's metrics for the store's database.
func (s *Store) PebbleMetrics() (*pebble.Metrics, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	return s.db.Metrics(), nil
}

// SweepOrphans range-deletes blocks whose seq no shard owns and no PutShard
// is writing: what a crash (or a failed index write) between ingesting a
// shard's sstable and committing its index record leaves behind. It returns
// how many seqs it removed.
func (s *Store) SweepOrphans(ctx context.Context) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.exit()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte(prefixBlock), UpperBound: prefixEnd(prefixBlock)})
	if err != nil {
		return 0, fmt.Errorf("node: sweep: %w", err)
	}
	defer it.Close()
	swept := 0
	ok := it.First()
	for ok {
		if err := ctx.Err(); err != nil {
			return swept, err
		}
		seq, _, valid := parseBlockKey(it.Key())
		if !valid {
			return swept, fmt.Errorf("node: sweep: unexpected key %x", it.Key())
		}
		// Order matters: a seq that is not in flight now either never
		// committed or committed before this check, so its reverse record,
		// read after the check from the live DB, is authoritative.
		if !s.seqInFlight(seq) {
			owned, err := s.seqOwned(seq)
			if err != nil {
				return swept, err
			}
			if !owned {
				if err := s.db.DeleteRange(seqPrefix(seq), seqPrefix(seq+1), pebble.Sync); err != nil {
					return swept, fmt.Errorf("node: sweep seq %d: %w", seq, err)
				}
				s.log.Warn("removed orphaned blocks", "seq", seq)
				s.ctr.orphansSwept.Add(1)
				swept++
			}
		}
		if seq == ^uint64(0) {
			break
		}
		ok = it.SeekGE(seqPrefix(seq + 1))
	}
	if err := it.Error(); err != nil {
		return swept, fmt.Errorf("node: sweep: %w", err)
	}
	return swept, nil
}

func (s *Store) seqOwned(seq uint64) (bool, error) {
	_, closer, err := s.db.Get(reverseKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("node: read reverse record %d: %w", seq, err)
	}
	_ = closer.Close()
	return true, nil
}
