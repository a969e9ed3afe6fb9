// Package fsm is the meta group's replicated state machine: the commands
// a meta leader proposes, how each one applies, and the Pebble database
// that holds the result (buckets, the object index, multipart uploads,
// data nodes and meta members, the GC queue, tenancy and IAM, the master
// key state, corrupt shard reports, dedupe records). Package meta wires it
// into hashicorp/raft, proposes commands to it and reads it; it knows
// nothing of Raft's transport, gRPC, the leader's jobs or data nodes.
//
// # Pieces
//
//   - fsm.go: FSM, a raft.BatchingFSM. Commands are cairnpb.Command
//     envelopes; one Pebble batch is committed per Raft batch.
//   - commands.go: the command registry, one row per Command.op field with
//     its apply function and dedupe properties; the apply dispatch, the
//     dedupe checks and the tests read it. A new command is a proto field
//     and one row.
//   - bucketconfig.go: the registry of bucket configuration kinds (CORS,
//     lifecycle, policy, public access block, tags, versioning, object
//     lock, metadata), one row per BucketConfig.kind field with its
//     bounds, its change to the bucket record and its removal; the one
//     command SetBucketConfigCmd applies them. A new kind is a proto field
//     and one row; the kinds' rules live in their features' files.
//   - refusal.go: which errors of an apply are refusals (any rpcerr
//     sentinel) and which are storage failures (everything else).
//   - dedupe.go: request ID records, so a retried call applies at most
//     once (the IDs reach the FSM inside the Command; how they travel as
//     gRPC metadata is meta's).
//   - store.go, keys.go: the Pebble database, its key layout and the reads
//     every other package goes through.
//   - snapshot.go: streaming snapshots, Restore, and the snapshot format
//     that Admin backups share.
//   - invariants.go, invariants_off.go: the invariants build tag (on with
//     -race) that makes a refused command that wrote to the batch panic.
//   - One file per part of the state, holding its applies, its keys and
//     its reads: versioning.go and versions.go, versions_list.go (object
//     versions), listing.go (ListObjects as an ordered prefix scan with
//     delimiter skips), multipart.go and mpchecksum.go, lock.go (object
//     lock and removeVersion, the gate of every removal), tagging.go,
//     cors.go, lifecycle.go (lifecycle rules, the expiry index of
//     versions by creation time, the job's cursors and its removals),
//     gc_index.go, tenancy.go, iam.go, apikey.go, ocid.go (how every
//     identity's OCID is drawn, checked, and derived for records from
//     before OCIDs), masterkey.go,
//     repair.go (node states, relocations, corrupt reports), nodeweight.go,
//     clusterid.go, inventory.go, bucketpolicy.go (bucket policies and the
//     public access block, stored as the gateway validated them),
//     rename.go (the native API's RenameObject:
//     a current version moved to a new name in one apply), par.go (the
//     native API's pre-authenticated requests, found by their token's
//     SHA-256; the token itself is never stored; the records of dead
//     ones pruned by the leader's par-expiry job), workrequest.go (the
//     native API's work requests, recorded finished and pruned by age and
//     count per namespace in the apply that records one).
//   - fsmtest/: command builders shared by the tests of fsm and meta.
//   - fsmfixture/: the FSM as a fixture (a fresh store, commands applied
//     as Raft applies them, reads of what they left) for the tests of
//     meta and meta/jobs.
//
// # What meta reads
//
// Reads take a pebble.Reader from Store.View (or a batch, inside an
// apply) and go through the exported Get* and List* functions, the key
// helpers (Tag*, *Key, *Prefix, PrefixEnd) with Scan and ScanProtos for the
// leader's walks, and the validators (Valid*, MaxNameLen, Invalid) that
// services run before proposing, so that a limit is written once.
// Everything that writes is unexported: the only way in is a committed
// Raft log entry through Apply.
//
// # Invariants
//
//   - Apply is deterministic. It never reads the clock, draws randomness or
//     looks at anything but the command and the current state: times come from
//     Command.unix_nano and IDs (bucket IDs, version IDs) from the proposer.
//     Applying the same log to two empty FSMs yields byte-identical Pebble
//     contents. (NewOCID draws randomness; proposers call it, applies never.)
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
//     written with; a relocation gives the moved location the new node's
//     incarnation and keeps its digest.
//   - Corrupt reports name a node and a shard, and a relocation clears the
//     reports of both its old and new location.
//   - A re-wrap replaces a wrapped key only where the record still holds the
//     one it read.
//
// # Durability
//
// The Store is written without a WAL and without fsync, and OpenStore wipes
// its directory: the Raft log and Raft snapshots are the durable record, and
// hashicorp/raft restores the latest snapshot and replays the log after it
// on every start. Restore opens a new database generation in a fresh
// directory and swaps it in; readers and snapshots that still hold the old
// one keep it until they release it.
package fsm
