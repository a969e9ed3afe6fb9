package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/node"
)

// registerDataMetrics exports a data node's counters and space usage,
// labelled node=<id> (`cairn dev` runs several in one process).
func registerDataMetrics(reg prometheus.Registerer, id string, n *node.Node) error {
	labels := prometheus.Labels{"node": id}
	counter := func(name, help string, v func(node.Counters) uint64) ops.SnapshotMetric[node.Counters] {
		return ops.SnapshotMetric[node.Counters]{Name: name, Help: help, Type: prometheus.CounterValue,
			Value: func(c node.Counters) float64 { return float64(v(c)) }}
	}
	gauge := func(name, help string, v func(node.Usage) int64) ops.SnapshotMetric[node.Usage] {
		return ops.SnapshotMetric[node.Usage]{Name: name, Help: help, Type: prometheus.GaugeValue,
			Value: func(u node.Usage) float64 { return float64(v(u)) }}
	}
	counters := ops.NewSnapshotCollector(func() (node.Counters, error) { return n.Counters(), nil }, labels,
		counter("cairn_data_shards_put_total", "Shards committed by PutShard.", func(c node.Counters) uint64 { return c.ShardsPut }),
		counter("cairn_data_shards_ingested_total", "Shards committed as an ingested sstable.", func(c node.Counters) uint64 { return c.ShardsIngested }),
		counter("cairn_data_shards_deleted_total", "Shards deleted.", func(c node.Counters) uint64 { return c.ShardsDeleted }),
		counter("cairn_data_blocks_written_total", "Blocks written.", func(c node.Counters) uint64 { return c.BlocksWritten }),
		counter("cairn_data_written_bytes_total", "Block data bytes written (without checksums).", func(c node.Counters) uint64 { return c.BytesWritten }),
		counter("cairn_data_blocks_read_total", "Blocks read and verified.", func(c node.Counters) uint64 { return c.BlocksRead }),
		counter("cairn_data_read_bytes_total", "Block data bytes read.", func(c node.Counters) uint64 { return c.BytesRead }),
		counter("cairn_data_checksum_failures_total", "Block reads that failed verification (CRC, missing block, Pebble error).", func(c node.Counters) uint64 { return c.ChecksumFailures }),
		counter("cairn_data_digest_mismatches_total", "Shards whose digest differed from the recorded one (reads refused, scrub, rebuilds refused).", func(c node.Counters) uint64 { return c.DigestMismatches }),
		counter("cairn_data_pebble_corruptions_total", "Corruption reported by Pebble itself.", func(c node.Counters) uint64 { return c.PebbleCorruptions }),
		counter("cairn_data_orphans_swept_total", "Orphaned shard sequences removed by the start-up sweep.", func(c node.Counters) uint64 { return c.OrphansSwept }),
		counter("cairn_data_shards_rebuilt_total", "Shards made by RebuildShard for the repair engine (copied or reconstructed).", func(c node.Counters) uint64 { return c.ShardsRebuilt }),
		counter("cairn_data_scrub_shards_total", "Shards the scrubber read through.", func(c node.Counters) uint64 { return c.ShardsScrubbed }),
		counter("cairn_data_scrub_blocks_total", "Blocks the scrubber read and verified.", func(c node.Counters) uint64 { return c.BlocksScrubbed }),
		counter("cairn_data_scrub_bytes_total", "Bytes the scrubber read and verified.", func(c node.Counters) uint64 { return c.BytesScrubbed }),
		counter("cairn_data_scrub_corrupt_shards_total", "Shards the scrubber found failing verification.", func(c node.Counters) uint64 { return c.CorruptFound }),
		counter("cairn_data_scrub_corrupt_reported_total", "Corrupt-shard reports meta accepted.", func(c node.Counters) uint64 { return c.CorruptReported }),
		counter("cairn_data_scrub_passes_total", "Complete scrub passes over the store.", func(c node.Counters) uint64 { return c.ScrubPasses }),
	)
	usage := ops.NewSnapshotCollector(func() (node.Usage, error) { return n.Store().Usage(context.Background()) }, labels,
		gauge("cairn_data_shards", "Live shards stored.", func(u node.Usage) int64 { return u.Shards }),
		gauge("cairn_data_live_bytes", "Bytes of live shards (block data, without checksums or Pebble overhead).", func(u node.Usage) int64 { return u.LiveBytes }),
		gauge("cairn_data_pebble_bytes", "Disk space Pebble's files take, garbage included.", func(u node.Usage) int64 { return u.PebbleBytes }),
		gauge("cairn_data_disk_total_bytes", "Size of the filesystem holding the store.", func(u node.Usage) int64 { return u.DiskTotal }),
		gauge("cairn_data_disk_available_bytes", "Space available on the filesystem holding the store.", func(u node.Usage) int64 { return u.DiskAvailable }),
	)
	if err := reg.Register(counters); err != nil {
		return err
	}
	return reg.Register(usage)
}

// registerMetaMetrics exports a meta node's Raft state, GC queue, view
// of data-node health and its leader jobs' rounds (cairn_meta_job_*).
func registerMetaMetrics(reg prometheus.Registerer, s *meta.Server) error {
	if err := registerRewrapMetrics(reg, s); err != nil {
		return err
	}
	if err := registerLifecycleMetrics(reg, s); err != nil {
		return err
	}
	if err := reg.Register(s.Jobs().Collector(meta.JobMetricPrefix)); err != nil {
		return err
	}
	gauge := func(name, help string, v func(meta.Stats) float64) ops.SnapshotMetric[meta.Stats] {
		return ops.SnapshotMetric[meta.Stats]{Name: name, Help: help, Type: prometheus.GaugeValue, Value: v}
	}
	return reg.Register(ops.NewSnapshotCollector(s.Stats, nil,
		gauge("cairn_meta_is_leader", "1 if this meta node leads the Raft group.", func(st meta.Stats) float64 {
			if st.Leader {
				return 1
			}
			return 0
		}),
		gauge("cairn_meta_raft_term", "Current Raft term.", func(st meta.Stats) float64 { return float64(st.Term) }),
		gauge("cairn_meta_raft_commit_index", "Raft commit index.", func(st meta.Stats) float64 { return float64(st.CommitIndex) }),
		gauge("cairn_meta_raft_applied_index", "Raft index applied to the FSM.", func(st meta.Stats) float64 { return float64(st.AppliedIndex) }),
		gauge("cairn_meta_raft_last_contact_seconds", "Seconds since the leader was last heard from (0 on the leader, -1 never).", func(st meta.Stats) float64 {
			if st.LastContact < 0 {
				return -1
			}
			return st.LastContact.Seconds()
		}),
		gauge("cairn_meta_gc_queue_shards", "Shards queued for deletion (counted up to 100000).", func(st meta.Stats) float64 { return float64(st.GCQueue) }),
		gauge("cairn_meta_data_nodes_healthy", "Registered data nodes that heartbeated within the health window.", func(st meta.Stats) float64 { return float64(st.DataNodesHealthy) }),
		gauge("cairn_meta_data_nodes_unhealthy", "Registered data nodes that did not.", func(st meta.Stats) float64 { return float64(st.DataNodesUnhealthy) }),
		gauge("cairn_meta_repair_under_replicated", "Units (versions, parts) with fewer than k+m healthy shards, at the leader's last scan.", func(st meta.Stats) float64 { return float64(st.Repair.UnderReplicated) }),
		gauge("cairn_meta_repair_to_move", "Units with a shard on a draining node.", func(st meta.Stats) float64 { return float64(st.Repair.ToMove) }),
		gauge("cairn_meta_repair_lost_units", "Units with fewer than k healthy shards (unreadable).", func(st meta.Stats) float64 { return float64(st.Repair.LostUnits) }),
		gauge("cairn_meta_repair_units_left", "Units waiting for repair in the current round.", func(st meta.Stats) float64 { return float64(st.Repair.UnitsLeft) }),
		gauge("cairn_meta_repair_bytes_left", "Estimated shard bytes left to rebuild or copy.", func(st meta.Stats) float64 { return float64(st.Repair.BytesLeft) }),
		gauge("cairn_meta_repair_units_repaired", "Units repaired since this node became leader.", func(st meta.Stats) float64 { return float64(st.Repair.UnitsRepaired) }),
		gauge("cairn_meta_repair_bytes_repaired", "Shard bytes rebuilt or copied since this node became leader.", func(st meta.Stats) float64 { return float64(st.Repair.BytesRepaired) }),
		gauge("cairn_meta_repair_failures", "Unit repairs that failed since this node became leader.", func(st meta.Stats) float64 { return float64(st.Repair.Failures) }),
		gauge("cairn_meta_repair_corrupt_reports", "Corrupt shards reported by scrubbers and not yet repaired.", func(st meta.Stats) float64 { return float64(st.Repair.CorruptReports) }),
		gauge("cairn_meta_repair_rate_bytes_per_second", "Repair throughput of the current round.", func(st meta.Stats) float64 { return st.Repair.RateBytesPerSecond }),
		gauge("cairn_meta_repair_eta_seconds", "Estimated seconds until the current round is done (-1 unknown).", func(st meta.Stats) float64 { return st.Repair.ETASeconds }),
		gauge("cairn_meta_repair_blocked_units", "Units placement cannot fully repair now (cairnctl status says why).", func(st meta.Stats) float64 { return float64(st.Repair.BlockedUnits) }),
		gauge("cairn_meta_inventory_found_missing", "Shards the inventory reconciliation pass under way found absent from their node.", func(st meta.Stats) float64 { return float64(st.Repair.InventoryMissing) }),
		gauge("cairn_meta_inventory_found_mismatched", "Shards the pass under way found with another digest than recorded.", func(st meta.Stats) float64 { return float64(st.Repair.InventoryMismatched) }),
		gauge("cairn_meta_inventory_last_pass_seconds", "Duration of the last full inventory reconciliation pass.", func(st meta.Stats) float64 { return st.Repair.InventoryLastPass.Seconds() }),
		gauge("cairn_meta_rebalance_shards_to_move", "Shards off their placement at the rebalancer's last scan.", func(st meta.Stats) float64 { return float64(st.Rebalance.ShardsToMove) }),
		gauge("cairn_meta_rebalance_shards_moved", "Shards moved by the current or last rebalance pass.", func(st meta.Stats) float64 { return float64(st.Rebalance.ShardsMoved) }),
		gauge("cairn_meta_rebalance_bytes_moved", "Shard bytes moved by the current or last rebalance pass.", func(st meta.Stats) float64 { return float64(st.Rebalance.BytesMoved) }),
		gauge("cairn_meta_rebalance_shards_moved_total", "Shards moved by the rebalancer since this node became leader.", func(st meta.Stats) float64 { return float64(st.Rebalance.TotalShardsMoved) }),
		gauge("cairn_meta_rebalance_blocked_units", "Units the rebalancer cannot place without two shards on one host.", func(st meta.Stats) float64 { return float64(st.Rebalance.Blocked) }),
		gauge("cairn_meta_rebalance_failures", "Unit moves that failed in the current or last rebalance pass.", func(st meta.Stats) float64 { return float64(st.Rebalance.Failures) }),
		gauge("cairn_meta_rebalance_running", "1 while a rebalance pass runs.", func(st meta.Stats) float64 {
			if st.Rebalance.Running {
				return 1
			}
			return 0
		}),
	))
}
