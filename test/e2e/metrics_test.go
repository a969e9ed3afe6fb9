package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// scrape fetches and parses addr's /metrics.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s/metrics: %v", addr, err)
	}
	return mfs
}

// sample returns the value of name{labels...} (labels as name, value
// pairs; a series may carry more labels than given) and whether it exists.
// A histogram's value is its sample count.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// check is one expectation on a scraped series: its value lies in
// [min, max].
type check struct {
	name     string
	labels   []string
	min, max float64
}

func expect(t *testing.T, what string, mfs map[string]*dto.MetricFamily, checks []check) {
	t.Helper()
	for _, c := range checks {
		v, ok := sample(mfs, c.name, c.labels...)
		if !ok || v < c.min || v > c.max {
			t.Errorf("%s: %s%v = %v (present %v), want %v..%v", what, c.name, c.labels, v, ok, c.min, c.max)
		}
	}
}

const many = 1e18

// TestMetrics scrapes /metrics of a separate gateway, meta node and data
// node after S3 traffic.
func TestMetrics(t *testing.T) {
	gwOps, metaOps, dataOps := freeAddr(t), freeAddr(t), freeAddr(t)
	c := startCluster(t, harness.Options{Metas: 1,
		ExtraGW:   []string{"--ops-addr", gwOps},
		ExtraMeta: []string{"--ops-addr", metaOps},
	})
	// A seventh data node of our own, with its ops endpoints: the harness
	// gives every data node the same flags.
	dataAddr := freeAddr(t)
	cmd := exec.Command(cairnBin, append([]string{"data", "--id", "data-ops", "--listen", dataAddr, "--dir", t.TempDir(),
		"--meta", strings.Join(c.MetaAddrs, ","), "--ops-addr", dataOps, "--log-level", "warn"}, c.TLSArgs(t, pki.RoleData, "data-ops")...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := c.WaitReady(ctxT(t, 30*time.Second), 7); err != nil {
		t.Fatal(err)
	}

	cl := client(c)
	mustCreateBucket(t, cl, "metrics")
	body := pattern(5, 300<<10) // erasure-coded: 4+2 shards over 7 nodes
	// The gateway's cluster map picks the new node up within its refresh
	// interval; write and read until the node has served both.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		key := fmt.Sprintf("k%d", i)
		mustPut(t, cl, "metrics", key, body)
		mustGetEqual(t, cl, "metrics", key, body)
		d := scrape(t, dataOps)
		w, _ := sample(d, "cairn_data_blocks_written_total", "node", "data-ops")
		r, _ := sample(d, "cairn_data_blocks_read_total", "node", "data-ops")
		if w > 0 && r > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data-ops wrote %v and read %v blocks after %d objects", w, r, i+1)
		}
	}
	mustPut(t, cl, "metrics", "k0", body) // an overwrite queues k0's old shards for GC

	expect(t, "gateway", scrape(t, gwOps), []check{
		{"cairn_s3_requests_total", []string{"op", "CreateBucket", "code", "200"}, 1, 1},
		{"cairn_s3_requests_total", []string{"op", "PutObject", "code", "200"}, 2, many},
		{"cairn_s3_requests_total", []string{"op", "GetObject", "code", "200"}, 1, many},
		{"cairn_s3_request_duration_seconds", []string{"op", "PutObject"}, 2, many},
		{"cairn_s3_received_bytes_total", []string{"op", "PutObject"}, 2 * float64(len(body)), many},
		{"cairn_s3_sent_bytes_total", []string{"op", "GetObject"}, float64(len(body)), many},
		{"cairn_s3_requests_in_flight", nil, 0, 0},
		{"go_goroutines", nil, 1, many},
		{"process_resident_memory_bytes", nil, 1, many},
	})
	expect(t, "data node", scrape(t, dataOps), []check{
		{"cairn_data_shards_put_total", []string{"node", "data-ops"}, 1, many},
		{"cairn_data_written_bytes_total", []string{"node", "data-ops"}, 1, many},
		{"cairn_data_read_bytes_total", []string{"node", "data-ops"}, 1, many},
		{"cairn_data_checksum_failures_total", []string{"node", "data-ops"}, 0, 0},
		{"cairn_data_shards", []string{"node", "data-ops"}, 1, many},
		{"cairn_data_live_bytes", []string{"node", "data-ops"}, 1, many},
		{"cairn_data_pebble_bytes", []string{"node", "data-ops"}, 1, many},
		{"go_goroutines", nil, 1, many},
	})
	expect(t, "meta node", scrape(t, metaOps), []check{
		{"cairn_meta_is_leader", nil, 1, 1},
		{"cairn_meta_raft_term", nil, 1, many},
		{"cairn_meta_raft_commit_index", nil, 1, many},
		{"cairn_meta_raft_applied_index", nil, 1, many},
		{"cairn_meta_raft_last_contact_seconds", nil, 0, 0},
		{"cairn_meta_gc_queue_shards", nil, 1, many},
		{"cairn_meta_data_nodes_healthy", nil, 7, 7},
		{"cairn_meta_data_nodes_unhealthy", nil, 0, 0},
		{"cairn_meta_job_active", []string{"job", "repair"}, 1, 1},
		{"cairn_meta_job_rounds_total", []string{"job", "repair"}, 1, many},
		{"cairn_meta_job_errors_total", []string{"job", "gc"}, 0, many},
		{"go_goroutines", nil, 1, many},
	})
}

// TestMetricsDev: `cairn dev` serves every part's series from one registry,
// the data stores told apart by their node label.
func TestMetricsDev(t *testing.T) {
	s3Addr, admin, raft, opsAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	cmd := exec.Command(cairnBin, "dev", "--dir", t.TempDir(), "--listen", s3Addr, "--admin-addr", admin,
		"--raft-addr", raft, "--ops-addr", opsAddr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "CAIRN_ACCESS_KEY=dev-key", "CAIRN_SECRET_KEY=dev-secret-123")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		for sc := bufio.NewScanner(out); sc.Scan(); {
		}
	}()
	cl := endpointClient("http://"+s3Addr, "dev-key", "dev-secret-123")
	waitS3(t, cl)
	mustCreateBucket(t, cl, "devmetrics")
	body := pattern(6, 1<<20)
	mustPut(t, cl, "devmetrics", "obj", body)
	mustGetEqual(t, cl, "devmetrics", "obj", body)

	mfs := scrape(t, opsAddr)
	expect(t, "dev", mfs, []check{
		{"cairn_s3_requests_total", []string{"op", "PutObject", "code", "200"}, 1, 1},
		{"cairn_meta_is_leader", nil, 1, 1},
		{"cairn_meta_data_nodes_healthy", nil, 6, 6},
		{"go_goroutines", nil, 1, many},
	})
	written, stores := 0.0, 0
	for i := 1; i <= 6; i++ {
		if v, ok := sample(mfs, "cairn_data_written_bytes_total", "node", fmt.Sprintf("data-%d", i)); ok {
			written += v
			stores++
		}
	}
	if stores != 6 || written < float64(len(body)) {
		t.Errorf("dev: %d stores report cairn_data_written_bytes_total, %v bytes in all; want 6 and at least %d", stores, written, len(body))
	}
}
