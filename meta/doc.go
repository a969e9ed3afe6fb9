// Package meta is Cairn's meta node: a member of the region's Raft group that
// owns the metadata (buckets, the object index, the data-node map, the meta
// members and the GC queue) and serves the Meta and Admin gRPC services.
//
// # Pieces
//
//   - fsm/: the replicated state machine (package fsm): commands and their
//     registry, applies, the Pebble store and its key layout, snapshots,
//     dedupe records and the reads everything here goes through. It
//     imports only proto, placement and meta/policy (test/arch checks).
//   - requestid.go: request IDs, carried as gRPC metadata from the client
//     to the proposer, which copies them into the Command (fsm dedupes).
//   - raft.go: hashicorp/raft wiring (bbolt log and stable store via raft-boltdb, file
//     snapshots, TCP transport), bootstrap and leadership duties.
//   - bootstrap.go: when a node with no Raft state may bootstrap: only
//     once every other initial voter answers and none has seen an
//     election, so a voter that lost its disk never starts a second group.
//   - service.go, the *_service.go files and forward.go: the gRPC adapters
//     of each part of the state (multipart, versioning, lock, tagging,
//     cors, tenancy, IAM, API keys, master key, repair, rebalance):
//     validate, then read the FSM here or propose a command (route here or
//     to the leader), and leader forwarding. Their errors are domain
//     errors; Serve chains rpcerr's edge interceptors first, the one place
//     where errors become gRPC statuses.
//   - server.go, config.go: Config, New, Serve, Close, Run.
//   - testing.go: MakeTestCluster, an in-process meta group on loopback
//     (real Raft, gRPC and Pebble) for tests of meta and of the packages
//     that call it, as hashicorp/raft's MakeCluster is for raft's users.
//   - logging.go: hashicorp/raft's hclog routed to the injected slog.Logger.
//   - auth.go: the admin token that every Admin call carries (the Meta
//     service is open to gateways and data nodes).
//   - membership.go, backup.go, inventory.go: Admin calls that change the
//     Raft configuration (add, remove, transfer leadership), stream and
//     restore FSM snapshots, and list data nodes, buckets and bucket stats.
//   - masterkey_service.go: rotating the replicated active master key and
//     sealing access key secrets before they are proposed (keys
//     themselves: package keyring; the state: fsm/masterkey.go; the
//     re-wrap after a rotation and the sealed-secret format:
//     jobs/rewrap.go).
//   - rebalance_service.go, repair_service.go, shardreports_service.go:
//     the Admin and Meta calls around the leader's rebalancer and repair
//     engine (weights, node states, corrupt, unreadable and shard
//     reports, RepairStatus, RebalanceStatus); the jobs themselves are in
//     jobs/, and these read and kick them through jobs.Set (the applies:
//     fsm/repair.go, fsm/nodeweight.go).
//   - clusterid.go: the cluster ID, drawn once by the leader, that
//     RegisterNode checks a data node's directory against.
//   - jobs.go: the node's side of the leader's jobs: the jobs.Env it
//     gives them (propose, the FSM store, the data-node connection pool
//     node.conns, the clock, the logger, the keyring, their settings),
//     the one leaderjob.Runner that runs jobs.Set.Jobs (started when a
//     term is ready, stopped when it ends, status and cairn_meta_job_*
//     metrics, Admin.LeaderJobs), the orphan commit fence commits check,
//     and the jobs' counts for monitoring.
//   - bucketconfig_service.go: SetBucketConfig, the one RPC of every bucket
//     configuration (its kinds: fsm/bucketconfig.go).
//   - jobs/: the leader's jobs (package jobs): GC, repair, rebalancing,
//     orphan and inventory reconciliation, checks of reported shards,
//     lifecycle and the master key re-wrap, and the state they share.
//     Services kick them (a removed node, a corrupt report or a degraded
//     commit kicks repair; a weight change or Admin.Rebalance the
//     rebalancer; a rotation the re-wrap; a gateway's shard report the
//     checks) and read their status through jobs.Set's methods. It never
//     imports meta (test/arch checks).
//   - leaderjob/: the runner and the Pacer that spreads a job's work to a
//     rate; it knows no particular job.
//
// # Invariants
//
// The state machine's own invariants (deterministic applies, refusals that
// write nothing, one registry row per command, GC in the same batch,
// removeVersion as the gate of every removal, ...) are package fsm's and
// stated in its doc.go. Those of the node:
//
//   - Only a committed Raft log entry changes the FSM: meta reads it
//     (fsm.Store.View) and proposes commands, nothing else.
//   - The proposer stamps a command's time and draws its IDs, so that every
//     replica applies the same command the same way.
//   - With a keyring configured, an access key secret is sealed before it is
//     proposed: the Raft log, snapshots and the FSM never hold it in
//     plaintext.
//   - The jobs' own invariants (repair, GC, orphans, re-wrap) are package
//     jobs', stated in its doc.go.
//
// # Durability and restart
//
// The Raft log (bbolt, <Dir>/raft/log.bolt) and Raft snapshots (under
// <Dir>/raft/snapshots) are the only durable record. The FSM's Pebble database
// (fsm.Store, under <Dir>/fsm) is written without a WAL and without fsync, and is wiped
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
// (so the FSM holds every entry committed by earlier terms) and once it
// knows no newer leader exists: a VerifyLeader that began after the read
// arrived, or the read lease a recent one left (readlease.go). A request
// forwarded once is never forwarded again; a node that receives one while not leading answers
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
