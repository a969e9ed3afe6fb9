// Package meta is Cairn's meta node: a member of the region's Raft group that
// owns the metadata (buckets, the object index, the data-node map, the meta
// members and the GC queue) and serves the Meta and Admin gRPC services.
//
// # Pieces
//
//   - fsm.go: the replicated state machine. Commands are cairnpb.Command
//     envelopes; one Pebble batch is committed per Raft batch.
//   - store.go, keys.go: the FSM's Pebble database, its key layout and reads.
//   - listing.go: ListObjects as an ordered prefix scan with delimiter skips.
//   - multipart.go, multipart_service.go: multipart uploads (upload and part
//     records, completion into a version with a part layout, upload listing).
//   - snapshot.go: streaming snapshots and Restore.
//   - raft.go: hashicorp/raft wiring (raft-wal log and stable store, file
//     snapshots, TCP transport), bootstrap and leadership duties.
//   - service.go, forward.go: the gRPC adapters, leader forwarding and the one
//     place where errors become gRPC statuses.
//   - server.go, config.go: Config, New, Serve, Close, Run.
//   - logging.go: hashicorp/raft's hclog routed to the injected slog.Logger.
//
// # Invariants
//
//   - Apply is deterministic. It never reads the clock, draws randomness or
//     looks at anything but the command and the current state: times come from
//     Command.unix_nano and IDs (bucket IDs, version IDs) from the proposer.
//     Applying the same log to two empty FSMs yields byte-identical Pebble
//     contents.
//   - A command either applies completely or changes nothing. Domain failures
//     (bucket exists, not empty, unknown node, ...) are returned as error
//     values through the Raft future's Response; storage failures and
//     undecodable or unknown commands panic, because continuing would let the
//     replicas diverge.
//   - An overwritten or deleted object version's shards are put on the GC
//     queue in the same Pebble batch that removes the version. Re-committing
//     the version that is already current (a client retry) enqueues nothing.
//     The same holds for parts: a replaced part, the parts a completion leaves
//     out, and every part of an aborted upload go on the GC queue in the
//     apply that lets go of them.
//   - Object keys live under the bucket's 16-byte ID, never its name, so a
//     deleted and recreated bucket never sees the old bucket's objects.
//   - Inline object data is kept under its own key so that listings never read
//     object bodies.
//
// # Durability and restart
//
// The Raft log (raft-wal under <Dir>/raft/wal) and Raft snapshots (under
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
package meta
