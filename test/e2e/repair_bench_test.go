package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// TestRepairBenchmark measures repair: throughput without and with client
// load, time to full protection after losing one node, and the client
// throughput drop while repair runs. It is skipped unless
// CAIRN_REPAIR_BENCH_MB is set to the amount of object data to write (in
// MiB); run it with CAIRN_E2E_RACE=0 for meaningful figures:
//
//	CAIRN_E2E_RACE=0 CAIRN_REPAIR_BENCH_MB=2048 go test -count=1 -v \
//	    -timeout 60m -run TestRepairBenchmark ./test/e2e/
func TestRepairBenchmark(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("CAIRN_REPAIR_BENCH_MB"))
	if mb <= 0 {
		t.Skip("set CAIRN_REPAIR_BENCH_MB to run the repair benchmark")
	}
	const objSize = 4 << 20
	rate := os.Getenv("CAIRN_REPAIR_BENCH_RATE") // bytes/s; default unlimited
	if rate == "" {
		rate = "-1"
	}
	c := startCluster(t, harness.Options{Datas: 8, ExtraMeta: []string{
		"--repair-interval", "2s", "--repair-rate", rate, "--repair-parallel", "4", "--gc-grace", "1m"}})
	cl := client(c)
	mustCreateBucket(t, cl, "bench")
	n := mb << 20 / objSize
	body := pattern(99, objSize)
	keys := make([]string, n)
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				keys[i] = fmt.Sprintf("big-%06d", i)
				if err := put(ctxT(t, 5*time.Minute), cl, "bench", keys[i], body); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	w := time.Since(start)
	t.Logf("wrote %d MiB (%d objects of 4 MiB) in %v: %.1f MB/s", n*objSize>>20, n, w.Round(time.Millisecond), float64(n*objSize)/w.Seconds()/1e6)

	load := func(d time.Duration, stop <-chan struct{}) float64 {
		var bytesRead atomic.Int64
		deadline := time.Now().Add(d)
		var lw sync.WaitGroup
		for g := range 4 {
			lw.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 5))
				for time.Now().Before(deadline) {
					select {
					case <-stop:
						return
					default:
					}
					got, err := get(context.Background(), cl, "bench", keys[rng.IntN(len(keys))], "")
					if err != nil || !bytes.Equal(got, body) {
						t.Errorf("read during benchmark: %v", err)
						return
					}
					bytesRead.Add(int64(len(got)))
				}
			})
		}
		s := time.Now()
		lw.Wait()
		return float64(bytesRead.Load()) / time.Since(s).Seconds() / 1e6
	}
	base := load(20*time.Second, nil)
	t.Logf("client GET throughput, no repair: %.1f MB/s", base)

	lose := func(p *harness.Proc, withLoad bool) {
		h, err := dataClient(t, c, pki.RoleMeta, p.Addr).Health(ctxT(t, 10*time.Second), &cairnpb.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var during float64
		var lw sync.WaitGroup
		if withLoad {
			lw.Go(func() { during = load(time.Hour, stop) })
		}
		start := time.Now()
		out := ctl(t, c, "node", "remove", p.Name, "--wait", "60m", "-o", "json")
		took := time.Since(start)
		close(stop)
		lw.Wait()
		var res struct {
			Repair map[string]any `json:"repair"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		// Every byte the lost node held is rebuilt elsewhere.
		rebuilt := h.GetUsedBytes()
		t.Logf("lost %s holding %d shards, %d MiB: full protection after %v: %.1f MB/s rebuilt (engine's last round: %.1f MB/s)",
			p.Name, h.GetShards(), rebuilt>>20, took.Round(time.Millisecond),
			float64(rebuilt)/took.Seconds()/1e6, res.Repair["rate_bytes_per_second"].(float64)/1e6)
		if withLoad {
			t.Logf("client GET throughput during repair: %.1f MB/s (%.0f%% of %.1f MB/s without repair)", during, 100*during/base, base)
		}
	}
	lose(c.Datas[7], false)
	lose(c.Datas[6], true)
}
