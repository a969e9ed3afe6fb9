package fsm

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The command registry. Every kind of Raft command is one field of the
// Command.op oneof and one row of commandRows, which holds its apply
// function and everything the FSM decides per kind of command (the dedupe
// properties). ApplyBatch, the dedupe checks (dedupe.go) and the tests all
// read the rows; nothing else switches on a command's kind.
//
// To add a command, add its field to Command.op in command.proto and one
// row here. newCommandRegistry refuses a table that leaves a field of the
// oneof without a row, names a field the oneof does not have, names one
// twice, or gives a field an apply for another payload type; New, and
// so every meta node and every FSM test, fails on such a table.

// errCommandTable marks a command table that does not match Command.op.
var errCommandTable = errors.New("meta: command table does not match cairnpb.Command.op")

// applyEnv is what an apply may read besides the batch and its payload.
// Both come from the log entry, never from the applying node, so every
// replica applies with the same values.
type applyEnv struct {
	index uint64 // the entry's Raft index
	now   int64  // the proposer's clock, Command.unix_nano
	// configs is the FSM's table of bucket configuration kinds
	// (bucketconfig.go).
	configs *bucketConfigRegistry
}

// applier is a row's apply function and the payload type it takes. An
// apply returns nil, a refusal (an error wrapping an rpcerr sentinel; see
// refusal.go) after writing nothing, or a storage failure.
type applier struct {
	payload protoreflect.MessageDescriptor
	fn      func(b *pebble.Batch, e applyEnv, payload proto.Message) error
}

// applierOf adapts a typed apply; the type's descriptor is what
// newCommandRegistry checks against the row's field.
func applierOf[T proto.Message](f func(b *pebble.Batch, e applyEnv, c T) error) applier {
	var zero T // a typed nil: generated messages reflect their descriptor from one
	return applier{
		payload: zero.ProtoReflect().Descriptor(),
		fn: func(b *pebble.Batch, e applyEnv, m proto.Message) error {
			return f(b, e, m.(T))
		},
	}
}

// plain adapts an apply that reads only its payload and the state.
func plain[T proto.Message](f func(*pebble.Batch, T) error) applier {
	return applierOf(func(b *pebble.Batch, _ applyEnv, c T) error { return f(b, c) })
}

// timed adapts an apply that also reads the proposer's clock.
func timed[T proto.Message](f func(*pebble.Batch, int64, T) error) applier {
	return applierOf(func(b *pebble.Batch, e applyEnv, c T) error { return f(b, e.now, c) })
}

// indexed adapts an apply that also reads the entry's index (version
// sequence numbers and delete marker IDs are made from it).
func indexed[T proto.Message](f func(*pebble.Batch, uint64, int64, T) error) applier {
	return applierOf(func(b *pebble.Batch, e applyEnv, c T) error { return f(b, e.index, e.now, c) })
}

// commandRow is one kind of command.
type commandRow struct {
	// field is the name of the Command.op field that carries the command.
	field protoreflect.Name
	// apply applies the command. It must write nothing when it returns
	// an error (checked in race and invariants builds, see ApplyBatch).
	apply applier
	// replayUnsafe marks commands whose handler answers with values the
	// proposer drew at random (upload IDs, access key IDs and secrets):
	// answering a duplicate with success would hand the caller a name
	// that does not exist, so their request IDs are not recorded and a
	// duplicate is applied again, as without request IDs; only the stale
	// window applies to them. A late duplicate of one creates an upload or
	// key nobody knows; it loses no acknowledged write.
	replayUnsafe bool
	// staleHarmless marks commands a data node sends about itself:
	// applying one late undoes no acknowledged write, while refusing them
	// would make a node whose clock runs behind look dead and start a
	// needless repair of all it holds. The stale window does not apply.
	staleHarmless bool
}

// commandRows is the command table: one row per Command.op field, in the
// order of command.proto.
func commandRows() []commandRow {
	return []commandRow{
		{field: "create_bucket", apply: timed(applyCreateBucket)},
		{field: "delete_bucket", apply: timed(applyDeleteBucket)},
		{field: "put_object", apply: indexed(applyPutObject)},
		{field: "delete_object", apply: indexed(applyDeleteObjectCmd)},
		{field: "register_node", apply: timed(applyRegisterNode), staleHarmless: true},
		{field: "heartbeat", apply: timed(applyHeartbeat), staleHarmless: true},
		{field: "set_member", apply: plain(applySetMember)},
		// Answers with the upload ID the proposer drew.
		{field: "create_upload", apply: timed(applyCreateUpload), replayUnsafe: true},
		{field: "commit_part", apply: timed(applyCommitPart)},
		// Needs no record: its first apply consumes the upload, so a
		// duplicate finds none and changes nothing.
		{field: "complete_upload", apply: indexed(applyCompleteUpload), replayUnsafe: true},
		{field: "abort_upload", apply: timed(applyAbortUpload)},
		{field: "set_object_tags", apply: plain(applySetObjectTags)},
		{field: "drop_gc", apply: plain(applyDropGC)},
		{field: "create_namespace", apply: timed(applyCreateNamespace)},
		{field: "create_user", apply: timed(applyCreateUser)},
		{field: "delete_user", apply: plain(applyDeleteUser)},
		// Answers with the key ID and secret the proposer drew.
		{field: "create_access_key", apply: timed(applyCreateAccessKey), replayUnsafe: true},
		{field: "set_access_key_active", apply: plain(applySetAccessKeyActive)},
		{field: "delete_access_key", apply: plain(applyDeleteAccessKey)},
		// Answers by reading the OCIDs back, so a duplicate is harmless.
		{field: "upload_api_key", apply: timed(applyUploadAPIKey)},
		{field: "delete_api_key", apply: plain(applyDeleteAPIKey)},
		{field: "set_master_key", apply: timed(applySetMasterKey)},
		{field: "rewrap", apply: plain(applyRewrap)},
		{field: "delete_version", apply: indexed(applyDeleteVersion)},
		{field: "set_version_tags", apply: plain(applySetVersionTags)},
		{field: "create_compartment", apply: timed(applyCreateCompartment)},
		{field: "set_s3_compartment", apply: plain(applySetS3Compartment)},
		{field: "create_group", apply: timed(applyCreateGroup)},
		{field: "set_group_member", apply: plain(applySetGroupMember)},
		{field: "create_policy", apply: timed(applyCreatePolicy)},
		{field: "delete_policy", apply: plain(applyDeletePolicy)},
		{field: "set_node_state", apply: timed(applySetNodeState)},
		{field: "relocate_shards", apply: timed(applyRelocateShards)},
		{field: "report_corrupt_shard", apply: timed(applyReportCorruptShard), staleHarmless: true},
		{field: "clear_corrupt_shards", apply: plain(applyClearCorruptShards)},
		{field: "set_cluster_id", apply: plain(applySetClusterID)},
		{field: "set_inventory_progress", apply: plain(applySetInventoryProgress)},
		{field: "set_node_weight", apply: plain(applySetNodeWeight)},
		{field: "set_version_lock", apply: timed(applySetVersionLock)},
		{field: "set_lifecycle_progress", apply: plain(applySetLifecycleProgress)},
		{field: "lifecycle_expire", apply: indexed(applyLifecycleExpire)},
		{field: "rename_object", apply: timed(applyRenameObject)},
		// The ID and token hash come from the proposer: a retry is a no-op.
		{field: "create_par", apply: timed(applyCreatePAR)},
		{field: "delete_par", apply: plain(applyDeletePAR)},
		// A retry of the same record changes nothing.
		{field: "record_work_request", apply: timed(applyRecordWorkRequest)},
		{field: "prune_pars", apply: timed(applyPrunePARs)},
		// Every kind of bucket configuration, by its own table
		// (bucketconfig.go).
		{field: "set_bucket_config", apply: applierOf(applySetBucketConfig)},
	}
}

// commandRegistry finds the row of a command. It is built once per FSM and
// read-only after.
type commandRegistry struct {
	op   protoreflect.OneofDescriptor
	rows map[protoreflect.FieldNumber]*commandRow
}

// newCommandRegistry indexes rows by their Command.op field, and fails
// unless they match the oneof one to one.
func newCommandRegistry(rows []commandRow) (*commandRegistry, error) {
	op := (&cairnpb.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("op")
	if op == nil {
		return nil, fmt.Errorf("%w: it has no oneof op", errCommandTable)
	}
	r := &commandRegistry{op: op, rows: make(map[protoreflect.FieldNumber]*commandRow, len(rows))}
	for i := range rows {
		row := &rows[i]
		fd := op.Fields().ByName(row.field)
		switch {
		case fd == nil:
			return nil, fmt.Errorf("%w: row %q names no field of Command.op", errCommandTable, row.field)
		case r.rows[fd.Number()] != nil:
			return nil, fmt.Errorf("%w: two rows name field %q", errCommandTable, row.field)
		case row.apply.fn == nil:
			return nil, fmt.Errorf("%w: row %q has no apply", errCommandTable, row.field)
		case row.apply.payload.FullName() != fd.Message().FullName():
			return nil, fmt.Errorf("%w: row %q applies %s, but the field carries %s",
				errCommandTable, row.field, row.apply.payload.FullName(), fd.Message().FullName())
		}
		r.rows[fd.Number()] = row
	}
	for i := 0; i < op.Fields().Len(); i++ {
		if fd := op.Fields().Get(i); r.rows[fd.Number()] == nil {
			return nil, fmt.Errorf("%w: field %q (%d) has no row; add one to commandRows",
				errCommandTable, fd.Name(), fd.Number())
		}
	}
	return r, nil
}

// find returns cmd's row and payload; ok is false when cmd's oneof is
// empty, as it is for a command of a newer Cairn version (its field is
// then among cmd's unknown fields).
func (r *commandRegistry) find(cmd *cairnpb.Command) (row *commandRow, payload proto.Message, ok bool) {
	m := cmd.ProtoReflect()
	fd := m.WhichOneof(r.op)
	if fd == nil {
		return nil, nil, false
	}
	row = r.rows[fd.Number()]
	if row == nil {
		return nil, nil, false
	}
	return row, m.Get(fd).Message().Interface(), true
}
