package node

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestPutShardKeepsSpaceReserve: with less free disk space than the
// reserve, PutShard refuses with ErrNoSpace and stores nothing; reads and
// deletes of what is there still work.
func TestPutShardKeepsSpaceReserve(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, StoreOptions{Logger: testLogger(t), MinFreeBytes: -1})
	t.Cleanup(func() { _ = s.Close() })
	mustPut(t, s, "kept", genBlocks(1, 3, 1000))
	s.minFree = 1 << 62              // more than any disk has
	for _, n := range []int{1, 40} { // a batch shard and an ingested one
		_, err := s.PutShard(context.Background(), "refused", genBlocks(2, n, 64<<10))
		if !errors.Is(err, rpcerr.ErrNoSpace) {
			t.Fatalf("%d blocks with the disk below the reserve: %v, want ErrNoSpace", n, err)
		}
	}
	if _, err := s.StatShard(context.Background(), "refused"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("refused shard: %v", err)
	}
	checkGenerated(t, s, "kept", 1, 3, 1000)
	if err := s.DeleteShard(context.Background(), "kept"); err != nil {
		t.Fatal(err)
	}
}
