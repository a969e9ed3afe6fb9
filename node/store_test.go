package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestStoreRoundTripSmall(t *testing.T) {
	s := openMem(t)
	blocks := [][]byte{[]byte("alpha"), []byte("beta"), {}, bytes.Repeat([]byte{7}, 1000)}
	info := mustPut(t, s, "v1.0", sliceBlocks(blocks))
	if info.Blocks != 4 || info.Bytes != 1009 || !info.Created.Equal(fixedClock()()) {
		t.Fatalf("put info %+v", info)
	}
	got, err := readAll(s, "v1.0", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(blocks) {
		t.Fatalf("got %d blocks", len(got))
	}
	for i := range blocks {
		if !bytes.Equal(got[i], blocks[i]) {
			t.Fatalf("block %d: %q", i, got[i])
		}
	}
	st, err := s.StatShard(context.Background(), "v1.0")
	if err != nil || st.Blocks != 4 || st.Bytes != 1009 {
		t.Fatalf("stat %+v %v", st, err)
	}
	c := s.Counters()
	if c.ShardsPut != 1 || c.ShardsIngested != 0 || c.BlocksWritten != 4 || c.BlocksRead != 4 || c.BytesRead != 1009 {
		t.Fatalf("counters %+v", c)
	}
}

func TestStoreRoundTripEmptyShard(t *testing.T) {
	s := openMem(t)
	info := mustPut(t, s, "empty", sliceBlocks(nil))
	if info.Blocks != 0 || info.Bytes != 0 {
		t.Fatalf("info %+v", info)
	}
	got, err := readAll(s, "empty", 0, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("read empty: %d blocks, %v", len(got), err)
	}
	if _, err := readAll(s, "empty", 1, 0); !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("read past empty: %v", err)
	}
	u, _ := s.Usage(context.Background())
	if u.Shards != 1 || u.LiveBytes != 0 {
		t.Fatalf("usage %+v", u)
	}
}

func TestStoreRoundTripLargeIngested(t *testing.T) {
	s := openMem(t)
	const n, size = 40, 256 << 10
	info := mustPut(t, s, "big", genBlocks(1, n, size))
	if info.Blocks != n || info.Bytes != n*size {
		t.Fatalf("info %+v", info)
	}
	checkGenerated(t, s, "big", 1, n, size)
	if c := s.Counters(); c.ShardsIngested != 1 {
		t.Fatalf("large shard not ingested: %+v", c)
	}
	if f := tmpFiles(t, s); len(f) != 0 {
		t.Fatalf("scratch files left: %v", f)
	}
}

func TestStoreManyBlocks(t *testing.T) {
	s := openMem(t)
	// Small path: 2000 blocks of 100 bytes (200 KB) in one batch.
	mustPut(t, s, "many-small", genBlocks(2, 2000, 100))
	checkGenerated(t, s, "many-small", 2, 2000, 100)
	// Ingest path: 3000 blocks of 1 KiB, spilled after the first MiB.
	mustPut(t, s, "many-spilled", genBlocks(3, 3000, 1024))
	checkGenerated(t, s, "many-spilled", 3, 3000, 1024)
	// Exactly at the threshold stays in a batch.
	mustPut(t, s, "at-threshold", genBlocks(4, 4, 256<<10))
	checkGenerated(t, s, "at-threshold", 4, 4, 256<<10)
	if c := s.Counters(); c.ShardsIngested != 1 {
		t.Fatalf("want exactly one ingested shard, counters %+v", c)
	}
}

// TestStore64MiBIngest writes a 64 MiB shard of 256 KiB blocks to a real
// directory and checks it went through ingestion, not the WAL.
func TestStore64MiBIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB on disk")
	}
	opts := memOptions(t)
	opts.FS = nil
	s := openStore(t, t.TempDir(), opts)
	defer s.Close()
	const n, size = 256, 256 << 10
	walBefore := s.db.Metrics().WAL.BytesIn
	mustPut(t, s, "v64.3", genBlocks(64, n, size))
	checkGenerated(t, s, "v64.3", 64, n, size)
	m := s.db.Metrics()
	if in := m.WAL.BytesIn - walBefore; in > 64<<10 {
		t.Fatalf("%d bytes went through the WAL for an ingested shard", in)
	}
	var ingested uint64
	for _, l := range m.Levels {
		ingested += l.TableBytesIngested
	}
	if ingested < n*size {
		t.Fatalf("ingested %d bytes, want >= %d", ingested, n*size)
	}
	if m.Levels[6].TablesIngested != 1 {
		t.Logf("LSM:\n%s", m)
		t.Errorf("ingested table did not land in L6")
	}
	if f := tmpFiles(t, s); len(f) != 0 {
		t.Fatalf("scratch files left: %v", f)
	}
}

func TestStoreRangeReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"batched", 1000}, {"ingested", 200 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			const n = 10
			mustPut(t, s, "r", genBlocks(9, n, tc.size))
			for _, rg := range []struct{ first, count, want int64 }{
				{0, 0, 10}, {3, 4, 4}, {9, 1, 1}, {9, 0, 1}, {10, 0, 0}, {0, 10, 10}, {0, 1, 1},
			} {
				got, err := readAll(s, "r", rg.first, rg.count)
				if err != nil {
					t.Fatalf("[%d,+%d): %v", rg.first, rg.count, err)
				}
				if int64(len(got)) != rg.want {
					t.Fatalf("[%d,+%d): %d blocks, want %d", rg.first, rg.count, len(got), rg.want)
				}
				for i, b := range got {
					if !bytes.Equal(b, blockData(9, int(rg.first)+i, tc.size)) {
						t.Fatalf("[%d,+%d): block %d wrong", rg.first, rg.count, i)
					}
				}
			}
			for _, rg := range [][2]int64{{11, 0}, {5, 6}, {-1, 1}, {0, -1}, {10, 1}} {
				if _, err := readAll(s, "r", rg[0], rg[1]); !errors.Is(err, rpcerr.ErrInvalidArgument) {
					t.Fatalf("[%d,+%d): %v, want invalid argument", rg[0], rg[1], err)
				}
			}
		})
	}
}

func TestStoreNotFound(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	if _, err := s.GetShard(ctx, "nope", 0, 0); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := s.StatShard(ctx, "nope"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat: %v", err)
	}
	if err := s.DeleteShard(ctx, "nope"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("delete: %v", err)
	}
	// A shard ID that is a prefix of another is a different shard.
	mustPut(t, s, "ab", sliceBlocks([][]byte{[]byte("x")}))
	if _, err := s.StatShard(ctx, "a"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("stat prefix: %v", err)
	}
	if _, err := s.StatShard(ctx, ""); !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("stat empty ID: %v", err)
	}
}

func TestStoreBrokenPutLeavesNothing(t *testing.T) {
	boom := errors.New("client went away")
	for _, tc := range []struct {
		name      string
		n, size   int
		ingestion bool
	}{{"batched", 3, 1000, false}, {"spilled", 20, 256 << 10, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			_, err := s.PutShard(context.Background(), "broken", failingBlocks(5, tc.n, tc.size, boom))
			if !errors.Is(err, boom) {
				t.Fatalf("put: %v, want %v", err, boom)
			}
			if _, err := s.StatShard(context.Background(), "broken"); !errors.Is(err, rpcerr.ErrShardNotFound) {
				t.Fatalf("stat after broken put: %v", err)
			}
			if n := blockKeyCount(t, s); n != 0 {
				t.Fatalf("%d block keys left", n)
			}
			if f := tmpFiles(t, s); len(f) != 0 {
				t.Fatalf("scratch files left: %v", f)
			}
			if u, _ := s.Usage(context.Background()); u.Shards != 0 || u.LiveBytes != 0 {
				t.Fatalf("usage %+v", u)
			}
		})
	}
}

func TestStoreCanceledPutLeavesNothing(t *testing.T) {
	s := openMem(t)
	ctx, cancel := context.WithCancel(context.Background())
	blocks := func(yield func([]byte, error) bool) {
		for i := range 50 {
			if i == 10 {
				cancel()
			}
			if !yield(blockData(1, i, 256<<10), nil) {
				return
			}
		}
	}
	if _, err := s.PutShard(ctx, "c", blocks); !errors.Is(err, context.Canceled) {
		t.Fatalf("put: %v", err)
	}
	if n := blockKeyCount(t, s); n != 0 {
		t.Fatalf("%d block keys left", n)
	}
	if f := tmpFiles(t, s); len(f) != 0 {
		t.Fatalf("scratch files left: %v", f)
	}
}

func TestStoreBrokenOverwriteKeepsOld(t *testing.T) {
	s := openMem(t)
	mustPut(t, s, "k", genBlocks(1, 8, 256<<10))
	_, err := s.PutShard(context.Background(), "k", failingBlocks(2, 8, 256<<10, io.ErrUnexpectedEOF))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("put: %v", err)
	}
	checkGenerated(t, s, "k", 1, 8, 256<<10)
	if n := blockKeyCount(t, s); n != 8 {
		t.Fatalf("%d block keys, want 8", n)
	}
}

func TestStoreOverwrite(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	mustPut(t, s, "o", genBlocks(1, 12, 256<<10)) // ingested
	mustPut(t, s, "o", genBlocks(2, 3, 100))      // batched
	checkGenerated(t, s, "o", 2, 3, 100)
	if n := blockKeyCount(t, s); n != 3 {
		t.Fatalf("%d block keys after overwrite, want 3", n)
	}
	mustPut(t, s, "o", genBlocks(3, 9, 256<<10)) // ingested again
	checkGenerated(t, s, "o", 3, 9, 256<<10)
	if n := blockKeyCount(t, s); n != 9 {
		t.Fatalf("%d block keys after overwrite, want 9", n)
	}
	u, _ := s.Usage(ctx)
	if u.Shards != 1 || u.LiveBytes != 9*256<<10 {
		t.Fatalf("usage %+v", u)
	}
}

func TestStoreDeleteFrees(t *testing.T) {
	opts := memOptions(t)
	opts.FS = nil
	s := openStore(t, t.TempDir(), opts)
	defer s.Close()
	ctx := context.Background()
	mustPut(t, s, "keep", genBlocks(1, 2, 1000))
	mustPut(t, s, "del-big", genBlocks(2, 64, 256<<10))
	mustPut(t, s, "del-small", genBlocks(3, 3, 1000))
	before := s.db.Metrics().DiskSpaceUsage()
	for _, id := range []string{"del-big", "del-small"} {
		if err := s.DeleteShard(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetShard(ctx, id, 0, 0); !errors.Is(err, rpcerr.ErrShardNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
	}
	if n := blockKeyCount(t, s); n != 2 {
		t.Fatalf("%d block keys, want 2", n)
	}
	u, _ := s.Usage(ctx)
	if u.Shards != 1 || u.LiveBytes != 2000 {
		t.Fatalf("usage %+v", u)
	}
	if u.DiskTotal <= 0 || u.DiskAvailable <= 0 || u.Capacity() != u.LiveBytes+u.DiskAvailable {
		t.Fatalf("disk usage %+v", u)
	}
	// Let Pebble drop the deleted files.
	if err := s.db.Compact(ctx, []byte(prefixBlock), prefixEnd(prefixBlock), true); err != nil {
		t.Fatal(err)
	}
	after := s.db.Metrics().DiskSpaceUsage()
	if after > before-32<<20 {
		t.Fatalf("disk usage %d -> %d after deleting 16 MiB", before, after)
	}
	checkGenerated(t, s, "keep", 1, 2, 1000)
}

func TestStoreListOrderAndPagination(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	var ids []string
	for i := range 57 {
		ids = append(ids, fmt.Sprintf("v%03d.%d", (i*37)%57, i%6))
	}
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(ids)) {
		mustPut(t, s, ids[i], sliceBlocks([][]byte{[]byte(ids[i])}))
	}
	slices.Sort(ids)
	var all []string
	for info, err := range s.ListShards(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if info.Blocks != 1 || info.Bytes != int64(len(info.ID)) {
			t.Fatalf("info %+v", info)
		}
		all = append(all, info.ID)
	}
	if !slices.Equal(all, ids) {
		t.Fatalf("list order:\n%v\nwant\n%v", all, ids)
	}
	var paged []string
	after := ""
	for pages := 0; ; pages++ {
		var page []string
		for info, err := range s.ListShards(ctx, after, 10) {
			if err != nil {
				t.Fatal(err)
			}
			page = append(page, info.ID)
		}
		if len(page) == 0 {
			if pages != 6 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("paged list:\n%v\nwant\n%v", paged, ids)
	}
	// start_after need not name an existing shard.
	var rest []string
	for info, err := range s.ListShards(ctx, "v050", 0) {
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, info.ID)
	}
	want := ids[slices.IndexFunc(ids, func(id string) bool { return id > "v050" }):]
	if !slices.Equal(rest, want) {
		t.Fatalf("start_after v050: %v, want %v", rest, want)
	}
}

// corruptStoredCRC is the test hook for (a): it rewrites block idx of a
// shard with a stored checksum that does not match its data.
func corruptStoredCRC(t *testing.T, s *Store, id string, idx int64) {
	t.Helper()
	info, found, err := s.lookup(id)
	if err != nil || !found {
		t.Fatalf("lookup %s: %v %v", id, found, err)
	}
	k := appendBlockKey(nil, info.seq, idx)
	v, closer, err := s.db.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(v)
	closer.Close()
	binary.BigEndian.PutUint32(bad, binary.BigEndian.Uint32(bad)^0x00010000)
	if err := s.db.Set(k, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func TestStoreChecksumMismatch(t *testing.T) {
	s := openMem(t)
	mustPut(t, s, "c", genBlocks(1, 6, 300<<10))
	corruptStoredCRC(t, s, "c", 3)
	got, err := readAll(s, "c", 0, 0)
	if !errors.Is(err, rpcerr.ErrChecksum) {
		t.Fatalf("read corrupted: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d blocks before the bad one, want 3", len(got))
	}
	for i, b := range got {
		if !bytes.Equal(b, blockData(1, i, 300<<10)) {
			t.Fatalf("block %d wrong", i)
		}
	}
	// Ranges that avoid block 3 still read.
	if _, err := readAll(s, "c", 4, 2); err != nil {
		t.Fatalf("read after bad block: %v", err)
	}
	if _, err := readAll(s, "c", 3, 1); !errors.Is(err, rpcerr.ErrChecksum) {
		t.Fatalf("read bad block alone: %v", err)
	}
	if c := s.Counters(); c.ChecksumFailures != 2 {
		t.Fatalf("checksum failures %d, want 2", c.ChecksumFailures)
	}
}

func TestStoreMissingBlockIsDataLoss(t *testing.T) {
	s := openMem(t)
	info := mustPut(t, s, "m", genBlocks(1, 5, 100))
	if err := s.db.Delete(appendBlockKey(nil, info.seq, 2), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(s, "m", 0, 0)
	if !errors.Is(err, rpcerr.ErrChecksum) || len(got) != 2 {
		t.Fatalf("read with a hole: %d blocks, %v", len(got), err)
	}
	if err := s.db.Delete(appendBlockKey(nil, info.seq, 4), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(s, "m", 3, 0); !errors.Is(err, rpcerr.ErrChecksum) {
		t.Fatalf("read with a missing last block: %v", err)
	}
}

func TestStoreReopen(t *testing.T) {
	opts := memOptions(t)
	s := openStore(t, "/d", opts)
	a := mustPut(t, s, "a", genBlocks(1, 3, 1000))
	b := mustPut(t, s, "b", genBlocks(2, 10, 256<<10))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StatShard(context.Background(), "a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("stat on closed store: %v", err)
	}
	s = openStore(t, "/d", opts)
	defer s.Close()
	checkGenerated(t, s, "a", 1, 3, 1000)
	checkGenerated(t, s, "b", 2, 10, 256<<10)
	u, _ := s.Usage(context.Background())
	if u.Shards != 2 || u.LiveBytes != 3000+10*256<<10 {
		t.Fatalf("usage after reopen %+v", u)
	}
	c := mustPut(t, s, "c", genBlocks(3, 1, 10))
	if c.seq <= max(a.seq, b.seq) {
		t.Fatalf("seq went backwards: %d after %d, %d", c.seq, a.seq, b.seq)
	}
}

func TestStoreSweepOrphans(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	mustPut(t, s, "live-small", genBlocks(1, 3, 100))
	mustPut(t, s, "live-big", genBlocks(2, 8, 256<<10))
	// An orphan: blocks of a seq no index record owns, as a crash between
	// ingest and index commit leaves.
	seq, err := s.allocSeq()
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(4) {
		if err := s.db.Set(appendBlockKey(nil, seq, i), []byte("0000orphan"), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	// While its put is in flight it must survive a sweep.
	if n, err := s.SweepOrphans(ctx); err != nil || n != 0 {
		t.Fatalf("sweep with put in flight: %d, %v", n, err)
	}
	s.releaseSeq(seq)
	if n, err := s.SweepOrphans(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if n := blockKeyCount(t, s); n != 11 {
		t.Fatalf("%d block keys after sweep, want 11", n)
	}
	checkGenerated(t, s, "live-small", 1, 3, 100)
	checkGenerated(t, s, "live-big", 2, 8, 256<<10)
}

func TestStoreConcurrentPuts(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 6 {
				id := fmt.Sprintf("shared.%d", i%2) // contended IDs
				if g%2 == 0 {
					id = fmt.Sprintf("own-%d.%d", g, i)
				}
				size := 1000
				if i%3 == 0 {
					size = 256 << 10
				}
				if _, err := s.PutShard(ctx, id, genBlocks(uint64(g), 6, size)); err != nil {
					t.Error(err)
					return
				}
				if r, err := s.GetShard(ctx, id, 0, 0); err == nil {
					for {
						if _, err := r.Next(); err != nil {
							if !errors.Is(err, io.EOF) {
								t.Error(err)
							}
							break
						}
					}
					r.Close()
				}
			}
		})
	}
	wg.Wait()
	var blocks int64
	var shards int64
	for info, err := range s.ListShards(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		blocks += info.Blocks
		shards++
	}
	if n := blockKeyCount(t, s); int64(n) != blocks {
		t.Fatalf("%d block keys for %d live blocks: overwrites leaked", n, blocks)
	}
	if u, _ := s.Usage(ctx); u.Shards != shards || shards != 4*6+2 {
		t.Fatalf("usage %+v, listed %d", u, shards)
	}
}

func TestStoreReaderSeesSnapshot(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	mustPut(t, s, "x", genBlocks(1, 4, 1000))
	r, err := s.GetShard(ctx, "x", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteShard(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 4; i++ {
		b, err := r.Next()
		if err != nil || !bytes.Equal(b.Data, blockData(1, i, 1000)) {
			t.Fatalf("block %d after concurrent delete: %v", i, err)
		}
	}
}

// PutBlocks keeps the checksums it is given rather than computing them
// again: right ones give the shard PutShard would store, and a wrong one
// is stored as it came and refused on read, small shards and large alike.
func TestPutBlocksKeepsTheGivenChecksums(t *testing.T) {
	s := openMem(t)
	for _, tc := range []struct {
		name    string
		n, size int
	}{{"small", 3, 1000}, {"large", 32, 64 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			want := mustPut(t, s, tc.name+"-ref", genBlocks(5, tc.n, tc.size))
			got, err := s.PutBlocks(context.Background(), tc.name, Checksummed(genBlocks(5, tc.n, tc.size)), nil)
			if err != nil || got.Digest != want.Digest || got.Bytes != want.Bytes {
				t.Fatalf("put with right checksums: %v, digest %x bytes %d; PutShard gave %x, %d", err, got.Digest, got.Bytes, want.Digest, want.Bytes)
			}
			const bad = 1
			wrong := func(yield func(Block, error) bool) {
				for b, err := range Checksummed(genBlocks(5, tc.n, tc.size)) {
					if b.Index == bad {
						b.CRC ^= 1
					}
					if !yield(b, err) {
						return
					}
				}
			}
			if _, err := s.PutBlocks(context.Background(), tc.name+"-wrong", wrong, nil); err != nil {
				t.Fatal(err)
			}
			blocks, err := readAll(s, tc.name+"-wrong", 0, 0)
			if !errors.Is(err, rpcerr.ErrChecksum) || len(blocks) != bad {
				t.Fatalf("read of the shard stored with a wrong checksum: %d blocks, %v", len(blocks), err)
			}
		})
	}
}
