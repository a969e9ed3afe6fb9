package fsm

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Bucket configurations: the registry of their kinds. Every configuration
// a client sets on a bucket as a whole (CORS, lifecycle, policy, public
// access block, tags, versioning, object lock, metadata) is one field of
// the BucketConfig.kind oneof and one row of bucketConfigRows, which holds
// everything decided per kind: its bounds, how it changes the bucket
// record, and how it is removed (or that it cannot be). One command,
// SetBucketConfigCmd, carries any number of them to one bucket and is
// applied all or nothing; the meta service checks the same bounds before
// it proposes (ValidBucketConfigs). Nothing else switches on a kind.
//
// Every configuration lives in the bucket record, so the gateway reads it
// with GetBucket (and caches it, s3api/bucketconf.go) and it goes away
// with the bucket. A rule that needs the bucket's state is decided in the
// row's set, inside the apply, where no concurrent change can slip past
// it (a public policy under BlockPublicPolicy, versioning of a bucket
// with object lock). A refusal is an error wrapping an rpcerr sentinel,
// as for every apply; the rows list no sentinels, since what refuses is
// derived from rpcerr's table (refusal.go) and what each sentinel means
// at the edges (gRPC code, S3 and OCI codes) is that table's and the
// front ends'.
//
// To add a kind, add its field to BucketConfig.kind in bucketconfig.proto
// (and, when it needs one, its field to Bucket) and one row here.
// newBucketConfigRegistry, and so New, fails on a table that leaves a
// field without a row.

// errBucketConfigTable marks a kind table that does not match
// BucketConfig.kind.
var errBucketConfigTable = errors.New("meta: bucket config table does not match cairnpb.BucketConfig.kind")

// maxBucketMetadataBytes bounds a bucket's metadata, keys and values
// together (the native API's UpdateBucket; OCI's bound).
const maxBucketMetadataBytes = 4 << 10

// bucketConfigKind is a row's typed functions behind one payload type.
type bucketConfigKind struct {
	payload protoreflect.MessageDescriptor
	// valid bounds a configuration before it is proposed and when it is
	// applied; it reads nothing but the configuration.
	valid func(proto.Message) error
	// set changes the record bk (in memory) to hold the configuration, or
	// refuses it.
	set func(e applyEnv, bk *cairnpb.Bucket, m proto.Message) error
}

// kindOf adapts a kind's typed functions; valid may be nil (no bounds).
func kindOf[T proto.Message](valid func(T) error, set func(e applyEnv, bk *cairnpb.Bucket, c T) error) bucketConfigKind {
	var zero T
	k := bucketConfigKind{
		payload: zero.ProtoReflect().Descriptor(),
		valid:   func(proto.Message) error { return nil },
		set:     func(e applyEnv, bk *cairnpb.Bucket, m proto.Message) error { return set(e, bk, m.(T)) },
	}
	if valid != nil {
		k.valid = func(m proto.Message) error { return valid(m.(T)) }
	}
	return k
}

// bucketConfigRow is one kind of bucket configuration.
type bucketConfigRow struct {
	// field is the name of the BucketConfig.kind field that carries it.
	field protoreflect.Name
	kind  bucketConfigKind
	// remove drops the configuration from bk; nil: the kind cannot be
	// removed, and a request to is refused.
	remove func(bk *cairnpb.Bucket)
	// written, when set, runs once the record is about to be written
	// with the kind set or removed: state kept outside the record that
	// follows the configuration.
	written func(b *pebble.Batch, bk *cairnpb.Bucket) error
}

// bucketConfigRows is the kind table: one row per BucketConfig.kind
// field, in the order of bucketconfig.proto.
func bucketConfigRows() []bucketConfigRow {
	return []bucketConfigRow{
		{field: "cors", kind: kindOf(ValidCors, setCors), remove: func(bk *cairnpb.Bucket) { bk.Cors = nil }},
		// A new configuration, or none, starts the lifecycle job over on
		// the bucket: its progress belongs to one generation.
		{field: "lifecycle", kind: kindOf(ValidLifecycle, setLifecycle), remove: func(bk *cairnpb.Bucket) { bk.Lifecycle = nil },
			written: func(b *pebble.Batch, bk *cairnpb.Bucket) error { return dropLifecycleProgress(b, bk.GetId()) }},
		{field: "policy", kind: kindOf(validPolicyConfig, setPolicy), remove: func(bk *cairnpb.Bucket) { bk.Policy = "" }},
		{field: "public_access_block", kind: kindOf(nil, setPublicAccessBlock), remove: func(bk *cairnpb.Bucket) { bk.PublicAccessBlock = nil }},
		{field: "tags", kind: kindOf(validBucketTags, setBucketTags), remove: func(bk *cairnpb.Bucket) { bk.Tags = nil }},
		// A bucket never goes back to unversioned.
		{field: "versioning", kind: kindOf(validVersioning, setVersioning)},
		// Object lock, once given, is never taken away.
		{field: "object_lock", kind: kindOf(validObjectLock, setObjectLock)},
		{field: "metadata", kind: kindOf(validBucketMetadata, setBucketMetadata), remove: func(bk *cairnpb.Bucket) { bk.Metadata = nil }},
	}
}

// bucketConfigRegistry finds the row of a configuration. Built once per
// FSM (and per validation), read-only after.
type bucketConfigRegistry struct {
	kind protoreflect.OneofDescriptor
	rows map[protoreflect.FieldNumber]*bucketConfigRow
}

// newBucketConfigRegistry indexes rows by their BucketConfig.kind field,
// and fails unless they match the oneof one to one.
func newBucketConfigRegistry(rows []bucketConfigRow) (*bucketConfigRegistry, error) {
	kind := (&cairnpb.BucketConfig{}).ProtoReflect().Descriptor().Oneofs().ByName("kind")
	if kind == nil {
		return nil, fmt.Errorf("%w: it has no oneof kind", errBucketConfigTable)
	}
	r := &bucketConfigRegistry{kind: kind, rows: make(map[protoreflect.FieldNumber]*bucketConfigRow, len(rows))}
	for i := range rows {
		row := &rows[i]
		fd := kind.Fields().ByName(row.field)
		switch {
		case fd == nil:
			return nil, fmt.Errorf("%w: row %q names no field of BucketConfig.kind", errBucketConfigTable, row.field)
		case r.rows[fd.Number()] != nil:
			return nil, fmt.Errorf("%w: two rows name field %q", errBucketConfigTable, row.field)
		case row.kind.set == nil:
			return nil, fmt.Errorf("%w: row %q has no set", errBucketConfigTable, row.field)
		case fd.Message() == nil || row.kind.payload.FullName() != fd.Message().FullName():
			return nil, fmt.Errorf("%w: row %q takes %s, but the field carries another type", errBucketConfigTable, row.field, row.kind.payload.FullName())
		}
		r.rows[fd.Number()] = row
	}
	for i := 0; i < kind.Fields().Len(); i++ {
		if fd := kind.Fields().Get(i); r.rows[fd.Number()] == nil {
			return nil, fmt.Errorf("%w: field %q (%d) has no row; add one to bucketConfigRows",
				errBucketConfigTable, fd.Name(), fd.Number())
		}
	}
	return r, nil
}

// find returns c's row and payload, after checking c against the row:
// a kind is named, it can be removed when c removes it, and a
// configuration set is within the kind's bounds.
func (r *bucketConfigRegistry) find(c *cairnpb.BucketConfig) (*bucketConfigRow, proto.Message, error) {
	m := c.ProtoReflect()
	fd := m.WhichOneof(r.kind)
	if fd == nil {
		return nil, nil, Invalid("bucket configuration names no kind")
	}
	row := r.rows[fd.Number()]
	if row == nil {
		return nil, nil, Invalid("bucket configuration of unknown kind %d", fd.Number())
	}
	payload := m.Get(fd).Message().Interface()
	if c.GetRemove() {
		if row.remove == nil {
			return nil, nil, Invalid("bucket configuration %s cannot be removed", row.field)
		}
		return row, payload, nil
	}
	if err := row.kind.valid(payload); err != nil {
		return nil, nil, err
	}
	return row, payload, nil
}

// ValidBucketConfigs checks configurations before they are proposed, as
// the apply will: at least one, each of a known kind, removable when
// removed, within its bounds.
func ValidBucketConfigs(cs []*cairnpb.BucketConfig) error {
	r, err := newBucketConfigRegistry(bucketConfigRows())
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return Invalid("no bucket configuration given")
	}
	for _, c := range cs {
		if _, _, err := r.find(c); err != nil {
			return err
		}
	}
	return nil
}

// applySetBucketConfig applies the command's configurations in order to
// the bucket record; the first refusal refuses them all before anything
// is written.
func applySetBucketConfig(b *pebble.Batch, e applyEnv, c *cairnpb.SetBucketConfigCmd) error {
	if len(c.GetConfigs()) == 0 {
		return Invalid("set bucket config: no configuration given")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetName())
	if err != nil {
		return err
	}
	written, err := applyBucketConfigs(e, bk, c.GetConfigs())
	if err != nil {
		return err
	}
	for _, row := range written {
		if err := row.written(b, bk); err != nil {
			return err
		}
	}
	return putProto(b, bucketKey(c.GetNamespace(), c.GetName()), bk)
}

// applyBucketConfigs changes the record bk, in memory, by cs in order,
// and returns the rows whose written must run; on an error bk is
// half-changed and must be dropped.
func applyBucketConfigs(e applyEnv, bk *cairnpb.Bucket, cs []*cairnpb.BucketConfig) ([]*bucketConfigRow, error) {
	var written []*bucketConfigRow
	for _, cfg := range cs {
		row, payload, err := e.configs.find(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.GetRemove() {
			row.remove(bk)
		} else if err := row.kind.set(e, bk, proto.Clone(payload)); err != nil {
			return nil, fmt.Errorf("meta: bucket %q: %s: %w", bk.GetName(), row.field, err)
		}
		if row.written != nil {
			written = append(written, row)
		}
	}
	return written, nil
}

// ApplyBucketConfigs changes the record bk as the apply of a
// SetBucketConfigCmd at Raft index would, with the same refusals, and
// nothing outside the record. It serves what keeps bucket records without
// a meta group (the gateway's test fakes), so that they follow meta's
// rules rather than copies of them. On an error bk is unchanged.
func ApplyBucketConfigs(bk *cairnpb.Bucket, index uint64, cs []*cairnpb.BucketConfig) error {
	r, err := newBucketConfigRegistry(bucketConfigRows())
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return Invalid("no bucket configuration given")
	}
	next := proto.Clone(bk).(*cairnpb.Bucket)
	if _, err := applyBucketConfigs(applyEnv{index: index, configs: r}, next, cs); err != nil {
		return err
	}
	proto.Reset(bk)
	proto.Merge(bk, next)
	return nil
}

// The kinds' own rules live with the rest of each feature (cors.go,
// lifecycle.go, bucketpolicy.go, tagging.go, versioning.go, lock.go); the
// bucket's metadata has no feature file of its own.

func validBucketMetadata(c *cairnpb.BucketMetadataConfig) error {
	md := c.GetMetadata()
	size := 0
	for k, v := range md {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return Invalid("bucket metadata %q: keys are not empty, keys and values are UTF-8", k)
		}
		size += len(k) + len(v)
	}
	if size > maxBucketMetadataBytes {
		return Invalid("bucket metadata of %d bytes, at most %d", size, maxBucketMetadataBytes)
	}
	return nil
}

func setBucketMetadata(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.BucketMetadataConfig) error {
	bk.Metadata = nil
	if len(c.GetMetadata()) > 0 {
		bk.Metadata = c.GetMetadata()
	}
	return nil
}
