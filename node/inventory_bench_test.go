package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestInventoryCostBenchmark measures what meta's inventory reconciliation
// costs a data node: a store of CAIRN_INVENTORY_BENCH_SHARDS shards on the
// real disk is asked about all of them with StatShards, in the chunks meta
// sends (2,000 IDs, in no particular order), once as fast as it answers and
// once paced, while foreground readers fetch random shards; it reports the
// pass time, lookups per second, CPU per million lookups and the readers'
// throughput against a baseline. It does not run without the variable
// (`make bench-inventory`): populating a million shards takes minutes.
func TestInventoryCostBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CAIRN_INVENTORY_BENCH_SHARDS"))
	if n <= 0 {
		t.Skip("set CAIRN_INVENTORY_BENCH_SHARDS (e.g. 1000000) to measure the inventory reconciliation's cost; make bench-inventory does")
	}
	ctx := context.Background()
	s := openStore(t, t.TempDir(), StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()

	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x%016x.%d", uint64(i)*0x9e3779b97f4a7c15, uint64(i), i%6)
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := s.PutShard(ctx, ids[i], genBlocks(uint64(i), 1, 64)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("populated %d shards in %v", n, time.Since(start).Round(time.Millisecond))

	// Foreground: readers fetching whole random shards.
	foreground := func(stop <-chan struct{}) float64 {
		var ops atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := readAll(s, ids[rng.IntN(n)], 0, 0); err != nil {
						t.Error(err)
						return
					}
					ops.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(ops.Load()) / time.Since(start).Seconds()
	}
	after := func(d time.Duration) <-chan struct{} {
		c := make(chan struct{})
		time.AfterFunc(d, func() { close(c) })
		return c
	}

	// A pass: every ID once, in meta's chunks, paced to rate lookups/s
	// (<= 0: as fast as the store answers).
	pass := func(rate float64) (time.Duration, float64) {
		order := slices.Clone(ids)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		cpu0 := cpuTime()
		start := time.Now()
		done := 0
		for len(order) > 0 {
			c := min(2000, len(order))
			got, err := s.StatShards(ctx, order[:c])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c {
				t.Fatalf("StatShards found %d of %d", len(got), c)
			}
			order = order[c:]
			done += c
			if rate > 0 {
				if ahead := time.Duration(float64(done)/rate*float64(time.Second)) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
		}
		return time.Since(start), (cpuTime() - cpu0).Seconds()
	}

	base := foreground(after(10 * time.Second))
	t.Logf("foreground alone: %.0f shard reads/s (4 readers)", base)
	took, cpu := pass(0)
	t.Logf("pass, unpaced, store idle: %d lookups in %v = %.0f lookups/s, %.2f CPU-s per million", n, took.Round(time.Millisecond),
		float64(n)/took.Seconds(), cpu/float64(n)*1e6)
	for _, rate := range []float64{20000, 0} {
		var took time.Duration
		stop := make(chan struct{})
		go func() {
			defer close(stop)
			took, _ = pass(rate)
		}()
		fg := foreground(stop)
		label := "unpaced"
		if rate > 0 {
			label = fmt.Sprintf("paced to %.0f/s", rate)
		}
		t.Logf("pass %s under foreground reads: %v; foreground %.0f reads/s meanwhile (%.0f%% of alone)", label,
			took.Round(time.Millisecond), fg, 100*fg/base)
	}
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
