package model_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/model/modeltest"
	"github.com/cairn-store/cairn/s3api/sse"
)

func newStore(t *testing.T, nodes, quorum int) (*model.Store, *modeltest.Meta, *modeltest.Shards) {
	t.Helper()
	mk, err := sse.NewMasterKey(bytes.Repeat([]byte{7}, sse.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	idx, sh := modeltest.NewMeta(nodes), modeltest.NewShards()
	s, err := model.New(model.Config{Index: idx, Shards: sh, DataShards: 4, ParityShards: 2, BlockSize: 64 << 10,
		WriteQuorum: quorum, InlineThreshold: 1024, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	return s, idx, sh
}

func write(t *testing.T, s *model.Store, body []byte) *cairnpb.ObjectVersion {
	t.Helper()
	v, err := s.Write(context.Background(), bytes.NewReader(body), int64(len(body)), &bytes.Buffer{}, func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func read(s *model.Store, v *cairnpb.ObjectVersion, off, n int64) ([]byte, error) {
	var out bytes.Buffer
	err := s.Read(context.Background(), &out, v, off, n, nil)
	return out.Bytes(), err
}

func pattern(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// Data above the inline threshold is sealed and erasure coded onto one
// node per shard; any range reads back, and nothing stored is plaintext.
func TestWriteAndReadRanges(t *testing.T) {
	s, _, sh := newStore(t, 6, 5)
	body := pattern(300<<10 + 17)
	v := write(t, s, body)
	if len(v.GetShards()) != 6 || v.GetDegraded() || v.GetInlineData() != nil || v.GetEncryption() == nil {
		t.Fatalf("version: %d shards, degraded %v, inline %d bytes", len(v.GetShards()), v.GetDegraded(), len(v.GetInlineData()))
	}
	nodes := map[string]bool{}
	for _, l := range v.GetShards() {
		if l.GetDigest() == 0 || nodes[l.GetNodeId()] {
			t.Fatalf("shard %d: node %q (seen %v), digest %x", l.GetIndex(), l.GetNodeId(), nodes[l.GetNodeId()], l.GetDigest())
		}
		nodes[l.GetNodeId()] = true
	}
	for _, r := range [][2]int64{{0, int64(len(body))}, {1, 10}, {64<<10 - 3, 70 << 10}, {int64(len(body)) - 5, 5}} {
		got, err := read(s, v, r[0], r[1])
		if err != nil || !bytes.Equal(got, body[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
		}
	}
	sh.Edit(func(shards map[string][][]byte) {
		for id, blocks := range shards {
			if bytes.Contains(bytes.Join(blocks, nil), body[1000:1032]) {
				t.Errorf("shard %s holds plaintext", id)
			}
		}
	})
}

func TestSmallDataIsInlined(t *testing.T) {
	s, _, sh := newStore(t, 6, 5)
	body := []byte("small enough to live in the record")
	v := write(t, s, body)
	if v.GetScheme() != nil || len(v.GetInlineData()) != len(body) || bytes.Equal(v.GetInlineData(), body) || sh.Count() != 0 {
		t.Fatalf("inline: scheme %v, %d bytes (plaintext %v), %d shards", v.GetScheme(), len(v.GetInlineData()), bytes.Equal(v.GetInlineData(), body), sh.Count())
	}
	if got, err := read(s, v, 3, 10); err != nil || !bytes.Equal(got, body[3:13]) {
		t.Fatalf("read: %q %v", got, err)
	}
}

// Reads go around a node that is down and a shard that is gone, and
// report the missing shard; past parity, the object is unreadable and
// says so, and meta hears of it.
func TestReadsAroundLostShards(t *testing.T) {
	s, idx, sh := newStore(t, 6, 5)
	body := pattern(200 << 10)
	v := write(t, s, body)
	sh.SetDown(v.GetShards()[0].GetNodeId(), true)
	lost := v.GetShards()[1]
	sh.Edit(func(shards map[string][][]byte) {
		for id := range shards {
			if strings.HasPrefix(id, lost.GetNodeId()+"/") {
				delete(shards, id)
			}
		}
	})
	if got, err := read(s, v, 0, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read around one down node and one lost shard: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if problems := idx.ShardProblems(); len(problems) > 0 {
			first := problems[0]
			if first.GetIndex() != lost.GetIndex() || first.GetNodeId() != lost.GetNodeId() {
				t.Fatalf("reported %v, lost shard %d on %s", first, lost.GetIndex(), lost.GetNodeId())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the missing shard was never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}

	sh.SetDown(v.GetShards()[0].GetNodeId(), false)
	sh.Edit(func(shards map[string][][]byte) {
		for id := range shards {
			for _, l := range v.GetShards()[2:4] {
				if strings.HasPrefix(id, l.GetNodeId()+"/") {
					delete(shards, id)
				}
			}
		}
	})
	_, err := read(s, v, 0, int64(len(body)))
	if !errors.Is(err, model.ErrObjectUnreadable) || !errors.Is(err, model.ErrTooManyFailures) {
		t.Fatalf("three shards lost: %v", err)
	}
	s.NoteUnreadable("ns", "b", err)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if len(idx.UnreadableReports()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unreadable version was never reported")
		}
	}
}

// With fewer hosts than shards a write goes on, degraded, while its
// quorum fits, and is refused with ErrWriteQuorum once it does not.
func TestDegradedWritesKeepTheQuorum(t *testing.T) {
	s, idx, _ := newStore(t, 5, 5)
	body := pattern(100 << 10)
	v := write(t, s, body)
	placed := 0
	for _, l := range v.GetShards() {
		if l.GetNodeId() != "" {
			placed++
		}
	}
	if !v.GetDegraded() || placed != 5 {
		t.Fatalf("degraded %v with %d shards placed", v.GetDegraded(), placed)
	}
	if got, err := read(s, v, 0, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read of a degraded write: %v", err)
	}
	idx.SetNodes(4)
	_, err := s.Write(context.Background(), bytes.NewReader(body), int64(len(body)), &bytes.Buffer{}, func() error { return nil }, nil)
	if !errors.Is(err, model.ErrWriteQuorum) {
		t.Fatalf("write with 4 hosts under quorum 5: %v", err)
	}
}

// Copies re-seal the bytes under a new data key (or a customer key) and
// check a whole copy against the source's recorded MD5.
func TestCopies(t *testing.T) {
	s, _, _ := newStore(t, 6, 5)
	body := pattern(150 << 10)
	sums, err := checksum.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.Write(context.Background(), bytes.NewReader(body), int64(len(body)), sums, func() error { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.Etag = model.DataETag(src.GetEncryption(), nil, sums.MD5())

	newSums := func() *checksum.Set {
		s, err := checksum.NewSet()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	whole, err := s.Copy(context.Background(), src, newSums(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(whole.GetEncryption().GetWrappedKey(), src.GetEncryption().GetWrappedKey()) {
		t.Fatal("the copy shares the source's data key")
	}
	if got, err := read(s, whole, 0, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("whole copy: %v", err)
	}
	part, err := s.CopyRange(context.Background(), src, 1000, 70<<10, newSums(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := read(s, part, 0, 70<<10); err != nil || !bytes.Equal(got, body[1000:1000+70<<10]) {
		t.Fatalf("range copy: %v", err)
	}
	liar := proto.Clone(src).(*cairnpb.ObjectVersion)
	liar.Etag = "0123456789abcdef0123456789abcdef"
	if _, err := s.Copy(context.Background(), liar, newSums(), nil, nil); !errors.Is(err, model.ErrCopySourceCorrupt) {
		t.Fatalf("copy of a source whose bytes do not match its ETag: %v", err)
	}
}

// A body whose length is known only at its end is inlined when short,
// erasure coded as it streams when long (its length recorded), and
// refused past its limit.
func TestWriteUpTo(t *testing.T) {
	s, _, sh := newStore(t, 6, 5)
	ctx := context.Background()
	for _, n := range []int{0, 1000, 1025, 300<<10 + 3} {
		body := pattern(n + 1)[:n]
		v, err := s.WriteUpTo(ctx, bytes.NewReader(body), 1<<20, &bytes.Buffer{}, func() error { return nil }, nil)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if v.GetSize() != int64(n) || (v.GetScheme() == nil) != (n <= 1024) {
			t.Fatalf("%d bytes: size %d, erasure coded %v", n, v.GetSize(), v.GetScheme() != nil)
		}
		if got, err := read(s, v, 0, int64(n)); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes read back: %v", n, err)
		}
	}
	before := sh.Count()
	for _, n := range []int{1000, 300 << 10} {
		_, err := s.WriteUpTo(ctx, bytes.NewReader(pattern(n)), int64(n-1), &bytes.Buffer{}, func() error { return nil }, nil)
		if !errors.Is(err, model.ErrTooLarge) {
			t.Fatalf("%d bytes under a limit of %d: %v", n, n-1, err)
		}
	}
	if sh.Count() != before {
		t.Fatalf("refused writes kept %d shards", sh.Count()-before)
	}
}

// ReadStarting starts the response only once bytes are ready: a read
// that cannot get its shards leaves it unstarted, so the front end can
// still answer with an error.
func TestReadStartingStartsOnlyWithData(t *testing.T) {
	s, _, sh := newStore(t, 6, 5)
	body := pattern(200 << 10)
	v := write(t, s, body)
	starts := 0
	var out bytes.Buffer
	started, err := s.ReadStarting(context.Background(), &out, func() { starts++ }, v, 0, int64(len(body)), nil)
	if err != nil || !started || starts != 1 || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("read: started %v (%d starts), %v", started, starts, err)
	}
	for _, l := range v.GetShards()[:3] {
		sh.SetDown(l.GetNodeId(), true)
	}
	starts = 0
	started, err = s.ReadStarting(context.Background(), &out, func() { starts++ }, v, 0, int64(len(body)), nil)
	if err == nil || started || starts != 0 {
		t.Fatalf("read with 3 nodes down: started %v (%d starts), %v", started, starts, err)
	}
}
