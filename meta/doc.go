// Package meta is Cairn's meta node: a member of the region's Raft group that
// owns the metadata (buckets, the object index, the data-node map, the meta
// members and the GC queue) and serves the Meta and Admin gRPC services.
//
// # Pieces
//
//   - fsm.go: the replicated state machine. Commands are cairnpb.Command
//     envelopes; one Pebble batch is committed per Raft batch.
//   - commands.go: the command registry, one row per Command.op field with
//     its apply function and dedupe properties; the apply dispatch, the
//     dedupe checks and the tests read it. A new command is a proto field
//     and one row.
//   - refusal.go: which errors of an apply are refusals (any rpcerr
//     sentinel) and which are storage failures (everything else).
//   - dedupe.go: request IDs, so a retried call applies at most once.
//   - store.go, keys.go: the FSM's Pebble database, its key layout and reads.
//   - listing.go: ListObjects as an ordered prefix scan with delimiter skips.
//   - multipart.go, multipart_service.go: multipart uploads (upload and part
//     records, completion into a version with a part layout, upload listing).
//   - snapshot.go: streaming snapshots and Restore.
//   - raft.go: hashicorp/raft wiring (bbolt log and stable store via raft-boltdb, file
//     snapshots, TCP transport), bootstrap and leadership duties.
//   - service.go, forward.go: the gRPC adapters (validate, then route here
//     or to the leader) and leader forwarding. Their errors are domain
//     errors; Serve chains rpcerr's edge interceptors first, the one place
//     where errors become gRPC statuses.
//   - server.go, config.go: Config, New, Serve, Close, Run.
//   - logging.go: hashicorp/raft's hclog routed to the injected slog.Logger.
//   - auth.go: the admin token that every Admin call carries (the Meta
//     service is open to gateways and data nodes).
//   - membership.go, backup.go, inventory.go: Admin calls that change the
//     Raft configuration (add, remove, transfer leadership), stream and
//     restore FSM snapshots, and list data nodes, buckets and bucket stats.
//   - masterkey.go, masterkey_service.go, rewrap.go: the replicated active
//     master key, sealed access key secrets, and the leader's re-wrap of
//     wrapped keys after a rotation (keys themselves: package keyring).
//   - rebalance.go, rebalance_plan.go, rebalance_fsm.go,
//     rebalance_service.go: the leader's rebalancer, which moves only the
//     shards whose placement a layout change (node added, weight set)
//     changed, with the repair engine's copy-then-switch machinery.
//   - repair.go, repair_fsm.go, repair_service.go: the leader's repair
//     engine (what is missing, where it goes, why it cannot: the blocked
//     reasons of RepairStatus), node states and corrupt reports.
//   - units.go: units of erasure-coded data (a version, a part) and the
//     one walk over them in FSM key order, resumable from a key.
//   - clusterid.go: the cluster ID, drawn once, that RegisterNode checks
//     a data node's directory against.
//   - reconcile.go, reconcile_inventory.go: anti-entropy between records
//     and data nodes. Orphan reconciliation (node -> meta) deletes shards
//     no record names; inventory reconciliation (meta -> node) stats every
//     recorded shard on its node, paced and resumable from a replicated
//     cursor, and records the absent and mismatched ones as corrupt.
//   - shardreports.go: Meta.ReportShards; the leader checks each shard a
//     gateway reports on its node before it records anything.
//   - pacer.go: the rate limit every background job shares.
//   - lock.go: object lock (retention, legal hold): bucket configuration,
//     per-version locks, and removeVersion, the gate of every removal.
//   - jobs.go: the one list of the leader's jobs (GC, repair, rebalance,
//     orphan and inventory reconciliation, checks of reported shards,
//     re-wrap). Each is a leaderjob.Job kept next to the work it does
//     (gcJob in gc.go, repairJob in repair.go, ...); the node's one
//     leaderjob.Runner starts them when a term is ready, stops them when
//     it ends, wakes them on kicks (a removed node, a corrupt report or a
//     degraded commit kicks repair; a weight change or Admin.Rebalance the
//     rebalancer; a rotation the re-wrap; a gateway's shard report the
//     checks), and keeps their status and cairn_meta_job_* metrics. The
//     jobs share one data-node connection pool (node.conns). A new job
//     is a type with Name, Round and Interval, plus Start for per-term
//     setup and Kicks to be woken, and one line in leaderJobs.
//   - lifecycle_fsm.go, lifecycle.go: bucket lifecycle. The FSM keeps
//     an expiry index of every version by creation time (l/, written
//     where a version is made, dropped in removeVersion), the rules on
//     the bucket and the job's replicated cursors; the leader's lifecycle
//     job walks the index from those cursors to each rule's cutoff and
//     proposes removals the FSM re-checks (docs/lifecycle.md).
//   - leaderjob/: the runner and the Pacer that spreads a job's work to a
//     rate; it knows no particular job.
//
// # Invariants
//
//   - Apply is deterministic. It never reads the clock, draws randomness or
//     looks at anything but the command and the current state: times come from
//     Command.unix_nano and IDs (bucket IDs, version IDs) from the proposer.
//     Applying the same log to two empty FSMs yields byte-identical Pebble
//     contents.
//   - A command either applies completely or changes nothing. Domain failures
//     (bucket exists, not empty, unknown node, ...) are refusals: errors
//     wrapping an rpcerr sentinel, returned through the Raft future's
//     Response. Storage failures and undecodable or unknown commands panic,
//     because continuing would let the replicas diverge. Race and
//     invariants builds panic when a refused command wrote to the batch.
//   - Every field of Command.op has exactly one row in the command registry;
//     an FSM is not built otherwise.
//   - An overwritten or deleted object version's shards are put on the GC
//     queue in the same Pebble batch that removes the version. Re-committing
//     the version that is already current (a client retry) enqueues nothing.
//     The same holds for parts: a replaced part, the parts a completion leaves
//     out, and every part of an aborted upload go on the GC queue in the
//     apply that lets go of them.
//   - Every apply that removes an object version does so through
//     removeVersion, which refuses a version locked at the command's time
//     (legal hold, or a retention not yet expired; GOVERNANCE yields to
//     bypass_governance, COMPLIANCE never) before anything is written. A
//     bucket with object lock keeps versioning Enabled, and only such a
//     bucket holds locked versions.
//   - Object keys live under the bucket's 16-byte ID, never its name, so a
//     deleted and recreated bucket never sees the old bucket's objects.
//   - Inline object data is kept under its own key so that listings never read
//     object bodies.
//   - The cluster ID, once recorded, never changes: SetClusterIDCmd with
//     another ID is refused.
//   - A shard location records the digest and the node incarnation it was
//     written with. A location whose incarnation differs from its node's
//     (both known) is missing; a relocation gives the moved location the
//     new node's incarnation and keeps its digest.
//   - Corrupt reports name a node and a shard; repair acts on one only
//     while the current record places that shard on that node, and a
//     relocation clears the reports of both its old and new location. So
//     a report made from a record that changed since is harmless.
//   - With a keyring configured, an access key secret is sealed before it is
//     proposed: the Raft log, snapshots and the FSM never hold it in
//     plaintext. A re-wrap replaces a wrapped key only where the record still
//     holds the one it read, and never touches shard data.
//
// # Durability and restart
//
// The Raft log (bbolt, <Dir>/raft/log.bolt) and Raft snapshots (under
// <Dir>/raft/snapshots) are the only durable record. The FSM's Pebble database
// (under <Dir>/fsm) is written without a WAL and without fsync, and is wiped
// and recreated every time the process starts: hashicorp/raft then restores
// the latest snapshot into it and replays the committed log after it. A crash
// therefore never leaves the FSM ahead of or behind the log.
//
// # Reads and writes
//
// Every write is a Raft Apply on the leader; followers forward the request to
// the leader's gRPC address, which they learn from the member record the
// leader writes for itself when it takes office. Reads are linearizable: they
// run on the leader, after that leader's post-election Barrier has completed
// (so the FSM holds every entry committed by earlier terms) and after
// VerifyLeader confirms that no newer leader exists. A request forwarded once
// is never forwarded again; a node that receives one while not leading answers
// rpcerr.ErrNotLeader and the client retries. Admin.Status is the exception:
// it answers from the local node's view so that it works without a leader.
// A forwarded Admin call carries the caller's admin token, which the leader
// checks again.
//
// # Membership
//
// Members change through Raft configuration changes on the leader, one at a
// time. A new member starts empty without bootstrapping and waits; the
// leader records its gRPC address through the log before adding it. A
// leader asked to remove itself hands leadership over first and answers
// rpcerr.ErrNotLeader, so the retried call reaches the new leader. Saved
// FSM snapshots leave out member records; a group bootstrapped with
// Config.RestoreFrom installs one through raft.Restore on its first leader,
// which then publishes its own record.
package meta
