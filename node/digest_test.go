package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc/codes"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// digestOf is the shard digest of generated blocks, computed the way a
// client computes it.
func digestOf(seed uint64, n, size int) uint64 {
	d := erasure.NewDigest()
	for i := range n {
		b := blockData(seed, i, size)
		d.Add(len(b), erasure.Checksum(b))
	}
	return d.Sum()
}

// PutShard records the digest of the blocks written, in the batch and the
// sstable paths alike; StatShard, ListShards and StatShards return it, and
// it survives a reopen. Another content under the same ID has another
// digest.
func TestStoreRecordsShardDigest(t *testing.T) {
	opts := memOptions(t)
	s := openStore(t, "/d", opts)
	ctx := context.Background()
	cases := []struct {
		id         string
		seed       uint64
		n, size    int
		wantDigest uint64
	}{
		{"small", 1, 3, 1000, digestOf(1, 3, 1000)},
		{"ingested", 2, 8, 256 << 10, digestOf(2, 8, 256<<10)},
		{"empty", 3, 0, 0, digestOf(3, 0, 0)},
	}
	for _, tc := range cases {
		info := mustPut(t, s, tc.id, genBlocks(tc.seed, tc.n, tc.size))
		if info.Digest == 0 || info.Digest != tc.wantDigest {
			t.Fatalf("%s: put digest %016x, want %016x", tc.id, info.Digest, tc.wantDigest)
		}
	}
	check := func(when string) {
		t.Helper()
		listed := map[string]uint64{}
		for info, err := range s.ListShards(ctx, "", 0) {
			if err != nil {
				t.Fatal(err)
			}
			listed[info.ID] = info.Digest
		}
		for _, tc := range cases {
			st, err := s.StatShard(ctx, tc.id)
			if err != nil || st.Digest != tc.wantDigest {
				t.Fatalf("%s: stat %s: digest %016x, %v; want %016x", when, tc.id, st.Digest, err, tc.wantDigest)
			}
			if listed[tc.id] != tc.wantDigest {
				t.Fatalf("%s: list %s: digest %016x, want %016x", when, tc.id, listed[tc.id], tc.wantDigest)
			}
		}
	}
	check("before reopen")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, "/d", opts)
	defer s.Close()
	check("after reopen")

	before := cases[0].wantDigest
	info := mustPut(t, s, "small", genBlocks(9, 3, 1000))
	if info.Digest == before || info.Digest != digestOf(9, 3, 1000) {
		t.Fatalf("overwritten shard: digest %016x (was %016x), want %016x", info.Digest, before, digestOf(9, 3, 1000))
	}
	if st, _ := s.StatShard(ctx, "small"); st.Digest != info.Digest {
		t.Fatalf("stat after overwrite: %016x, want %016x", st.Digest, info.Digest)
	}
}

// putV1Index rewrites a shard's index record in the format of before shard
// digests (version 1, no digest).
func putV1Index(t *testing.T, s *Store, info ShardInfo) {
	t.Helper()
	b := []byte{indexV1}
	b = binary.AppendUvarint(b, info.seq)
	b = binary.AppendUvarint(b, uint64(info.Blocks))
	b = binary.AppendUvarint(b, uint64(info.Bytes))
	b = binary.AppendVarint(b, info.Created.UnixNano())
	if err := s.db.Set(indexKey(info.ID), b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// A record from before shard digests reads as digest 0, and its shard
// reads as before.
func TestStoreReadsIndexWithoutDigest(t *testing.T) {
	s := openMem(t)
	info := mustPut(t, s, "old", genBlocks(1, 4, 500))
	putV1Index(t, s, info)
	st, err := s.StatShard(context.Background(), "old")
	if err != nil || st.Digest != 0 || st.Blocks != 4 || st.Bytes != 2000 || !st.Created.Equal(info.Created) {
		t.Fatalf("stat of a version 1 record: %+v, %v", st, err)
	}
	checkGenerated(t, s, "old", 1, 4, 500)
	if _, err := decodeIndex("x", append(encodeIndex(info), 0)); !errors.Is(err, errBadIndex) {
		t.Fatalf("a record with a trailing byte: %v, want errBadIndex", err)
	}
}

// StatShards answers for the shards it holds, in ID order, once each,
// leaving out the ones it lacks; it refuses more than MaxStatShards IDs or
// an invalid one.
func TestStoreStatShards(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	for i, id := range []string{"b", "d", "f"} {
		mustPut(t, s, id, genBlocks(uint64(i), i+1, 100))
	}
	got, err := s.StatShards(ctx, []string{"f", "a", "d", "zz", "d", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "d" || got[1].ID != "f" {
		t.Fatalf("stat shards: %+v, want d and f", got)
	}
	if got[0].Blocks != 2 || got[0].Digest != digestOf(1, 2, 100) || got[1].Digest != digestOf(2, 3, 100) {
		t.Fatalf("stat shards: %+v", got)
	}
	if got, err := s.StatShards(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no IDs: %v, %v", got, err)
	}
	many := make([]string, MaxStatShards+1)
	for i := range many {
		many[i] = fmt.Sprintf("s%05d", i)
	}
	if _, err := s.StatShards(ctx, many); !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("%d IDs: %v, want ErrInvalidArgument", len(many), err)
	}
	if _, err := s.StatShards(ctx, []string{"b", ""}); !errors.Is(err, rpcerr.ErrInvalidArgument) {
		t.Fatalf("an empty ID: %v, want ErrInvalidArgument", err)
	}
	got, err = s.StatShards(ctx, many[:MaxStatShards])
	if err != nil || len(got) != 0 {
		t.Fatalf("%d unknown IDs: %d shards, %v", MaxStatShards, len(got), err)
	}
}

// PutShardVerified shows the shard, digest included, before committing
// it; a refusal keeps the older shard of that ID and leaves no blocks, in
// both the batch and the sstable paths.
func TestStorePutShardVerifiedRefusal(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	mustPut(t, s, "x", genBlocks(1, 2, 100))
	refused := errors.New("not this one")
	for _, size := range []int{100, 256 << 10} {
		var seen ShardInfo
		_, err := s.PutShardVerified(ctx, "x", genBlocks(2, 6, size), func(info ShardInfo) error {
			seen = info
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("size %d: %v, want the refusal", size, err)
		}
		if seen.Blocks != 6 || seen.Bytes != int64(6*size) || seen.Digest != digestOf(2, 6, size) {
			t.Fatalf("size %d: verify saw %+v", size, seen)
		}
		checkGenerated(t, s, "x", 1, 2, 100)
		if n := blockKeyCount(t, s); n != 2 {
			t.Fatalf("size %d: %d block keys after a refused put, want 2", size, n)
		}
		if f := tmpFiles(t, s); len(f) != 0 {
			t.Fatalf("size %d: scratch files left: %v", size, f)
		}
	}
	info, err := s.PutShardVerified(ctx, "x", genBlocks(3, 2, 100), func(ShardInfo) error { return nil })
	if err != nil || info.Digest != digestOf(3, 2, 100) {
		t.Fatalf("accepted put: %+v, %v", info, err)
	}
	checkGenerated(t, s, "x", 3, 2, 100)
}

// Over gRPC: PutShard answers with the digest and the incarnation;
// GetShard with a digest other than the recorded one is DATA_LOSS before
// any block, with the same one or 0 it reads; a record without a digest
// is not checked. StatShard, StatShards and ListShards carry the digest.
func TestServerShardDigests(t *testing.T) {
	c, st := startServer(t)
	ctx := context.Background()
	want := digestOf(4, 5, 1000)
	resp, err := rpcPut(ctx, c, genPut("s", 4, 5, 1000)...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDigest() != want || resp.GetIncarnation() == 0 || resp.GetIncarnation() != st.Incarnation() {
		t.Fatalf("put response %v; want digest %016x, incarnation %016x", resp, want, st.Incarnation())
	}

	get := func(expect uint64) ([]*cairnpb.Block, error) {
		gs, err := c.GetShard(ctx, &cairnpb.GetShardRequest{ShardId: "s", ExpectDigest: expect})
		if err != nil {
			return nil, err
		}
		var out []*cairnpb.Block
		for {
			m, err := gs.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, m.GetBlock())
		}
	}
	blocks, err := get(want ^ 1)
	wantCode(t, "get with another digest", err, codes.DataLoss, rpcerr.ErrChecksum)
	if len(blocks) != 0 {
		t.Fatalf("get with another digest sent %d blocks before refusing", len(blocks))
	}
	for _, expect := range []uint64{want, 0} {
		if blocks, err := get(expect); err != nil || len(blocks) != 5 {
			t.Fatalf("get expecting %016x: %d blocks, %v", expect, len(blocks), err)
		}
	}
	if c := st.Counters(); c.DigestMismatches != 1 {
		t.Fatalf("digest mismatches %d, want 1", c.DigestMismatches)
	}

	stat, err := c.StatShard(ctx, &cairnpb.StatShardRequest{ShardId: "s"})
	if err != nil || stat.GetInfo().GetDigest() != want {
		t.Fatalf("stat %v, %v", stat, err)
	}
	sts, err := c.StatShards(ctx, &cairnpb.StatShardsRequest{ShardIds: []string{"nope", "s"}})
	if err != nil || len(sts.GetShards()) != 1 || sts.GetShards()[0].GetShardId() != "s" || sts.GetShards()[0].GetDigest() != want {
		t.Fatalf("stat shards %v, %v", sts, err)
	}
	_, err = c.StatShards(ctx, &cairnpb.StatShardsRequest{ShardIds: make([]string, MaxStatShards+1)})
	wantCode(t, "stat of too many shards", err, codes.InvalidArgument, rpcerr.ErrInvalidArgument)
	ls, err := c.ListShards(ctx, &cairnpb.ListShardsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ls.Recv()
	if err != nil || len(m.GetShards()) != 1 || m.GetShards()[0].GetDigest() != want {
		t.Fatalf("list %v, %v", m, err)
	}

	info, err := st.StatShard(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	putV1Index(t, st, info)
	if blocks, err := get(want ^ 1); err != nil || len(blocks) != 5 {
		t.Fatalf("get of a shard without a recorded digest: %d blocks, %v", len(blocks), err)
	}
}

// ScrubShard recomputes the digest from the stored blocks: a block
// replaced by other bytes with their own valid CRC passes every block
// check but not the digest, and the shard is reported corrupt. A shard
// without a recorded digest is not checked.
func TestScrubShardFindsDigestMismatch(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	info := mustPut(t, s, "swapped", genBlocks(1, 4, 1000))
	other := blockData(99, 2, 1000)
	v := binary.BigEndian.AppendUint32(nil, erasure.Checksum(other))
	if err := s.db.Set(appendBlockKey(nil, info.seq, 2), append(v, other...), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(s, "swapped", 0, 0); err != nil {
		t.Fatalf("the swapped block should pass its own CRC: %v", err)
	}
	res, err := s.ScrubShard(ctx, "swapped", nil)
	if err != nil || !errors.Is(res.Corrupt, rpcerr.ErrChecksum) || res.Blocks != 4 {
		t.Fatalf("scrub of a shard with a swapped block: %+v, %v", res, err)
	}
	if c := s.Counters(); c.DigestMismatches != 1 {
		t.Fatalf("digest mismatches %d, want 1", c.DigestMismatches)
	}
	putV1Index(t, s, info)
	if res, err := s.ScrubShard(ctx, "swapped", nil); err != nil || res.Corrupt != nil {
		t.Fatalf("scrub without a recorded digest: %+v, %v", res, err)
	}
}
