package model

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Errors of the object model. Front ends translate them (s3api's
// errors.go); the ones of erasure coding that reach them are named here,
// so that no front end needs package erasure to tell them apart.
var (
	// ErrIncompleteBody: the body ended before its declared length.
	ErrIncompleteBody = errors.New("model: body shorter than its declared length")
	// ErrBodyTooLong: the body went on past its declared length.
	ErrBodyTooLong = errors.New("model: body longer than its declared length")
	// ErrWriteQuorum: too few shards became durable to acknowledge a write.
	ErrWriteQuorum = errors.New("model: write quorum not reached")
	// ErrTooLarge: a body of unknown length went on past its limit
	// (WriteUpTo).
	ErrTooLarge = errors.New("model: body longer than its limit")
	// ErrUnknownNode: a version names a data node the cluster map lacks.
	ErrUnknownNode = errors.New("model: data node not in the cluster map")
	// ErrTooFewWriters: fewer data nodes took a write's shards than the
	// write needs (retryable).
	ErrTooFewWriters = erasure.ErrTooFewWriters
	// ErrTooManyFailures: a read got too few shards. It is wrapped by
	// ErrObjectUnreadable and ErrObjectUnavailable, which say which.
	ErrTooManyFailures = erasure.ErrTooManyFailures
	// ErrRange: a range outside the data.
	ErrRange = erasure.ErrRange
)

// Config configures a Store. The erasure scheme and write quorum are
// checked by New; the front end's configuration fills in defaults.
type Config struct {
	Index  Index
	Shards Shards
	// DataShards+ParityShards with BlockSize-byte blocks: the scheme of new
	// data. Data already written keeps the scheme its record names.
	DataShards, ParityShards, BlockSize int
	// WriteQuorum: shards durable before a write is acknowledged, in
	// [DataShards, DataShards+ParityShards].
	WriteQuorum int
	// InlineThreshold: data up to this size lives in the record itself
	// (negative: never).
	InlineThreshold int64
	// MasterKey wraps the data key of all data not sealed with a customer
	// key (required).
	MasterKey *sse.MasterKey
	Logger    *slog.Logger
	Now       func() time.Time
}

// Store is the object model's data path: it writes a body into a new
// version's data (sealed, then inlined or erasure coded onto data nodes)
// and reads any range of a version back, around shards that are missing,
// corrupt or out of reach. It commits nothing: the caller commits the
// version it returns through meta, with the front end's metadata.
type Store struct {
	index  Index
	shards Shards
	k, m   int
	quorum int // shards durable before an ack (Config.WriteQuorum)
	block  int
	inline int64
	now    func() time.Time
	master *sse.MasterKey // wraps the data keys of all but SSE-C data
	// shardReports passes on shards reads find missing or bad.
	shardReports *shardReporter
	// unreadable passes on versions reads could not get.
	unreadable *unreadableReporter

	mu     sync.Mutex
	coders map[[3]int]*erasure.Coder
}

// New checks cfg's scheme and quorum and returns a Store.
func New(cfg Config) (*Store, error) {
	if cfg.Index == nil || cfg.Shards == nil {
		return nil, errors.New("model: Index and Shards are required")
	}
	if cfg.MasterKey == nil {
		return nil, errors.New("model: a master key is required (data is always encrypted at rest)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	coder, err := erasure.New(cfg.DataShards, cfg.ParityShards, cfg.BlockSize)
	if err != nil {
		return nil, fmt.Errorf("model: erasure scheme: %w", err)
	}
	if cfg.WriteQuorum < cfg.DataShards || cfg.WriteQuorum > cfg.DataShards+cfg.ParityShards {
		return nil, fmt.Errorf("model: write quorum %d outside [%d, %d] (data shards to data+parity shards)",
			cfg.WriteQuorum, cfg.DataShards, cfg.DataShards+cfg.ParityShards)
	}
	return &Store{
		index: cfg.Index, shards: cfg.Shards,
		k: cfg.DataShards, m: cfg.ParityShards, block: cfg.BlockSize, quorum: cfg.WriteQuorum,
		inline: cfg.InlineThreshold, now: cfg.Now, master: cfg.MasterKey,
		shardReports: newShardReporter(cfg.Index, cfg.Logger, cfg.Now),
		unreadable:   newUnreadableReporter(cfg.Index, cfg.Logger),
		coders:       map[[3]int]*erasure.Coder{{cfg.DataShards, cfg.ParityShards, cfg.BlockSize}: coder},
	}, nil
}

// StreamCharge is what one body being written keeps in memory: the
// encoder's two stripe buffers. Front ends bound their admission by it.
func (s *Store) StreamCharge() int64 { return int64(2 * (s.k + s.m) * s.block) }

// InlineThreshold is the largest size of data kept in the record itself
// (negative: none is).
func (s *Store) InlineThreshold() int64 { return s.inline }

// NoteUnreadable tells meta, in the background and at most once a minute
// per version, about a read that could not get enough shards (err from
// Read). ns and bucket name the version's bucket. Other errors are
// ignored.
func (s *Store) NoteUnreadable(ns, bucket string, err error) { s.unreadable.note(ns, bucket, err) }

func (s *Store) coder(k, m, block int) (*erasure.Coder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [3]int{k, m, block}
	if c, ok := s.coders[key]; ok {
		return c, nil
	}
	c, err := erasure.New(k, m, block)
	if err != nil {
		return nil, err
	}
	s.coders[key] = c
	return c, nil
}

// newVersionID returns a version ID that sorts by creation time: 8 bytes of
// the proposer's clock then 8 random bytes, hex encoded.
func newVersionID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}
