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
	if err := writeStatusJSON(&js, st, rs, nil); err != nil {
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
