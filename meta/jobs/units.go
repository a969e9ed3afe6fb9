package jobs

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Units of erasure-coded data.
//
// A unit is a set of k+m shards that decode together: the shards of a
// version, of one part of a multipart version, or of one part of an
// upload in progress. It is named as RelocateShardsCmd names it (bucket
// ID, key and version ID, plus a part number; or an upload ID, part
// number and shard base). Every job that walks units (the repair scan, the
// rebalancer, the inventory reconciliation) goes through walkUnits, which
// visits the records in FSM key order: current versions (o/), parts of
// uploads in progress (p/), then noncurrent versions (v/). A position in
// that order is a single FSM key, so a walk can stop after any record and
// resume later from that key.

// unitTables are the tables holding units, in key order.
var unitTables = [...]string{fsm.TagObject, fsm.TagPart, fsm.TagNoncurrent}

// unitFunc receives one unit (identity, shard base, scheme and size set)
// and its shard locations. It returns false to stop the walk; the units of
// the record at hand are still offered.
type unitFunc func(u *repairUnit, locs []*cairnpb.ShardLocation) bool

// walkUnits calls fn with every unit of every record from the FSM key from
// on (nil: from the start), in key order, until fn returns false, and
// returns the key to resume at: the key after the record it stopped in,
// nil when it walked to the end.
func walkUnits(r pebble.Reader, from []byte, fn unitFunc) ([]byte, error) {
	for _, tag := range unitTables {
		prefix := []byte(tag)
		if from != nil && bytes.Compare(from, fsm.PrefixEnd(prefix)) >= 0 {
			continue
		}
		next, err := walkTable(r, prefix, from, func(key, value []byte) (bool, error) {
			if tag == fsm.TagPart {
				return partUnits(key, value, fn)
			}
			return versionUnits(key, value, fn)
		})
		if err != nil || next != nil {
			return next, err
		}
	}
	return nil, nil
}

// forEachUnit calls fn with every unit of erasure-coded data and its shard
// locations.
func forEachUnit(r pebble.Reader, fn func(u *repairUnit, locs []*cairnpb.ShardLocation)) error {
	_, err := walkUnits(r, nil, func(u *repairUnit, locs []*cairnpb.ShardLocation) bool {
		fn(u, locs)
		return true
	})
	return err
}

// versionUnits offers the units of one version record (delete markers and
// inline versions have none).
func versionUnits(key, value []byte, fn unitFunc) (bool, error) {
	v := &cairnpb.ObjectVersion{}
	if err := proto.Unmarshal(value, v); err != nil {
		return false, fmt.Errorf("meta: decode version at %q: %w", key, err)
	}
	more := true
	if v.GetScheme() != nil && len(v.GetShards()) > 0 {
		more = fn(&repairUnit{
			cmd:       &cairnpb.RelocateShardsCmd{BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId()},
			shardBase: v.GetVersionId(), scheme: v.GetScheme(), size: v.GetSize(),
		}, v.GetShards())
	}
	for _, p := range v.GetParts() {
		if p.GetScheme() == nil || len(p.GetShards()) == 0 {
			continue
		}
		more = fn(&repairUnit{
			cmd:       &cairnpb.RelocateShardsCmd{BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId(), PartNumber: p.GetNumber()},
			shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize(),
		}, p.GetShards()) && more
	}
	return more, nil
}

// partUnits offers the unit of one part of an upload in progress.
func partUnits(key, value []byte, fn unitFunc) (bool, error) {
	up := &cairnpb.UploadedPart{}
	if err := proto.Unmarshal(value, up); err != nil {
		return false, fmt.Errorf("meta: decode %q: %w", key, err)
	}
	p := up.GetPart()
	rest := key[len(fsm.TagPart):]
	if p.GetScheme() == nil || len(p.GetShards()) == 0 || len(rest) < 4 {
		return true, nil
	}
	return fn(&repairUnit{
		cmd:       &cairnpb.RelocateShardsCmd{UploadId: string(rest[:len(rest)-4]), PartNumber: p.GetNumber(), VersionId: p.GetShardBase()},
		shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize(),
	}, p.GetShards()), nil
}

// loadUnit reads the unit c names as committed now: its identity, shard
// base, scheme and size in u, and its locations. A unit that no longer
// exists is a refusal-type error (not found, precondition failed).
func loadUnit(r pebble.Reader, c *cairnpb.RelocateShardsCmd) (*repairUnit, []*cairnpb.ShardLocation, error) {
	id := &cairnpb.RelocateShardsCmd{BucketId: c.GetBucketId(), Key: c.GetKey(), VersionId: c.GetVersionId(),
		PartNumber: c.GetPartNumber(), UploadId: c.GetUploadId()}
	if c.GetUploadId() != "" {
		up := &cairnpb.UploadedPart{}
		ok, err := fsm.GetProto(r, fsm.PartKey(c.GetUploadId(), c.GetPartNumber()), up)
		if err != nil {
			return nil, nil, err
		}
		p := up.GetPart()
		if !ok || p.GetShardBase() != c.GetVersionId() {
			return nil, nil, fmt.Errorf("meta: part %d of upload %q: %w", c.GetPartNumber(), c.GetUploadId(), rpcerr.ErrUploadNotFound)
		}
		return &repairUnit{cmd: id, shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize()}, p.GetShards(), nil
	}
	_, v, err := fsm.LocateVersion(r, c.GetBucketId(), c.GetKey(), c.GetVersionId())
	if err != nil {
		return nil, nil, err
	}
	if c.GetPartNumber() == 0 {
		return &repairUnit{cmd: id, shardBase: v.GetVersionId(), scheme: v.GetScheme(), size: v.GetSize()}, v.GetShards(), nil
	}
	for _, p := range v.GetParts() {
		if p.GetNumber() == c.GetPartNumber() {
			return &repairUnit{cmd: id, shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize()}, p.GetShards(), nil
		}
	}
	return nil, nil, fmt.Errorf("meta: version %q has no part %d: %w", c.GetVersionId(), c.GetPartNumber(), rpcerr.ErrPreconditionFailed)
}
