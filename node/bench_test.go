package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleBytesWritten is every byte Pebble put on disk: WAL, flushed and
// compacted sstables and blob files, and ingested sstables (which the store
// wrote itself before handing them over). Pebble v2.1.7 sets
// BlobBytesCompacted for flushes too (BlobBytesFlushed is a subset of it),
// so only the former is summed; Pebble's own WriteAmp double-counts them.
func pebbleBytesWritten(m *pebble.Metrics) uint64 {
	total := m.WAL.BytesWritten
	for _, l := range m.Levels {
		total += l.TableBytesFlushed + l.TableBytesCompacted + l.TableBytesIngested + l.BlobBytesCompacted
	}
	return total
}

// procWriteBytes is the bytes this process sent to the storage layer
// (Linux /proc/self/io write_bytes), or -1 where that is not available.
func procWriteBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s := openStore(b, b.TempDir(), StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkPutShard writes shards of 256 KiB blocks to a real directory and
// reports throughput and write amplification (bytes Pebble wrote / block
// bytes given), after flushing and letting compactions finish. The
// benchmark's own setup writes nothing, so disk-write-amp (from the kernel)
// should agree with write-amp (from Pebble's metrics).
func BenchmarkPutShard(b *testing.B) {
	for _, bc := range []struct {
		name     string
		n, size  int
		parallel int // goroutines per GOMAXPROCS; 0: one writer
	}{
		{"64MiB", 256, 256 << 10, 0}, // ingested sstable
		{"1MiB", 4, 256 << 10, 0},    // synced batch through the WAL
		{"1MiB-par", 4, 256 << 10, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			blocks := make([][]byte, bc.n)
			for i := range blocks {
				blocks[i] = blockData(uint64(i), i, bc.size)
			}
			before := pebbleBytesWritten(s.db.Metrics())
			procBefore := procWriteBytes()
			b.SetBytes(int64(bc.n * bc.size))
			var puts atomic.Int64
			put := func() {
				i := puts.Add(1)
				if _, err := s.PutShard(ctx, fmt.Sprintf("v%08d.0", i), sliceBlocks(blocks)); err != nil {
					b.Error(err)
				}
			}
			b.ResetTimer()
			if bc.parallel > 0 {
				b.SetParallelism(bc.parallel)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						put()
					}
				})
			} else {
				for b.Loop() {
					put()
				}
			}
			b.StopTimer()
			i := int(puts.Load())
			if err := s.db.Flush(); err != nil {
				b.Fatal(err)
			}
			for s.db.Metrics().Compact.NumInProgress > 0 {
				time.Sleep(10 * time.Millisecond)
			}
			given := float64(i * bc.n * bc.size)
			written := pebbleBytesWritten(s.db.Metrics()) - before
			b.ReportMetric(float64(written)/given, "write-amp")
			// The kernel's count of what reached the block layer, as a
			// cross-check (dirty pages are charged when written back).
			if procAfter := procWriteBytes(); procBefore >= 0 && procAfter >= 0 {
				b.ReportMetric(float64(procAfter-procBefore)/given, "disk-write-amp")
			}
		})
	}
}

// BenchmarkGetShard reads a 64 MiB shard of 256 KiB blocks.
func BenchmarkGetShard(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	const n, size = 256, 256 << 10
	mustPut(b, s, "v.0", genBlocks(1, n, size))
	b.SetBytes(n * size)
	for b.Loop() {
		r, err := s.GetShard(ctx, "v.0", 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
		r.Close()
	}
}
