// Package jobs holds the meta leader's background jobs: work only the
// leader does, each a leaderjob.Job that the meta node's one
// leaderjob.Runner starts when a term of leadership is ready and stops
// when it ends.
//
// The jobs stand on the FSM's read API (package fsm), the runner and its
// Pacer (package leaderjob), the data-node client (package dataclient)
// and the keyring; what they need of the node that runs them is an Env:
// propose a command and wait for its apply, the FSM's store, the
// data-node connection pool, the clock, a logger, the keyring and their
// settings. Package meta builds the Env, makes one Set from it and gives
// Set.Jobs to its runner; its services kick the jobs and read their
// status through Set's methods. This package never imports meta
// (test/arch checks).
//
// # Pieces
//
//   - env.go: Env, Config and the jobs' names (the label of their status
//     and cairn_meta_job_* series).
//   - set.go: Set, the jobs of one node and the state they share, with
//     the one list of the jobs (Set.Jobs) and what meta's services call:
//     kicks, RepairStatus, RebalanceStatus, the re-wrap's progress, the
//     shard reports queue, the lifecycle counts.
//   - gc.go: garbage collection of the GC queue ("gc").
//   - orphans.go: orphan reconciliation ("orphans") and the commit fence
//     that makes it sound (CheckOrphanFence, CheckVersionFence), which
//     meta's commits check.
//   - repair.go, units.go: the repair engine ("repair": what is missing,
//     where it goes, why it cannot: the blocked reasons of RepairStatus),
//     and the units of erasure-coded data (a version, a part) with the one
//     walk over them in FSM key order, resumable from a key.
//   - rebalance.go, rebalance_plan.go: the rebalancer ("rebalance"), which
//     moves only the shards whose placement a layout change (node added,
//     weight set) changed, with repair's copy-then-switch machinery.
//   - inventory.go: inventory reconciliation ("inventory", meta -> node):
//     stats every recorded shard on its node, paced and resumable from a
//     replicated cursor, and records the absent and mismatched ones as
//     corrupt.
//   - shardchecks.go: the checks of shards gateways report
//     ("shard-checks"); the leader checks each on its node before it
//     records anything.
//   - lifecycle.go: bucket lifecycle rules ("lifecycle"): walks of the
//     FSM's expiry index from replicated cursors (docs/lifecycle.md).
//   - par_expiry.go: the removal of dead PAR records ("par-expiry"):
//     expired a day ago, or of a bucket that is gone.
//   - rewrap.go: the master key re-wrap ("rewrap", with a keyring only),
//     and the sealed form of access key secrets (SealSecret, SecretOf)
//     that meta's services share.
//
// A new job is a type here with Name, Round and Interval (plus Start for
// per-term setup and Kicks to be woken), a name among the Name constants,
// and one line in Set.Jobs.
//
// # Invariants
//
//   - A job changes the state only by proposing commands through
//     Env.Propose; each apply checks again what the job decided from its
//     read (a relocation, a removal, a dropped GC entry, a saved cursor, a
//     re-wrapped key), so a decision made on a view that changed since is
//     refused or harmless.
//   - Nothing is deleted from a data node on a guess: GC deletes only
//     shards of entries older than GCGrace and drops only the entries
//     whose shards are gone; orphan reconciliation deletes only shards
//     older than OrphanGrace that no record names in a view taken after
//     the listings, and the commit fence (three quarters of the grace)
//     keeps such a shard from ever becoming referenced.
//   - A shard location whose incarnation differs from its node's (both
//     known) is missing, and repair rebuilds it.
//   - Repair acts on a corrupt report only while the current record places
//     that shard on that node (and a relocation clears the reports of both
//     its locations), so a report made from a record that changed since is
//     harmless.
//   - Rebalance moves and repair rounds never overlap (Set's relocation
//     lock).
//   - A re-wrap never touches shard data.
//   - What a job keeps in memory (statuses, the shard reports queue, the
//     re-wrap's progress) is the current leader's; what a new leader
//     needs to resume is replicated (inventory and lifecycle cursors) or
//     recomputed.
package jobs
