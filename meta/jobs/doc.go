// Package jobs holds the meta leader's background jobs: work only the
// leader does, each a leaderjob.Job that the meta node's one
// leaderjob.Runner starts when a term of leadership is ready and stops
// when it ends.
//
// The jobs stand on the FSM's read API (package fsm), the runner and its
// Pacer (package leaderjob) and the data-node client (package
// dataclient); what they need of the node that runs them is an Env:
// propose a command and wait for its apply, the FSM's store, the
// data-node connection pool, the clock, a logger and their settings.
// Package meta builds the Env and lists the jobs (meta/jobs.go); this
// package never imports meta (test/arch checks).
//
// # Pieces
//
//   - env.go: Env, Config and the jobs' names (the label of their status
//     and cairn_meta_job_* series).
//   - gc.go: garbage collection of the GC queue (NewGC, "gc").
//   - orphans.go: orphan reconciliation (NewOrphans, "orphans") and the
//     commit fence that makes it sound (CheckOrphanFence,
//     CheckVersionFence), which meta's commits check.
//   - lifecycle.go: bucket lifecycle rules (NewLifecycle, "lifecycle"):
//     walks of the FSM's expiry index from replicated cursors, with the
//     counts the node reports (Lifecycle.Stats, docs/lifecycle.md).
//
// Still in package meta, as methods of its node: repair (repair.go),
// rebalancing (rebalance.go, rebalance_plan.go), inventory
// reconciliation (reconcile_inventory.go), the checks of reported shards
// (shardreports.go) and the master key re-wrap (rewrap.go). They share
// repair's state (what is missing, the inventory findings, the
// relocation lock) and will move together.
//
// # Invariants
//
//   - A job changes the state only by proposing commands through
//     Env.Propose; each apply checks again what the job decided from its
//     read (a removal, a dropped GC entry, a saved cursor), so a decision
//     made on a view that changed since is refused or harmless.
//   - Nothing is deleted from a data node on a guess: GC deletes only
//     shards of entries older than GCGrace and drops only the entries
//     whose shards are gone; orphan reconciliation deletes only shards
//     older than OrphanGrace that no record names in a view taken after
//     the listings, and the commit fence (three quarters of the grace)
//     keeps such a shard from ever becoming referenced.
//   - A job keeps nothing across terms that a new leader would need: its
//     progress is replicated (lifecycle cursors) or recomputed.
package jobs
