package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/model/modeltest"
)

func openLocal(t *testing.T) (localShards, *node.Store) {
	t.Helper()
	s, err := node.OpenStore(context.Background(), t.TempDir(), node.StoreOptions{SmallShardMax: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return localShards{stores: map[string]*node.Store{"a:1": s}, remote: modeltest.NewShards()}, s
}

func writeLocal(t *testing.T, l model.Shards, id string, blocks [][]byte) model.ShardWriter {
	t.Helper()
	w, err := l.PutShard(context.Background(), "a:1", id)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if err := w.WriteBlock(context.Background(), int64(i), b); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// Blocks written through the in-process path read back the same, from
// any block on, with the digest and incarnation the store recorded;
// both the batched and the ingested (sstable) store paths are taken.
func TestLocalShardsRoundTrip(t *testing.T) {
	l, s := openLocal(t)
	for _, n := range []int{2, 40} { // 2 x 4 KiB batched; 40 x 4 KiB spills
		var blocks [][]byte
		want := erasure.NewDigest()
		for i := 0; i < n; i++ {
			b := bytes.Repeat([]byte{byte(i + 1)}, 4096)
			blocks = append(blocks, b)
			want.Add(len(b), erasure.Checksum(b))
		}
		id := "rt-" + string(rune('a'+n%26))
		w := writeLocal(t, l, id, blocks)
		if w.Digest() != 0 {
			t.Fatal("a digest before Commit")
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if w.Digest() != want.Sum() || w.Incarnation() != s.Incarnation() || w.Incarnation() == 0 {
			t.Fatalf("digest %x (want %x), incarnation %d (store %d)", w.Digest(), want.Sum(), w.Incarnation(), s.Incarnation())
		}
		r, err := l.GetShard(context.Background(), "a:1", id, 1, w.Digest(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < n; i++ {
			b, err := r.ReadBlock(context.Background())
			if err != nil || !bytes.Equal(b, blocks[i]) {
				t.Fatalf("block %d: %v", i, err)
			}
		}
		if _, err := r.ReadBlock(context.Background()); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read past the end: %v", err)
		}
		_ = r.Close()
		// A record naming another digest is refused before any block.
		if _, err := l.GetShard(context.Background(), "a:1", id, 0, w.Digest()+1, time.Second); !errors.Is(err, rpcerr.ErrChecksum) {
			t.Fatalf("wrong digest: %v", err)
		}
	}
}

// An aborted write leaves nothing, and writes to it afterwards fail.
func TestLocalShardsAbort(t *testing.T) {
	l, s := openLocal(t)
	w := writeLocal(t, l, "ab", [][]byte{make([]byte, 4096)})
	w.Abort()
	if err := w.WriteBlock(context.Background(), 1, make([]byte, 4096)); err == nil {
		t.Fatal("WriteBlock after Abort succeeded")
	}
	if err := w.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if _, err := s.StatShard(context.Background(), "ab"); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("aborted shard: %v", err)
	}
	if _, err := l.GetShard(context.Background(), "a:1", "ab", 0, 0, time.Second); !errors.Is(err, rpcerr.ErrShardNotFound) {
		t.Fatalf("read of aborted shard: %v", err)
	}
}

// An address that is not in the process goes to the remote way.
func TestLocalShardsRemote(t *testing.T) {
	l, _ := openLocal(t)
	w, err := l.PutShard(context.Background(), "elsewhere:1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(*localWriter); ok {
		t.Fatal("a remote address was written in process")
	}
}
