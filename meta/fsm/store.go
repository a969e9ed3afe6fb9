package fsm

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// errStoreClosed is returned by reads that arrive after Close.
var errStoreClosed = errors.New("meta: state store closed")

// store owns the FSM's Pebble database. Restore replaces the database with a
// new one in a fresh directory; readers and snapshots that still hold the old
// one keep it alive until they release it, then it is closed and deleted.
type Store struct {
	root   string // <Dir>/fsm, wiped at open
	logger *slog.Logger
	// cache is the block cache every generation shares; the Store holds
	// one reference, dropped by Close.
	cache *pebble.Cache

	mu      sync.Mutex
	drained *sync.Cond // signalled when a retired handle's refs reach zero
	cur     *dbHandle
	gen     int
	closed  bool
	// retiredLive counts retired generations not yet disposed.
	retiredLive int
	// applied is the Raft index of the last entry ApplyBatch committed.
	applied atomic.Uint64
}

// dbHandle is one generation of the database. refs and retired are guarded by
// store.mu.
type dbHandle struct {
	db      *pebble.DB
	dir     string
	refs    int
	retired bool
}

// OpenStore wipes root and opens an empty database under it. The FSM is
// rebuilt from the Raft snapshot and log on every start (see doc.go).
func OpenStore(root string, logger *slog.Logger) (*Store, error) {
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("meta: wipe FSM directory: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("meta: create FSM directory: %w", err)
	}
	s := &Store{root: root, logger: logger, cache: pebble.NewCache(blockCacheSize)}
	s.drained = sync.NewCond(&s.mu)
	db, dir, err := s.newDB()
	if err != nil {
		s.cache.Unref()
		return nil, err
	}
	s.cur = &dbHandle{db: db, dir: dir}
	return s, nil
}

// blockCacheSize bounds the FSM's block cache. Pebble's default (8 MiB)
// made the point reads of every commit (bucket record, current version,
// dedupe entry) miss and read and decompress sstable blocks: a fifth of a
// meta leader's CPU under small PUTs.
const blockCacheSize = 64 << 20

// newDB opens an empty database in the next generation's directory.
func (s *Store) newDB() (*pebble.DB, string, error) {
	s.mu.Lock()
	s.gen++
	dir := filepath.Join(s.root, fmt.Sprintf("db-%06d", s.gen))
	s.mu.Unlock()
	opts := &pebble.Options{
		// The Raft log is the durable record and this directory is wiped at
		// start, so the FSM needs no WAL of its own.
		DisableWAL: true,
		Logger:     pebbleLogger{s.logger},
		Cache:      s.cache,
	}
	// Every request reads records by key (bucket, current version), most
	// of them written long ago and so in a low level, and every recorded
	// apply looks up a request ID that is almost never there: without
	// filters each such Get searches the index and data blocks of every
	// sstable that might hold the key. (GetBucket was most of a meta
	// leader's FSM time under 4 KiB GETs.) The L0 setting carries down to
	// every level.
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, "", fmt.Errorf("meta: open FSM database %s: %w", dir, err)
	}
	return db, dir, nil
}

// acquire pins the current database until release.
func (s *Store) acquire() (*dbHandle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStoreClosed
	}
	s.cur.refs++
	return s.cur, nil
}

func (s *Store) release(h *dbHandle) {
	s.mu.Lock()
	h.refs--
	done := h.retired && h.refs == 0
	if h.refs == 0 {
		s.drained.Broadcast()
	}
	s.mu.Unlock()
	if done {
		s.dispose(h)
	}
}

// dispose closes and deletes a retired generation.
func (s *Store) dispose(h *dbHandle) {
	if err := h.db.Close(); err != nil {
		s.logger.Warn("close retired FSM database", "dir", h.dir, "err", err)
	}
	if err := os.RemoveAll(h.dir); err != nil {
		s.logger.Warn("remove retired FSM database", "dir", h.dir, "err", err)
	}
	s.mu.Lock()
	s.retiredLive--
	s.drained.Broadcast()
	s.mu.Unlock()
}

// swap makes db the current database and retires the old one.
func (s *Store) swap(db *pebble.DB, dir string) {
	s.mu.Lock()
	old := s.cur
	s.cur = &dbHandle{db: db, dir: dir}
	old.retired = true
	s.retiredLive++
	done := old.refs == 0
	s.mu.Unlock()
	if done {
		s.dispose(old)
	}
}

// view runs fn against the current database.
func (s *Store) View(fn func(r pebble.Reader) error) error {
	h, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release(h)
	return fn(h.db)
}

// AppliedIndex is the Raft index of the latest entry this process has
// applied: every read that starts after AppliedIndex returns sees its
// effects and those of every entry before it. It is 0 until the first
// apply, and a restored snapshot does not raise it, so it may be lower
// than the truth but never higher.
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// generation counts the databases this store has opened: 1 when it is
// fresh, one more for each Restore.
func (s *Store) Generation() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// close waits until no reader holds any generation of the database, then
// closes and deletes it.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	h := s.cur
	for h.refs > 0 || s.retiredLive > 0 {
		s.drained.Wait()
	}
	s.mu.Unlock()
	err := h.db.Close()
	s.cache.Unref()
	if rerr := os.RemoveAll(s.root); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("meta: close FSM database: %w", err)
	}
	return nil
}

// GetProto reads key into m. It reports false, with no error, when the key
// does not exist.
func GetProto(r pebble.Reader, key []byte, m proto.Message) (bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("meta: read %q: %w", key, err)
	}
	defer closer.Close()
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("meta: decode %q: %w", key, err)
	}
	return true, nil
}

// GetRaw returns a copy of key's value, or nil when it does not exist.
func GetRaw(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("meta: read %q: %w", key, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// scan calls fn for every key with the given prefix, in key order, until fn
// returns false. key and value are only valid during the call.
func Scan(r pebble.Reader, prefix []byte, fn func(key, value []byte) (bool, error)) error {
	return ScanRange(r, prefix, PrefixEnd(prefix), fn)
}

// ScanRange is Scan over the keys in [lower, upper).
func ScanRange(r pebble.Reader, lower, upper []byte, fn func(key, value []byte) (bool, error)) error {
	prefix := lower
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("meta: scan %q: %w", prefix, err)
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("meta: scan %q: %w", prefix, err)
		}
		more, err := fn(it.Key(), v)
		if err != nil {
			it.Close()
			return err
		}
		if !more {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("meta: scan %q: %w", prefix, err)
	}
	return nil
}

// ScanProtos decodes every value under prefix with newMsg and passes it on.
func ScanProtos[M proto.Message](r pebble.Reader, prefix []byte, newMsg func() M, fn func(M)) error {
	return Scan(r, prefix, func(key, value []byte) (bool, error) {
		m := newMsg()
		if err := proto.Unmarshal(value, m); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		fn(m)
		return true, nil
	})
}

func GetBucket(r pebble.Reader, namespace, name string) (*cairnpb.Bucket, error) {
	b := &cairnpb.Bucket{}
	ok, err := GetProto(r, bucketKey(namespace, name), b)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: bucket %q in namespace %q: %w", name, namespace, rpcerr.ErrBucketNotFound)
	}
	return b, nil
}

// ListBuckets returns a namespace's buckets sorted by name.
func ListBuckets(r pebble.Reader, namespace string) ([]*cairnpb.Bucket, error) {
	var out []*cairnpb.Bucket
	err := ScanProtos(r, BucketNamespacePrefix(namespace), func() *cairnpb.Bucket { return &cairnpb.Bucket{} },
		func(b *cairnpb.Bucket) { out = append(out, b) })
	return out, err
}

// bucketHasObjects reports whether any object key, noncurrent version or
// delete marker lives under bucketID.
func bucketHasObjects(r pebble.Reader, bucketID []byte) (bool, error) {
	found := false
	err := Scan(r, ObjectPrefix(bucketID), func(_, _ []byte) (bool, error) {
		found = true
		return false, nil
	})
	if err != nil || found {
		return found, err
	}
	return bucketHasVersions(r, bucketID)
}

// GetObject returns the current version of key, or nil when there is none.
// With withInline the inline body is attached to the returned version.
func GetObject(r pebble.Reader, bucketID []byte, key string, withInline bool) (*cairnpb.ObjectVersion, error) {
	v := &cairnpb.ObjectVersion{}
	ok, err := GetProto(r, objectKey(bucketID, key), v)
	if err != nil || !ok {
		return nil, err
	}
	if withInline && len(v.GetShards()) == 0 {
		data, err := GetRaw(r, InlineKey(bucketID, key))
		if err != nil {
			return nil, err
		}
		v.InlineData = data
	}
	return v, nil
}

func GetNode(r pebble.Reader, id string) (*cairnpb.DataNode, error) {
	n := &cairnpb.DataNode{}
	ok, err := GetProto(r, nodeKey(id), n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: data node %q: %w", id, rpcerr.ErrNodeNotFound)
	}
	return n, nil
}

func ListNodes(r pebble.Reader) ([]*cairnpb.DataNode, error) {
	var out []*cairnpb.DataNode
	err := ScanProtos(r, []byte(tagNode), func() *cairnpb.DataNode { return &cairnpb.DataNode{} },
		func(n *cairnpb.DataNode) { out = append(out, n) })
	return out, err
}

// GetMember returns the member record of id, or nil when there is none.
func GetMember(r pebble.Reader, id string) (*cairnpb.MetaMember, error) {
	m := &cairnpb.MetaMember{}
	ok, err := GetProto(r, memberKey(id), m)
	if err != nil || !ok {
		return nil, err
	}
	return m, nil
}

func ListMembers(r pebble.Reader) (map[string]*cairnpb.MetaMember, error) {
	out := map[string]*cairnpb.MetaMember{}
	err := ScanProtos(r, []byte(tagMember), func() *cairnpb.MetaMember { return &cairnpb.MetaMember{} },
		func(m *cairnpb.MetaMember) { out[m.GetId()] = m })
	return out, err
}

// ListGC returns up to limit GC queue entries, oldest first (limit <= 0: all).
func ListGC(r pebble.Reader, limit int) ([]*cairnpb.GCEntry, error) {
	var out []*cairnpb.GCEntry
	err := Scan(r, []byte(TagGC), func(key, value []byte) (bool, error) {
		e := &cairnpb.GCEntry{}
		if err := proto.Unmarshal(value, e); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// pebbleLogger sends Pebble's log lines to slog. Pebble's informational
// chatter (flushes, compactions) goes to Debug.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
