package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// applyRenameObject moves a key's current version to a new name in one
// apply, in a bucket that has never had versioning: the record and its
// inline bytes move, the shards it names stay as they are (so nothing of
// it is queued for GC), and the version new_name held before is removed
// as an overwrite removes it. Both names' conditions, and the source's
// object lock, are checked first; a refusal writes nothing.
func applyRenameObject(b *pebble.Batch, now int64, c *cairnpb.RenameObjectCmd) error {
	if c.GetSource() == "" || c.GetNewName() == "" {
		return Invalid("rename object: source and new name are required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if bk.GetVersioning() != "" {
		return Invalid("rename object: bucket %q has had versioning; renaming is for buckets that never had it", bk.GetName())
	}
	id := bk.GetId()
	src, err := GetObject(b, id, c.GetSource(), false)
	if err != nil {
		return err
	}
	if src == nil {
		return fmt.Errorf("meta: rename %q: %w", c.GetSource(), rpcerr.ErrObjectNotFound)
	}
	if err := checkCondition(c.GetSourceCondition(), src, ""); err != nil {
		return err
	}
	if c.GetSource() == c.GetNewName() {
		return checkCondition(c.GetNewNameCondition(), src, "")
	}
	dst, err := GetObject(b, id, c.GetNewName(), false)
	if err != nil {
		return err
	}
	if err := checkCondition(c.GetNewNameCondition(), dst, ""); err != nil {
		return err
	}
	if err := checkRemovable(src, now, false); err != nil {
		return err
	}
	if dst != nil {
		if err := removeVersion(b, now, dst, nil, false); err != nil {
			return err
		}
	}
	var inline []byte
	if len(src.GetShards()) == 0 {
		if inline, err = GetRaw(b, InlineKey(id, c.GetSource())); err != nil {
			return err
		}
	}
	moved := proto.Clone(src).(*cairnpb.ObjectVersion)
	moved.Key = c.GetNewName()
	if err := putProto(b, objectKey(id, moved.GetKey()), moved); err != nil {
		return err
	}
	if err := del(b, objectKey(id, c.GetSource())); err != nil {
		return err
	}
	switch {
	case inline != nil:
		if err := b.Set(InlineKey(id, moved.GetKey()), inline, nil); err != nil {
			return fmt.Errorf("meta: write inline data: %w", err)
		}
		return del(b, InlineKey(id, c.GetSource()))
	case dst != nil && len(dst.GetShards()) == 0:
		return del(b, InlineKey(id, moved.GetKey()))
	}
	return nil
}
