package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta"
)

// registerLifecycleMetrics exports the lifecycle job's work on this node.
func registerLifecycleMetrics(reg prometheus.Registerer, s *meta.Server) error {
	counter := func(name, help string, v func(meta.LifecycleStats) int64) ops.SnapshotMetric[meta.LifecycleStats] {
		return ops.SnapshotMetric[meta.LifecycleStats]{Name: name, Help: help, Type: prometheus.CounterValue,
			Value: func(st meta.LifecycleStats) float64 { return float64(v(st)) }}
	}
	return reg.Register(ops.NewSnapshotCollector(func() (meta.LifecycleStats, error) { return s.LifecycleStats(), nil }, nil,
		counter("cairn_meta_lifecycle_scanned_total", "Expiry index entries the lifecycle job examined on this node.",
			func(st meta.LifecycleStats) int64 { return st.Scanned }),
		counter("cairn_meta_lifecycle_expired_total", "Current versions the lifecycle job expired (Expiration).",
			func(st meta.LifecycleStats) int64 { return st.Expired }),
		counter("cairn_meta_lifecycle_noncurrent_removed_total", "Noncurrent versions the lifecycle job removed (NoncurrentVersionExpiration).",
			func(st meta.LifecycleStats) int64 { return st.NoncurrentRemoved }),
		counter("cairn_meta_lifecycle_markers_removed_total", "Lone delete markers the lifecycle job removed (ExpiredObjectDeleteMarker).",
			func(st meta.LifecycleStats) int64 { return st.MarkersRemoved }),
		counter("cairn_meta_lifecycle_uploads_aborted_total", "Multipart uploads the lifecycle job aborted (AbortIncompleteMultipartUpload).",
			func(st meta.LifecycleStats) int64 { return st.UploadsAborted }),
		counter("cairn_meta_lifecycle_locked_total", "Removals the lifecycle job decided that object lock refused.",
			func(st meta.LifecycleStats) int64 { return st.Locked }),
	))
}
