package node

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A direct writer leaves exactly the bytes it was given in its file,
// whatever their length and however they are split into writes: whole
// buffers, an aligned rest and an unaligned tail.
func TestDirectWritableWritesExactBytes(t *testing.T) {
	dir := t.TempDir()
	bufs := &directBufs{}
	if err := probeDirect(dir, bufs); err != nil {
		t.Skipf("the test directory refuses O_DIRECT (%v); the store falls back to the page cache there", err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i, n := range []int{0, 1, directAlign - 1, directAlign, directAlign + 1, directBufSize, directBufSize + 3*directAlign, 2*directBufSize + 4097} {
		want := make([]byte, n)
		for j := range want {
			want[j] = byte(rng.Uint32())
		}
		path := filepath.Join(dir, "f"+string(rune('a'+i)))
		d, err := createDirect(path, bufs)
		if err != nil {
			t.Fatal(err)
		}
		for p := want; len(p) > 0; {
			k := min(len(p), 1+rng.IntN(300<<10))
			if err := d.Write(p[:k]); err != nil {
				t.Fatalf("%d bytes: write: %v", n, err)
			}
			p = p[k:]
		}
		if err := d.Finish(); err != nil {
			t.Fatalf("%d bytes: finish: %v", n, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes written, file holds %d (%v), equal %v", n, len(got), err, bytes.Equal(got, want))
		}
		if err := d.Write([]byte{1}); err == nil {
			t.Fatalf("write after Finish succeeded")
		}
	}
	if _, err := createDirect(filepath.Join(dir, "fa"), bufs); err == nil {
		t.Fatal("createDirect over an existing file succeeded")
	}
}

// A store asked for direct I/O on a disk that takes it writes its large
// shards that way, and they read back whole, also after a restart.
func TestStoreWritesLargeShardsDirect(t *testing.T) {
	dir := t.TempDir()
	if err := probeDirect(dir, &directBufs{}); err != nil {
		t.Skipf("the test directory refuses O_DIRECT (%v)", err)
	}
	ctx := context.Background()
	st, err := OpenStore(ctx, dir, StoreOptions{DirectIO: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.direct == nil {
		t.Fatal("store asked for direct I/O on a disk that takes it does not use it")
	}
	want := make([][]byte, 9) // 9 x 256 KiB + a short block: past SmallShardMax
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range want {
		n := 256 << 10
		if i == len(want)-1 {
			n = 1234
		}
		want[i] = make([]byte, n)
		for j := range want[i] {
			want[i][j] = byte(rng.Uint32())
		}
	}
	mustPut(t, st, "big", sliceBlocks(want))
	if got := st.ctr.shardsIngested.Load(); got != 1 {
		t.Fatalf("%d shards ingested, want 1", got)
	}
	check := func(st *Store) {
		t.Helper()
		got, err := readAll(st, "big", 0, 0)
		if err != nil || len(got) != len(want) {
			t.Fatalf("read %d blocks (%v), want %d", len(got), err, len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("block %d differs", i)
			}
		}
	}
	check(st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = OpenStore(ctx, dir, StoreOptions{DirectIO: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check(st)
}
