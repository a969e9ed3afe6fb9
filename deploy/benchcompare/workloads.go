package main

import "time"

// workload is one row of the comparison: a measured `cairn bench` run, and
// optionally an unmeasured run before it that writes the key space it
// reads. Workloads run in order on the same store, so a later one may read
// what an earlier one wrote (the concurrency-1 GET reads the 4 KiB GET's
// keys).
type workload struct {
	Name     string
	Metric   metric
	Args     []string
	Populate []string
}

// workloads are issue 16's table: 16 MiB PUT and GET at concurrency 8,
// 4 KiB PUT and GET at concurrency 32, the concurrency-1 4 KiB GET's p50,
// and with big the 8 x 1 GiB PUT and GET.
func workloads(d time.Duration, big bool) []workload {
	dur := d.String()
	ws := []workload{
		{Name: "PUT 16MiB c8", Metric: mibPerSec,
			Args: []string{"--op", "put", "--size", "16MiB", "--concurrency", "8", "--duration", dur, "--prefix", "put16/"}},
		{Name: "GET 16MiB c8", Metric: mibPerSec,
			Populate: []string{"--op", "put", "--size", "16MiB", "--concurrency", "8", "--keys", "32", "--count", "32", "--prefix", "get16/"},
			Args:     []string{"--op", "get", "--size", "16MiB", "--concurrency", "8", "--keys", "32", "--populated", "--duration", dur, "--prefix", "get16/"}},
		{Name: "PUT 4KiB c32", Metric: opsPerSec,
			Args: []string{"--op", "put", "--size", "4KiB", "--concurrency", "32", "--duration", dur, "--prefix", "put4/"}},
		{Name: "GET 4KiB c32", Metric: opsPerSec,
			Populate: []string{"--op", "put", "--size", "4KiB", "--concurrency", "32", "--keys", "1000", "--count", "1000", "--prefix", "get4/"},
			Args:     []string{"--op", "get", "--size", "4KiB", "--concurrency", "32", "--keys", "1000", "--populated", "--duration", dur, "--prefix", "get4/"}},
		{Name: "GET 4KiB c1", Metric: p50Millis,
			Args: []string{"--op", "get", "--size", "4KiB", "--concurrency", "1", "--keys", "1000", "--populated", "--duration", dur, "--prefix", "get4/"}},
	}
	if big {
		ws = append(ws,
			workload{Name: "PUT 1GiB c8", Metric: mibPerSec,
				Args: []string{"--op", "put", "--size", "1GiB", "--concurrency", "8", "--keys", "8", "--count", "8", "--prefix", "big/"}},
			workload{Name: "GET 1GiB c8", Metric: mibPerSec,
				Args: []string{"--op", "get", "--size", "1GiB", "--concurrency", "8", "--keys", "8", "--count", "8", "--populated", "--prefix", "big/"}})
	}
	return ws
}
