package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/test/harness"
)

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// sizedBody returns size bytes that start with key, as the workload's
// bodies do, and go on pseudo-randomly.
func sizedBody(key string, size int, rng *rand.Rand) []byte {
	b := make([]byte, size)
	rng.Read(b)
	copy(b, key+"/")
	return b
}

// freeBytes returns the space available on the filesystem holding dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// onSmallDisk moves the stopped data node p onto a tmpfs of size bytes
// mounted over its directory, and starts it again.
func onSmallDisk(t *testing.T, p *harness.Proc, size int64) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	orig := p.Dir + ".orig"
	if err := os.Rename(p.Dir, orig); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", p.Dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	// Lazily: the process may still hold it open when this runs.
	t.Cleanup(func() { _ = syscall.Unmount(p.Dir, syscall.MNT_DETACH) })
	if err := copyTree(orig, p.Dir); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
}

// TestChaosDiskFull: one data node's disk (a 300 MiB tmpfs, of which the
// node keeps its default 128 MiB in reserve and Pebble preallocates ~140
// MiB for its WAL) fills up while clients keep writing new objects. The node refuses shards once its reserve is reached and keeps
// running; each write either fails or is acknowledged, and every
// acknowledged object reads back with its bytes, with the disk full and
// after the full node restarts.
func TestChaosDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	const reserve = 128 << 20 // cairn data's default --min-free
	c := harness.Start(t, cairnBin, clusterFlags)
	small := c.Datas[0]
	onSmallDisk(t, small, 300<<20)
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatal(err)
	}
	w := newWorkload(t, c, "full")
	rng := rand.New(rand.NewSource(1))
	acked := map[string][]byte{}
	// A first write makes Pebble preallocate its WAL.
	if op := w.Put(0, "first", sizedBody("first", 2<<20, rng)); op.Outcome != OK {
		t.Fatalf("first put: %s", op.Err)
	}
	free0 := freeBytes(t, small.Dir)
	if free0 < reserve+16<<20 {
		t.Fatalf("%s starts with %d KiB free, too little above its reserve to fill", small.Name, free0>>10)
	}
	// Each 2 MiB object puts ~512 KiB on each of the six nodes; write 15
	// more than it takes to bring the small one to its reserve.
	objects := int((free0-reserve)/(512<<10)) + 15
	t.Logf("%s: %d KiB free above its reserve; writing %d objects of 2 MiB", small.Name, (free0-reserve)>>10, objects)
	failed := 0
	var firstErr string
	for i := 0; i < objects; i++ {
		key := fmt.Sprintf("fill-%03d", i)
		body := sizedBody(key, 2<<20, rng)
		op := w.Put(0, key, body)
		if op.Outcome == OK {
			acked[key] = body
		} else {
			failed++
			if firstErr == "" {
				firstErr = op.Err
			}
		}
	}
	t.Logf("%d of %d PUTs acknowledged, %d failed (first: %q); %s running: %v",
		len(acked), objects, failed, firstErr, small.Name, small.Running())
	if !small.Running() {
		t.Fatalf("%s exited on a full disk; its log ends:\n%s", small.Name, small.LogTail(3000))
	}
	free := freeBytes(t, small.Dir)
	t.Logf("%s's disk: %d KiB free", small.Name, free>>10)
	if free > reserve+2<<20 {
		t.Fatalf("%s's disk has %d KiB free: it should have filled up to its %d KiB reserve", small.Name, free>>10, reserve>>10)
	}
	if len(acked) < objects/2 {
		t.Fatalf("only %d of %d PUTs acknowledged with one of six data nodes full", len(acked), objects)
	}
	check := func(when string) {
		t.Helper()
		for key, want := range acked {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := w.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("full"), Key: aws.String(key)})
			var got []byte
			if err == nil {
				got, err = io.ReadAll(out.Body)
				out.Body.Close()
			}
			cancel()
			if err != nil {
				t.Fatalf("%s: acknowledged %s: %v", when, key, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: acknowledged %s read back wrong bytes", when, key)
			}
		}
	}
	check("with the disk full")
	// The full node restarts (on the same full disk) and everything still
	// reads.
	if err := small.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatalf("%s did not come back on its full disk: %v\n%s", small.Name, err, small.LogTail(2000))
	}
	check("after restarting the full node")
}

// TestChaosCorruptSSTables: random bytes are flipped in every sstable of
// a stopped data node; once it runs again, every object still reads back
// with its bytes (the node's checksums catch the damage, parity rebuilds)
// and the node stays up.
func TestChaosCorruptSSTables(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	c := harness.Start(t, cairnBin, clusterFlags)
	w := newWorkload(t, c, "rot")
	rng := rand.New(rand.NewSource(2))
	objs := map[string][]byte{}
	for i, size := range []int{100 << 10, 900 << 10, 6 << 20, 9<<20 + 13, 16 << 20} {
		key := fmt.Sprintf("rot-%d", i)
		body := sizedBody(key, size, rng)
		if op := w.Put(0, key, body); op.Outcome != OK {
			t.Fatalf("put %s: %s", key, op.Err)
		}
		objs[key] = body
	}
	victim := c.Datas[rng.Intn(len(c.Datas))]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	flipped, files := 0, 0
	err := filepath.WalkDir(victim.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sst") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			return err
		}
		files++
		for i := 0; i < 1+len(b)/(64<<10); i++ {
			b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
			flipped++
		}
		return os.WriteFile(path, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no sstables under %s", victim.Dir)
	}
	t.Logf("flipped %d bytes in %d sstables of %s", flipped, files, victim.Name)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	for key, want := range objs {
		for attempt := 0; ; attempt++ {
			op := w.Get(0, key)
			if op.Outcome == OK && op.Value == md5Hex(want) {
				break
			}
			if op.Outcome == OK {
				t.Fatalf("%s read back wrong bytes with %s's sstables damaged", key, victim.Name)
			}
			if attempt == 2 {
				t.Fatalf("%s unreadable with %s's sstables damaged: %s", key, victim.Name, op.Err)
			}
			time.Sleep(time.Second)
		}
	}
	// The damaged node itself stays up: damage costs the blocks it hits,
	// not the node.
	if err := c.WaitReady(ctxT(t, time.Minute), len(c.Datas)); err != nil {
		t.Fatalf("%s did not stay up on its damaged sstables: %v", victim.Name, err)
	}
}
