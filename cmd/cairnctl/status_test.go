package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The status shows the cluster ID, why repair is blocked, the checks of
// gateway reports and the inventory reconciliation's progress, in the
// table and in JSON.
func TestStatusShowsClusterBlockedAndInventory(t *testing.T) {
	now := time.Now()
	st := &cairnpb.StatusResponse{ClusterId: "c0ffee", LeaderId: "m0"}
	rs := &cairnpb.RepairStatus{
		EtaSeconds: -1, UnderReplicated: 3, BlockedUnits: 3,
		Blocked:              []string{"6 shards need 6 failure domains (hosts), 5 are available"},
		ShardReportsReceived: 4, ShardReportsChecked: 3, ShardReportsConfirmed: 1,
		Inventory: &cairnpb.InventoryProgress{
			PassStartedUnixNano: now.Add(-time.Minute).UnixNano(), UnitsDone: 1200, ShardsChecked: 7200, FoundMissing: 2, FoundMismatched: 1,
			Passes: 4, LastPassFinishedUnixNano: now.Add(-time.Hour).UnixNano(), LastPassDurationNanos: int64(90 * time.Second),
			LastPassUnits: 1100, LastPassMissing: 5,
		},
	}
	var table bytes.Buffer
	if err := writeStatusTable(&table, st, now); err != nil {
		t.Fatal(err)
	}
	writeRepairTable(&table, rs)
	out := table.String()
	for _, want := range []string{
		"cluster: c0ffee",
		"BLOCKED: 3 objects/parts cannot be fully repaired now:",
		"    6 shards need 6 failure domains (hosts), 5 are available",
		"shards reported by gateways: 4, checked: 3, confirmed missing or mismatched: 1",
		"inventory reconciliation: pass started 1m0s ago: 1200 objects/parts, 7200 shards checked, 2 missing, 1 mismatched",
		"last full pass: finished 1h0m0s ago, took 1m30s, 1100 objects/parts, 5 missing, 0 mismatched (4 passes)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	var js bytes.Buffer
	if err := writeStatusJSON(&js, st, rs, nil, nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Cluster string `json:"cluster_id"`
		Repair  struct {
			Blocked      []string `json:"blocked"`
			BlockedUnits int64    `json:"blocked_units"`
			Inventory    struct {
				FoundMissing    int64   `json:"found_missing"`
				LastPassSeconds float64 `json:"last_pass_seconds"`
			} `json:"inventory"`
		} `json:"repair"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Cluster != "c0ffee" || len(got.Repair.Blocked) != 1 || got.Repair.BlockedUnits != 3 ||
		got.Repair.Inventory.FoundMissing != 2 || got.Repair.Inventory.LastPassSeconds != 90 {
		t.Fatalf("json: %+v\n%s", got, js.String())
	}
}

// The leader's jobs show in the status table and its JSON: state,
// rounds, failures, and when each last succeeded.
func TestLeaderJobsInStatus(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	resp := &cairnpb.LeaderJobsResponse{LeaderId: "m1", Jobs: []*cairnpb.LeaderJob{
		{Name: "repair", Active: true, Running: true, Rounds: 12, LastDurationNanos: int64(1500 * time.Millisecond), LastSuccessUnixNano: now.Add(-30 * time.Second).UnixNano()},
		{Name: "gc", Active: true, Rounds: 3, Errors: 1, LastError: "data node n2 unreachable"},
		{Name: "rewrap"},
		{Name: "lifecycle", Active: true, Rounds: 2, Progress: "40 index entries examined; 3 expired"},
	}}
	var out bytes.Buffer
	writeLeaderJobsTable(&out, resp, now)
	for _, want := range []string{"LEADER JOBS (on m1)", "repair  running  12", "1.5s", "30s ago", "gc      idle     3       1", "data node n2 unreachable", "rewrap  stopped  0", "never", "lifecycle: 40 index entries examined; 3 expired"} {
		// Columns are as wide as the longest name: compare words.
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	var js bytes.Buffer
	if err := writeStatusJSON(&js, &cairnpb.StatusResponse{}, nil, nil, resp.GetJobs()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Jobs []struct {
			Name     string `json:"name"`
			Errors   uint64 `json:"errors"`
			Progress string `json:"progress"`
		} `json:"leader_jobs"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got.Jobs) != 4 || got.Jobs[1].Errors != 1 || got.Jobs[3].Progress == "" {
		t.Fatalf("json %s: %v", js.String(), err)
	}
}
