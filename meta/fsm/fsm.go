package fsm

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fsm is the replicated state machine: a raft.BatchingFSM over the Pebble
// store. Apply and ApplyBatch are called from raft's FSM goroutine only; reads
// go straight to the store from any goroutine.
type FSM struct {
	Store  *Store
	cmds   *commandRegistry
	confs  *bucketConfigRegistry
	logger *slog.Logger
}

var _ raft.BatchingFSM = (*FSM)(nil)

func New(s *Store, logger *slog.Logger) (*FSM, error) {
	cmds, err := newCommandRegistry(commandRows())
	if err != nil {
		return nil, err
	}
	confs, err := newBucketConfigRegistry(bucketConfigRows())
	if err != nil {
		return nil, err
	}
	return &FSM{Store: s, cmds: cmds, confs: confs, logger: logger}, nil
}

// Apply applies one committed entry. Its response is nil or a *refusal.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in order through one indexed Pebble
// batch (later commands see earlier ones), committed once without fsync.
// Each response is nil or a *refusal (refusal.go); any other error of an
// apply is a storage failure and panics.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	resps := make([]any, len(logs))
	h, err := f.Store.acquire()
	if err != nil {
		panic(fmt.Sprintf("meta: raft applied a log entry after the FSM was closed: %v", err))
	}
	defer f.Store.release(h)
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
		before := b.Len()
		err := f.applyEntry(b, l.Index, cmd)
		if err == nil {
			continue
		}
		if RefusalReason(err) == "" {
			panic(fmt.Sprintf("meta: applying raft log entry %d: %v", l.Index, err))
		}
		if invariants && b.Len() != before {
			panic(fmt.Sprintf("meta: raft log entry %d was refused (%v) after writing to the batch: an apply must check before it writes", l.Index, err))
		}
		resps[i] = &refusal{err: err}
	}
	if !b.Empty() {
		if err := b.Commit(pebble.NoSync); err != nil {
			panic(fmt.Sprintf("meta: committing FSM batch ending at raft index %d: %v", logs[len(logs)-1].Index, err))
		}
	}
	if len(logs) > 0 {
		f.Store.applied.Store(logs[len(logs)-1].Index)
	}
	return resps
}

// applyEntry applies one command through its registry row and the dedupe
// rules. It writes nothing when it returns an error.
func (f *FSM) applyEntry(b *pebble.Batch, index uint64, cmd *cairnpb.Command) error {
	row, payload, ok := f.cmds.find(cmd)
	if !ok {
		panic(fmt.Sprintf("meta: raft log entry %d holds an unknown command (fields %v); "+
			"it was proposed by a newer Cairn version: upgrade this meta node", index, unknownFields(cmd)))
	}
	return applyDeduped(b, row, applyEnv{index: index, now: cmd.GetUnixNano(), configs: f.confs}, cmd, payload)
}

// unknownFields lists the numbers of the fields of m this binary does not
// know, for the message of a node that meets a newer command.
func unknownFields(m proto.Message) []protowire.Number {
	var nums []protowire.Number
	for raw := m.ProtoReflect().GetUnknown(); len(raw) > 0; {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			break
		}
		raw = raw[n:]
		n = protowire.ConsumeFieldValue(num, typ, raw)
		if n < 0 {
			break
		}
		raw = raw[n:]
		nums = append(nums, num)
	}
	return nums
}

func Invalid(format string, args ...any) error {
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
	if bk.GetNamespace() == "" || bk.GetName() == "" || len(bk.GetId()) != BucketIDLen {
		return Invalid("create bucket: namespace, name and a %d-byte id are required", BucketIDLen)
	}
	key := bucketKey(bk.GetNamespace(), bk.GetName())
	ok, err := GetProto(b, key, &cairnpb.Bucket{})
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
	} else if ok, err := compartmentExists(b, bk.GetNamespace(), bk.GetCompartment()); err != nil {
		return err
	} else if !ok {
		// The native API names a bucket's compartment; S3's is checked
		// when it is designated.
		return fmt.Errorf("meta: compartment %q in namespace %q: %w", bk.GetCompartment(), bk.GetNamespace(), rpcerr.ErrCompartmentNotFound)
	} else if IsRootCompartment(bk.GetCompartment()) {
		bk.Compartment = "" // the root, however it was named
	}
	if bk.GetCreatedUnixNano() == 0 {
		bk.CreatedUnixNano = now
	}
	if bk.GetObjectLockEnabled() {
		bk.Versioning = VersioningEnabled // as S3: object lock turns versioning on, for good
	}
	if err := ValidDefaultRetention(bk.GetDefaultRetention()); err != nil {
		return err
	}
	return putProto(b, key, bk)
}

func applyDeleteBucket(b *pebble.Batch, now int64, c *cairnpb.DeleteBucketCmd) error {
	bk, err := GetBucket(b, c.GetNamespace(), c.GetName())
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
	if err := dropLifecycleProgress(b, bk.GetId()); err != nil {
		return err
	}
	return del(b, bucketKey(c.GetNamespace(), c.GetName()))
}

func applyPutObject(b *pebble.Batch, index uint64, now int64, c *cairnpb.PutObjectCmd) error {
	v := c.GetVersion()
	if v.GetKey() == "" || v.GetVersionId() == "" {
		return Invalid("put object: key and version id are required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if err := settleLock(bk, v, now); err != nil {
		return err
	}
	if bk.GetVersioning() != "" {
		return applyPutVersioned(b, index, now, bk, c)
	}
	id := bk.GetId()
	old, err := GetObject(b, id, v.GetKey(), false)
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
		if err := removeVersion(b, now, old, v, false); err != nil {
			return err
		}
	}
	if err := putProto(b, objectKey(id, v.GetKey()), v); err != nil {
		return err
	}
	if err := indexForLifecycle(b, v); err != nil {
		return err
	}
	switch {
	case len(data) > 0:
		if err := b.Set(InlineKey(id, v.GetKey()), data, nil); err != nil {
			return fmt.Errorf("meta: write inline data: %w", err)
		}
	case old != nil && len(old.GetShards()) == 0:
		return del(b, InlineKey(id, v.GetKey()))
	}
	return nil
}

// applyDeleteObjectCmd is S3's simple DELETE: in a bucket with versioning
// configured it makes a delete marker.
func applyDeleteObjectCmd(b *pebble.Batch, index uint64, now int64, c *cairnpb.DeleteObjectCmd) error {
	if c.GetKey() == "" {
		return Invalid("delete object: key is required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
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
	old, err := GetObject(b, bk.GetId(), c.GetKey(), false)
	if err != nil || old == nil {
		// Deleting a missing key succeeds, as in S3.
		return err
	}
	if err := removeVersion(b, now, old, nil, false); err != nil {
		return err
	}
	if err := del(b, objectKey(bk.GetId(), c.GetKey())); err != nil {
		return err
	}
	if len(old.GetShards()) == 0 {
		return del(b, InlineKey(bk.GetId(), c.GetKey()))
	}
	return nil
}

func applyRegisterNode(b *pebble.Batch, now int64, c *cairnpb.RegisterNodeCmd) error {
	n := c.GetNode()
	if n.GetId() == "" || n.GetAddr() == "" {
		return Invalid("register node: id and addr are required")
	}
	old := &cairnpb.DataNode{}
	ok, err := GetProto(b, nodeKey(n.GetId()), old)
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
	keepIncarnation(n, old, now)
	n.LastHeartbeatUnixNano = now
	return putProto(b, nodeKey(n.GetId()), n)
}

// keepIncarnation settles a registering node's incarnation (its data
// directory's identity) against its record old (empty for a new node): a
// node that does not say (0: a node from before incarnations) keeps the
// recorded one; a different one starts a new incarnation at now. Shards
// recorded with another incarnation than their node's are missing
// (repair.go).
func keepIncarnation(n, old *cairnpb.DataNode, now int64) {
	switch {
	case n.GetIncarnation() == 0:
		n.Incarnation, n.IncarnationSinceUnixNano = old.GetIncarnation(), old.GetIncarnationSinceUnixNano()
	case n.GetIncarnation() == old.GetIncarnation():
		n.IncarnationSinceUnixNano = old.GetIncarnationSinceUnixNano()
	default:
		n.IncarnationSinceUnixNano = now
	}
}

func applyHeartbeat(b *pebble.Batch, now int64, c *cairnpb.HeartbeatCmd) error {
	n, err := GetNode(b, c.GetNodeId())
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
		return Invalid("set member: id is required")
	}
	return putProto(b, memberKey(m.GetId()), m)
}

// Snapshot pins a point-in-time view of the state; Persist streams it.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	h, err := f.Store.acquire()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{store: f.Store, h: h, snap: h.db.NewSnapshot()}, nil
}

// Restore replaces the whole state with the snapshot read from rc.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.Store.restore(rc)
}
