package meta

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fsm is the replicated state machine: a raft.BatchingFSM over the Pebble
// store. Apply and ApplyBatch are called from raft's FSM goroutine only; reads
// go straight to the store from any goroutine.
type fsm struct {
	store  *store
	logger *slog.Logger
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(s *store, logger *slog.Logger) *fsm {
	return &fsm{store: s, logger: logger}
}

// commandErrors are the outcomes a command may deterministically end with.
// Any other error inside Apply is a storage failure and panics.
var commandErrors = []error{
	rpcerr.ErrBucketNotFound,
	rpcerr.ErrBucketExists,
	rpcerr.ErrBucketNotEmpty,
	rpcerr.ErrNodeNotFound,
	rpcerr.ErrInvalidArgument,
	rpcerr.ErrUploadNotFound,
	rpcerr.ErrInvalidPart,
	rpcerr.ErrInvalidPartOrder,
	rpcerr.ErrEntityTooSmall,
	rpcerr.ErrObjectNotFound,
	rpcerr.ErrPreconditionFailed,
	rpcerr.ErrNamespaceNotFound,
	rpcerr.ErrNamespaceExists,
	rpcerr.ErrUserNotFound,
	rpcerr.ErrUserExists,
	rpcerr.ErrKeyNotFound,
	rpcerr.ErrCompartmentNotFound,
	rpcerr.ErrCompartmentExists,
	rpcerr.ErrGroupNotFound,
	rpcerr.ErrGroupExists,
	rpcerr.ErrPolicyNotFound,
	rpcerr.ErrPolicyExists,
}

func isCommandError(err error) bool {
	for _, e := range commandErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Apply applies one committed entry. Its response is nil or a command error.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in order through one indexed Pebble
// batch (later commands see earlier ones), committed once without fsync.
// Each response is nil or an error wrapping one of commandErrors.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	resps := make([]any, len(logs))
	h, err := f.store.acquire()
	if err != nil {
		panic(fmt.Sprintf("meta: raft applied a log entry after the FSM was closed: %v", err))
	}
	defer f.store.release(h)
	b := h.db.NewIndexedBatch()
	defer b.Close()
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		cmd := &cairnpb.Command{}
		if err := proto.Unmarshal(l.Data, cmd); err != nil {
			panic(fmt.Sprintf("meta: raft log entry %d is not a cairn command (%v); refusing to continue with a log this node cannot read", l.Index, err))
		}
		err := applyDeduped(b, l.Index, cmd)
		if err != nil && !isCommandError(err) {
			panic(fmt.Sprintf("meta: applying raft log entry %d: %v", l.Index, err))
		}
		if err != nil {
			resps[i] = err
		}
	}
	if !b.Empty() {
		if err := b.Commit(pebble.NoSync); err != nil {
			panic(fmt.Sprintf("meta: committing FSM batch ending at raft index %d: %v", logs[len(logs)-1].Index, err))
		}
	}
	return resps
}

// applyCommand dispatches one command. It must write nothing when it
// returns an error.
func applyCommand(b *pebble.Batch, index uint64, cmd *cairnpb.Command) error {
	now := cmd.GetUnixNano()
	switch op := cmd.GetOp().(type) {
	case *cairnpb.Command_CreateBucket:
		return applyCreateBucket(b, now, op.CreateBucket)
	case *cairnpb.Command_DeleteBucket:
		return applyDeleteBucket(b, now, op.DeleteBucket)
	case *cairnpb.Command_PutObject:
		return applyPutObject(b, index, now, op.PutObject)
	case *cairnpb.Command_DeleteObject:
		return applyDeleteObjectCmd(b, index, now, op.DeleteObject)
	case *cairnpb.Command_RegisterNode:
		return applyRegisterNode(b, now, op.RegisterNode)
	case *cairnpb.Command_Heartbeat:
		return applyHeartbeat(b, now, op.Heartbeat)
	case *cairnpb.Command_SetMember:
		return applySetMember(b, op.SetMember)
	case *cairnpb.Command_CreateUpload:
		return applyCreateUpload(b, now, op.CreateUpload)
	case *cairnpb.Command_CommitPart:
		return applyCommitPart(b, now, op.CommitPart)
	case *cairnpb.Command_CompleteUpload:
		return applyCompleteUpload(b, index, now, op.CompleteUpload)
	case *cairnpb.Command_AbortUpload:
		return applyAbortUpload(b, now, op.AbortUpload)
	case *cairnpb.Command_SetObjectTags:
		return applySetObjectTags(b, op.SetObjectTags)
	case *cairnpb.Command_SetBucketTags:
		return applySetBucketTags(b, op.SetBucketTags)
	case *cairnpb.Command_DropGc:
		return applyDropGC(b, op.DropGc)
	case *cairnpb.Command_CreateNamespace:
		return applyCreateNamespace(b, now, op.CreateNamespace)
	case *cairnpb.Command_CreateUser:
		return applyCreateUser(b, now, op.CreateUser)
	case *cairnpb.Command_DeleteUser:
		return applyDeleteUser(b, op.DeleteUser)
	case *cairnpb.Command_CreateAccessKey:
		return applyCreateAccessKey(b, now, op.CreateAccessKey)
	case *cairnpb.Command_SetAccessKeyActive:
		return applySetAccessKeyActive(b, op.SetAccessKeyActive)
	case *cairnpb.Command_DeleteAccessKey:
		return applyDeleteAccessKey(b, op.DeleteAccessKey)
	case *cairnpb.Command_SetNodeState:
		return applySetNodeState(b, now, op.SetNodeState)
	case *cairnpb.Command_RelocateShards:
		return applyRelocateShards(b, now, op.RelocateShards)
	case *cairnpb.Command_ReportCorruptShard:
		return applyReportCorruptShard(b, now, op.ReportCorruptShard)
	case *cairnpb.Command_ClearCorruptShards:
		return applyClearCorruptShards(b, op.ClearCorruptShards)
	case *cairnpb.Command_SetNodeWeight:
		return applySetNodeWeight(b, op.SetNodeWeight)
	case *cairnpb.Command_SetMasterKey:
		return applySetMasterKey(b, now, op.SetMasterKey)
	case *cairnpb.Command_Rewrap:
		return applyRewrap(b, op.Rewrap)
	case *cairnpb.Command_SetBucketVersioning:
		return applySetBucketVersioning(b, op.SetBucketVersioning)
	case *cairnpb.Command_DeleteVersion:
		return applyDeleteVersion(b, index, now, op.DeleteVersion)
	case *cairnpb.Command_SetVersionTags:
		return applySetVersionTags(b, op.SetVersionTags)
	case *cairnpb.Command_CreateCompartment:
		return applyCreateCompartment(b, now, op.CreateCompartment)
	case *cairnpb.Command_SetS3Compartment:
		return applySetS3Compartment(b, op.SetS3Compartment)
	case *cairnpb.Command_CreateGroup:
		return applyCreateGroup(b, now, op.CreateGroup)
	case *cairnpb.Command_SetGroupMember:
		return applySetGroupMember(b, op.SetGroupMember)
	case *cairnpb.Command_CreatePolicy:
		return applyCreatePolicy(b, now, op.CreatePolicy)
	case *cairnpb.Command_DeletePolicy:
		return applyDeletePolicy(b, op.DeletePolicy)
	default:
		panic(fmt.Sprintf("meta: raft log entry %d holds an unknown command (%T); "+
			"it was proposed by a newer Cairn version: upgrade this meta node", index, op))
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("meta: %s: %w", fmt.Sprintf(format, args...), rpcerr.ErrInvalidArgument)
}

func putProto(b *pebble.Batch, key []byte, m proto.Message) error {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("meta: encode %q: %w", key, err)
	}
	if err := b.Set(key, v, nil); err != nil {
		return fmt.Errorf("meta: write %q: %w", key, err)
	}
	return nil
}

func del(b *pebble.Batch, key []byte) error {
	if err := b.Delete(key, nil); err != nil {
		return fmt.Errorf("meta: delete %q: %w", key, err)
	}
	return nil
}

func applyCreateBucket(b *pebble.Batch, now int64, c *cairnpb.CreateBucketCmd) error {
	bk := c.GetBucket()
	if bk.GetNamespace() == "" || bk.GetName() == "" || len(bk.GetId()) != bucketIDLen {
		return invalid("create bucket: namespace, name and a %d-byte id are required", bucketIDLen)
	}
	key := bucketKey(bk.GetNamespace(), bk.GetName())
	ok, err := getProto(b, key, &cairnpb.Bucket{})
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("meta: bucket %q in namespace %q: %w", bk.GetName(), bk.GetNamespace(), rpcerr.ErrBucketExists)
	}
	if bk.GetCompartment() == "" {
		// Buckets made without a compartment (S3 CreateBucket) go to the
		// namespace's designated S3 compartment.
		if bk.Compartment, err = s3CompartmentOf(b, bk.GetNamespace()); err != nil {
			return err
		}
	}
	if bk.GetCreatedUnixNano() == 0 {
		bk.CreatedUnixNano = now
	}
	return putProto(b, key, bk)
}

func applyDeleteBucket(b *pebble.Batch, now int64, c *cairnpb.DeleteBucketCmd) error {
	bk, err := getBucket(b, c.GetNamespace(), c.GetName())
	if err != nil {
		return err
	}
	busy, err := bucketHasObjects(b, bk.GetId())
	if err != nil {
		return err
	}
	if busy {
		return fmt.Errorf("meta: bucket %q in namespace %q: %w", c.GetName(), c.GetNamespace(), rpcerr.ErrBucketNotEmpty)
	}
	// Uploads in progress do not keep a bucket alive; they go with it.
	if err := abortBucketUploads(b, now, bk.GetId()); err != nil {
		return err
	}
	return del(b, bucketKey(c.GetNamespace(), c.GetName()))
}

func applyPutObject(b *pebble.Batch, index uint64, now int64, c *cairnpb.PutObjectCmd) error {
	v := c.GetVersion()
	if v.GetKey() == "" || v.GetVersionId() == "" {
		return invalid("put object: key and version id are required")
	}
	bk, err := getBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if bk.GetVersioning() != "" {
		return applyPutVersioned(b, index, now, bk, c)
	}
	id := bk.GetId()
	old, err := getObject(b, id, v.GetKey(), false)
	if err != nil {
		return err
	}
	if err := checkCondition(c.GetCondition(), old, v.GetVersionId()); err != nil {
		return err
	}
	v.BucketId = id
	if v.GetModifiedUnixNano() == 0 {
		v.ModifiedUnixNano = now
	}
	data := v.GetInlineData()
	v.InlineData = nil
	if old != nil {
		if err := enqueueGC(b, now, old, v); err != nil {
			return err
		}
	}
	if err := putProto(b, objectKey(id, v.GetKey()), v); err != nil {
		return err
	}
	switch {
	case len(data) > 0:
		if err := b.Set(inlineKey(id, v.GetKey()), data, nil); err != nil {
			return fmt.Errorf("meta: write inline data: %w", err)
		}
	case old != nil && len(old.GetShards()) == 0:
		return del(b, inlineKey(id, v.GetKey()))
	}
	return nil
}

// applyDeleteObjectCmd is S3's simple DELETE: in a bucket with versioning
// configured it makes a delete marker.
func applyDeleteObjectCmd(b *pebble.Batch, index uint64, now int64, c *cairnpb.DeleteObjectCmd) error {
	if c.GetKey() == "" {
		return invalid("delete object: key is required")
	}
	bk, err := getBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if bk.GetVersioning() != "" {
		return deleteSimple(b, index, now, bk, c.GetKey(), "")
	}
	return applyDeleteObject(b, now, bk, c)
}

// applyDeleteObject deletes the current version of a key in a bucket that
// has never had versioning.
func applyDeleteObject(b *pebble.Batch, now int64, bk *cairnpb.Bucket, c *cairnpb.DeleteObjectCmd) error {
	old, err := getObject(b, bk.GetId(), c.GetKey(), false)
	if err != nil || old == nil {
		// Deleting a missing key succeeds, as in S3.
		return err
	}
	if err := enqueueGC(b, now, old, nil); err != nil {
		return err
	}
	if err := del(b, objectKey(bk.GetId(), c.GetKey())); err != nil {
		return err
	}
	if len(old.GetShards()) == 0 {
		return del(b, inlineKey(bk.GetId(), c.GetKey()))
	}
	return nil
}

// enqueueGC puts the shards of old (its parts' included) that replacement
// (nil for a delete) does not reference on the GC queue. A retried commit of
// the current version references all of them, so it frees nothing.
func enqueueGC(b *pebble.Batch, now int64, old, replacement *cairnpb.ObjectVersion) error {
	return enqueueRefs(b, now, versionRefs(old), versionRefs(replacement))
}

func applyRegisterNode(b *pebble.Batch, now int64, c *cairnpb.RegisterNodeCmd) error {
	n := c.GetNode()
	if n.GetId() == "" || n.GetAddr() == "" {
		return invalid("register node: id and addr are required")
	}
	old := &cairnpb.DataNode{}
	ok, err := getProto(b, nodeKey(n.GetId()), old)
	if err != nil {
		return err
	}
	if ok {
		// Node states are the operator's: registering again keeps them.
		n.State, n.StateChangedUnixNano = old.GetState(), old.GetStateChangedUnixNano()
	}
	if err := keepNodeWeight(b, n); err != nil {
		return err
	}
	if ok && old.GetRegisteredUnixNano() != 0 {
		n.RegisteredUnixNano = old.GetRegisteredUnixNano()
	} else {
		n.RegisteredUnixNano = now
	}
	n.LastHeartbeatUnixNano = now
	return putProto(b, nodeKey(n.GetId()), n)
}

func applyHeartbeat(b *pebble.Batch, now int64, c *cairnpb.HeartbeatCmd) error {
	n, err := getNode(b, c.GetNodeId())
	if err != nil {
		return err
	}
	n.LastHeartbeatUnixNano = now
	n.CapacityBytes = c.GetCapacityBytes()
	n.UsedBytes = c.GetUsedBytes()
	return putProto(b, nodeKey(n.GetId()), n)
}

func applySetMember(b *pebble.Batch, c *cairnpb.SetMemberCmd) error {
	m := c.GetMember()
	if m.GetId() == "" {
		return invalid("set member: id is required")
	}
	return putProto(b, memberKey(m.GetId()), m)
}

// Snapshot pins a point-in-time view of the state; Persist streams it.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	h, err := f.store.acquire()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{store: f.store, h: h, snap: h.db.NewSnapshot()}, nil
}

// Restore replaces the whole state with the snapshot read from rc.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.store.restore(rc)
}
