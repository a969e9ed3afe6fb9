package node

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// bitrotPattern fills the block the disk-corruption test damages, so the
// test can find its bytes in Pebble's files.
var bitrotPattern = []byte("CAIRN-BITROT-TARGET-0123456789ab")

const bitrotBlock = 5

func victimBlock(i, size int) []byte {
	if i == bitrotBlock {
		return bytes.Repeat(bitrotPattern, size/len(bitrotPattern))
	}
	return blockData(77, i, size)
}

// TestStoreDiskCorruption flips bytes of a stored block in the files on
// disk, as bitrot would, and checks that reading it fails with ErrChecksum
// (never returning the damaged bytes) while everything else still reads.
func TestStoreDiskCorruption(t *testing.T) {
	dir := t.TempDir()
	opts := memOptions(t)
	opts.FS = nil
	const n, size = 32, 64 << 10
	s := openStore(t, dir, opts)
	mustPut(t, s, "victim", func(yield func([]byte, error) bool) {
		for i := range n {
			if !yield(victimBlock(i, size), nil) {
				return
			}
		}
	})
	mustPut(t, s, "bystander-big", genBlocks(2, 16, size))
	mustPut(t, s, "bystander-small", genBlocks(3, 3, 1000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Find the pattern in every file under dir and flip bytes in its middle.
	needle := bytes.Repeat(bitrotPattern, 64)
	hits := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		off := bytes.Index(data, needle)
		if off < 0 {
			return nil
		}
		hits++
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		at := int64(off + size/2)
		flip := []byte{data[at] ^ 0xff, data[at+1] ^ 0x01}
		if _, err := f.WriteAt(flip, at); err != nil {
			return err
		}
		t.Logf("flipped 2 bytes at %d in %s", at, filepath.Base(path))
		return f.Sync()
	})
	if err != nil {
		t.Fatal(err)
	}
	if hits == 0 {
		t.Fatal("pattern not found on disk")
	}

	s = openStore(t, dir, opts)
	defer s.Close()
	got, err := readAll(s, "victim", 0, 0)
	if !errors.Is(err, rpcerr.ErrChecksum) {
		t.Fatalf("read of corrupted shard: %d blocks, err %v; want ErrChecksum", len(got), err)
	}
	if len(got) > bitrotBlock {
		t.Fatalf("read returned %d blocks, past the corrupted block %d", len(got), bitrotBlock)
	}
	for i, b := range got {
		if !bytes.Equal(b, victimBlock(i, size)) {
			t.Fatalf("block %d returned wrong bytes", i)
		}
	}
	t.Logf("corrupted read failed as wanted: %v", err)
	// The node learns which shard a read found damaged, once, to report it.
	if got := s.TakeDamaged(); len(got) != 1 || got[0] != "victim" {
		t.Fatalf("damaged shards after the read: %v, want [victim]", got)
	}
	if got := s.TakeDamaged(); len(got) != 0 {
		t.Fatalf("damaged shards taken twice: %v", got)
	}
	// A second read fails fast from the memory of damaged blocks.
	start := time.Now()
	if _, err := readAll(s, "victim", bitrotBlock, 1); !errors.Is(err, rpcerr.ErrChecksum) {
		t.Fatalf("read of the corrupted block alone: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("second read of a damaged block took %v", d)
	}
	// The rest of the victim and the other shards still read.
	for _, rg := range [][2]int64{{0, bitrotBlock}, {bitrotBlock + 1, n - bitrotBlock - 1}} {
		blocks, err := readAll(s, "victim", rg[0], rg[1])
		if err != nil {
			t.Fatalf("victim [%d,+%d): %v", rg[0], rg[1], err)
		}
		for i, b := range blocks {
			if !bytes.Equal(b, victimBlock(int(rg[0])+i, size)) {
				t.Fatalf("victim block %d wrong", int(rg[0])+i)
			}
		}
	}
	checkGenerated(t, s, "bystander-big", 2, 16, size)
	checkGenerated(t, s, "bystander-small", 3, 3, 1000)
	if c := s.Counters(); c.ChecksumFailures < 2 {
		t.Fatalf("counters %+v", c)
	}
}
