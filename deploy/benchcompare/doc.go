// Command benchcompare is `make bench-compare`: Cairn side by side with
// MinIO and SeaweedFS on this machine, in one run, through one client.
//
// It runs `cairn bench -json` against `cairn dev`, the local multi-process
// cluster (deploy/local/cluster.sh), a single-node MinIO with six drive
// directories and `weed server -s3` with default settings, alternating
// between them rep by rep, and prints for every workload the median with
// min and max over the reps, the ratios of each Cairn setup to each
// comparison target, and the server CPU seconds spent per GiB moved by each
// kind of process (gateway, data and meta for the cluster; the one process
// otherwise), read from /proc/<pid>/stat before and after the measured run.
// docs/performance.md says how to run it and how to read it.
//
// Invariants:
//   - Every target starts from an empty store: each rep of each target gets
//     a fresh directory, removed when the target stops.
//   - Only the measured phase is charged: the GET workloads' key spaces are
//     written by a separate, unmeasured run first (`cairn bench -populated`
//     then reads them), and the CPU samples bracket the measured run alone.
//   - The comparison servers are pinned versions built from the Go module
//     proxy (or binaries the caller names), cached under bin/compare so that
//     reruns do not rebuild them.
//   - Nothing is scraped from prose: results come from `cairn bench -json`.
package main
