package node

import (
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// ScrubShard reads every block: a sound shard scrubs clean and counts its
// blocks; a shard with a damaged block is reported corrupt, not as an
// error; a missing shard is ErrShardNotFound.
func TestScrubShardFindsDamagedBlocks(t *testing.T) {
	s := openMem(t)
	ctx := context.Background()
	mustPut(t, s, "good", genBlocks(1, 5, 1000))
	bad := mustPut(t, s, "bad", genBlocks(2, 5, 1000))
	// Rewrite block 3 of "bad" with data that does not match its CRC.
	v := make([]byte, crcLen+1000)
	v[crcLen] = 1
	if err := s.db.Set(appendBlockKey(nil, bad.seq, 3), v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	var limited int
	res, err := s.ScrubShard(ctx, "good", func(context.Context, int) error { limited++; return nil })
	if err != nil || res.Corrupt != nil || res.Blocks != 5 || res.Bytes != 5000 || limited != 5 {
		t.Fatalf("good: %+v, %v (limited %d)", res, err, limited)
	}
	res, err = s.ScrubShard(ctx, "bad", nil)
	if err != nil || !errors.Is(res.Corrupt, rpcerr.ErrChecksum) || res.Blocks != 3 {
		t.Fatalf("bad: %+v, %v", res, err)
	}
	if _, err := s.ScrubShard(ctx, "gone", nil); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("gone: %v", err)
	}
	if c := s.Counters(); c.ShardsScrubbed != 2 || c.BlocksScrubbed != 8 {
		t.Fatalf("counters %+v", c)
	}
}
