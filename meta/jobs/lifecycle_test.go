package jobs

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestLifecycleScanMemory: a walk of the expiry index over many keys
// (100 000; CAIRN_LIFECYCLE_SCAN_KEYS=1000000 for a million) holds one
// batch at a time: the heap in use during the walk stays within a bound
// that does not grow with the number of keys. The rule selects nothing
// (its size bound is above every object), so every key's versions are
// read and nothing is proposed.
func TestLifecycleScanMemory(t *testing.T) {
	keys := 100_000
	if s := os.Getenv("CAIRN_LIFECYCLE_SCAN_KEYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = n
	}
	f := fsmfixture.New(t)
	var idx uint64
	if err := fsmfixture.Apply(t, f, &idx, &cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b", 1)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const chunk = 5000
	for i := 0; i < keys; i += chunk {
		var logs []*raft.Log
		for j := i; j < min(i+chunk, keys); j++ {
			idx++
			put := fsmtest.PutOp("ns", "b", fmt.Sprintf("logs/%09d", j), fmt.Sprintf("v%09d", j))
			put.Version.Size = 100
			data, err := proto.Marshal(&cairnpb.Command{UnixNano: int64(idx) * int64(time.Millisecond), Op: &cairnpb.Command_PutObject{PutObject: put}})
			if err != nil {
				t.Fatal(err)
			}
			logs = append(logs, &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data})
		}
		for _, resp := range f.ApplyBatch(logs) {
			if resp != nil {
				t.Fatalf("put: %v", resp)
			}
		}
	}
	t.Logf("wrote %d keys in %v", keys, time.Since(start))

	j := newLifecycleJob(&Env{Store: f.Store, Config: Config{LifecycleDay: time.Second}})
	var bk *cairnpb.Bucket
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		bk, err = fsm.GetBucket(r, "ns", "b")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bk.Lifecycle = &cairnpb.BucketLifecycle{Rules: []*cairnpb.LifecycleRule{{Id: "r", ExpirationDays: 1,
		Filter: &cairnpb.LifecycleFilter{Prefix: "logs/", SizeGreaterThan: 1 << 40}}}}
	p := &cairnpb.LifecycleProgress{Cursors: make([][]byte, fsm.LifecycleActions)}

	var ms runtime.MemStats
	settleHeap(&ms)
	before, mallocs := ms.HeapInuse, ms.Mallocs
	var peak uint64
	walked := 0
	start = time.Now()
	now := time.Now().UnixNano() // every key is older than a day of 1 s
	err := j.lifecycleWalk(context.Background(), leaderjob.NewPacer(-1), bk, p, now, time.Second, func() error {
		walked++
		if walked%10_000 == 0 {
			// Live heap, not garbage awaiting collection: the race
			// build's sync.Pool drops items at random, so the heap in
			// use between collections says more about GC pacing than
			// about what the walk holds.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	t.Logf("walked %d keys in %v (%.0f keys/s): live heap %.1f MiB before, peak %.1f MiB (%+.1f MiB); %.1f allocations per key",
		walked, elapsed, float64(walked)/elapsed.Seconds(), float64(before)/(1<<20), float64(peak)/(1<<20),
		(float64(peak)-float64(before))/(1<<20), float64(ms.Mallocs-mallocs)/float64(max(walked, 1)))
	if walked != keys {
		t.Fatalf("walked %d keys, want %d", walked, keys)
	}
	if got := j.scanned.Load(); got != int64(keys) {
		t.Fatalf("scanned %d, want %d", got, keys)
	}
	// One batch of entries and one key's versions at a time, plus what
	// Pebble caches and opens: alone, the walk adds under 1 MiB, but
	// beside other packages' tests under the race detector Pebble's
	// background work was seen to add 12.5. Holding every decoded version
	// would take more than the bound at 100 000 keys, and every key alone
	// 60 MiB at a million (CAIRN_LIFECYCLE_SCAN_KEYS).
	const bound = 24 << 20
	if peak > before+bound {
		t.Fatalf("heap grew by %d bytes during the walk, bound %d", peak-before, bound)
	}
	if want := fmt.Sprintf("%09d", keys-1); string(p.Cursors[fsm.ActExpire][len(p.Cursors[fsm.ActExpire])-len(want):]) != want {
		t.Fatalf("cursor %q does not end at the last key", p.Cursors[fsm.ActExpire])
	}
}

// settleHeap waits, for at most 15 s, until the live heap stops moving
// (two collections 200 ms apart within 1 MiB): the writes before a walk
// leave Pebble flushing and compacting for a while, and its buffers are
// not the walk's.
func settleHeap(ms *runtime.MemStats) {
	runtime.GC()
	runtime.ReadMemStats(ms)
	deadline := time.Now().Add(15 * time.Second)
	for last := ms.HeapInuse; time.Now().Before(deadline); last = ms.HeapInuse {
		time.Sleep(200 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(ms)
		if max(last, ms.HeapInuse)-min(last, ms.HeapInuse) < 1<<20 {
			return
		}
	}
}
