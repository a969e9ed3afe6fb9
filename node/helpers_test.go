package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// testLogger sends logs to the test log, keeping -v output readable.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

func memOptions(t testing.TB) StoreOptions {
	return StoreOptions{FS: vfs.NewMem(), Logger: testLogger(t), Now: fixedClock(), MemTableSize: 4 << 20, CacheSize: 4 << 20}
}

func openStore(t testing.TB, dir string, opts StoreOptions) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

func openMem(t testing.TB) *Store {
	t.Helper()
	s := openStore(t, "/data", memOptions(t))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// blockData returns the deterministic content of block i of a shard seeded
// with seed.
func blockData(seed uint64, i, size int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	b := make([]byte, size)
	for j := 0; j+8 <= len(b); j += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[j+k] = byte(v >> (8 * k))
		}
	}
	for j := len(b) &^ 7; j < len(b); j++ {
		b[j] = byte(r.Uint32())
	}
	return b
}

// genBlocks yields n generated blocks without holding them all.
func genBlocks(seed uint64, n, size int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for i := range n {
			if !yield(blockData(seed, i, size), nil) {
				return
			}
		}
	}
}

func sliceBlocks(blocks [][]byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, b := range blocks {
			if !yield(b, nil) {
				return
			}
		}
	}
}

// failingBlocks yields n generated blocks and then err.
func failingBlocks(seed uint64, n, size int, err error) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for i := range n {
			if !yield(blockData(seed, i, size), nil) {
				return
			}
		}
		yield(nil, err)
	}
}

func mustPut(t testing.TB, s *Store, id string, blocks iter.Seq2[[]byte, error]) ShardInfo {
	t.Helper()
	info, err := s.PutShard(context.Background(), id, blocks)
	if err != nil {
		t.Fatalf("put %s: %v", id, err)
	}
	return info
}

// readAll reads [first,+count) and returns the blocks' data, or the first
// error together with the blocks read before it.
func readAll(s *Store, id string, first, count int64) ([][]byte, error) {
	r, err := s.GetShard(context.Background(), id, first, count)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out [][]byte
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if b.Index != first+int64(len(out)) {
			return out, errors.New("block index out of sequence")
		}
		out = append(out, bytes.Clone(b.Data))
	}
}

// checkGenerated verifies a whole generated shard block by block without
// holding it.
func checkGenerated(t testing.TB, s *Store, id string, seed uint64, n, size int) {
	t.Helper()
	r, err := s.GetShard(context.Background(), id, 0, 0)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	defer r.Close()
	for i := range n {
		b, err := r.Next()
		if err != nil {
			t.Fatalf("get %s block %d: %v", id, i, err)
		}
		if b.Index != int64(i) || !bytes.Equal(b.Data, blockData(seed, i, size)) {
			t.Fatalf("get %s block %d: wrong data (index %d, %d bytes)", id, i, b.Index, len(b.Data))
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("get %s: after %d blocks got %v, want EOF", id, n, err)
	}
}

// blockKeyCount counts every block key in the store, visible or not.
func blockKeyCount(t testing.TB, s *Store) int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixBlock), UpperBound: prefixEnd(prefixBlock)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return n
}

func tmpFiles(t testing.TB, s *Store) []string {
	t.Helper()
	names, err := s.fs.List(s.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func (s *Store) seqInFlightCount() int {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	return len(s.active)
}
