package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Replicated state of self-healing: data-node states (in the DataNode
// records), corrupt-shard reports, and the shard moves the repair engine
// commits.
//
//	x/<data node id>\x00<shard id> -> cairnpb.CorruptShard
const TagCorrupt = "x/"

func CorruptKey(nodeID, shard string) []byte {
	k := make([]byte, 0, len(TagCorrupt)+len(nodeID)+1+len(shard))
	k = append(k, TagCorrupt...)
	k = append(k, nodeID...)
	k = append(k, 0)
	return append(k, shard...)
}

func applySetNodeState(b *pebble.Batch, now int64, c *cairnpb.SetNodeStateCmd) error {
	n, err := GetNode(b, c.GetNodeId())
	if err != nil {
		return err
	}
	if _, ok := cairnpb.NodeState_name[int32(c.GetState())]; !ok {
		return Invalid("set node state: unknown state %d", c.GetState())
	}
	if n.GetState() == c.GetState() {
		return nil
	}
	n.State = c.GetState()
	n.StateChangedUnixNano = now
	return putProto(b, nodeKey(n.GetId()), n)
}

func applyReportCorruptShard(b *pebble.Batch, now int64, c *cairnpb.ReportCorruptShardCmd) error {
	sh := c.GetShard()
	if sh.GetNodeId() == "" || sh.GetShardId() == "" {
		return Invalid("report corrupt shard: node and shard are required")
	}
	if _, err := GetNode(b, sh.GetNodeId()); err != nil {
		return err
	}
	sh.ReportedUnixNano = now
	return putProto(b, CorruptKey(sh.GetNodeId(), sh.GetShardId()), sh)
}

func applyClearCorruptShards(b *pebble.Batch, c *cairnpb.ClearCorruptShardsCmd) error {
	for _, sh := range c.GetShards() {
		if sh.GetNodeId() == "" || sh.GetShardId() == "" {
			return Invalid("clear corrupt shards: node and shard are required")
		}
	}
	for _, sh := range c.GetShards() {
		if err := del(b, CorruptKey(sh.GetNodeId(), sh.GetShardId())); err != nil {
			return err
		}
	}
	return nil
}

// applyRelocateShards commits rebuilt shards, all or nothing: the unit must
// still exist as the same version (or upload part) and every moved shard
// must still be where the repair engine found it, else the command fails
// with rpcerr.ErrPreconditionFailed (or ErrObjectNotFound, ErrUploadNotFound)
// and changes nothing. Each moved location takes the move's incarnation
// and keeps its digest. The old locations go on the GC queue, except those
// on removed nodes, and the corrupt reports of old and new locations are
// cleared.
func applyRelocateShards(b *pebble.Batch, now int64, c *cairnpb.RelocateShardsCmd) error {
	if len(c.GetMoves()) == 0 {
		return Invalid("relocate shards: no moves")
	}
	for _, mv := range c.GetMoves() {
		if mv.GetNewNodeId() == "" || mv.GetShardId() == "" {
			return Invalid("relocate shards: new node and shard id are required")
		}
	}
	var (
		recKey []byte
		save   func() error
		locs   *[]*cairnpb.ShardLocation
		deg    *bool
	)
	if c.GetUploadId() != "" {
		recKey = PartKey(c.GetUploadId(), c.GetPartNumber())
		up := &cairnpb.UploadedPart{}
		ok, err := GetProto(b, recKey, up)
		if err != nil {
			return err
		}
		if !ok || up.GetPart().GetShardBase() != c.GetVersionId() {
			return fmt.Errorf("meta: relocate: part %d of upload %q: %w", c.GetPartNumber(), c.GetUploadId(), rpcerr.ErrUploadNotFound)
		}
		locs, deg = &up.Part.Shards, &up.Part.Degraded
		save = func() error { return putProto(b, recKey, up) }
	} else {
		k, v, err := LocateVersion(b, c.GetBucketId(), c.GetKey(), c.GetVersionId())
		if err != nil {
			return err
		}
		recKey = k
		if c.GetPartNumber() == 0 {
			locs, deg = &v.Shards, &v.Degraded
		} else {
			for _, p := range v.GetParts() {
				if p.GetNumber() == c.GetPartNumber() {
					locs, deg = &p.Shards, &p.Degraded
				}
			}
			if locs == nil {
				return fmt.Errorf("meta: relocate: version %q has no part %d: %w", c.GetVersionId(), c.GetPartNumber(), rpcerr.ErrPreconditionFailed)
			}
		}
		save = func() error { return putProto(b, recKey, v) }
	}
	for _, mv := range c.GetMoves() {
		var loc *cairnpb.ShardLocation
		for _, l := range *locs {
			if l.GetIndex() == mv.GetIndex() {
				loc = l
			}
		}
		if loc == nil && mv.GetOldNodeId() == "" {
			loc = &cairnpb.ShardLocation{Index: mv.GetIndex()}
			*locs = append(*locs, loc)
		}
		if loc == nil || loc.GetNodeId() != mv.GetOldNodeId() {
			return fmt.Errorf("meta: relocate: shard %d of %q moved meanwhile: %w", mv.GetIndex(), mv.GetShardId(), rpcerr.ErrPreconditionFailed)
		}
		// The shard's content, and so its digest, is the same on the new
		// node (the rebuild was checked against the recorded digest); its
		// incarnation is the new node's directory's. A shard that had no
		// digest (never written, or written before digests) takes the
		// rebuild's.
		loc.NodeId = mv.GetNewNodeId()
		loc.Incarnation = mv.GetIncarnation()
		if loc.GetDigest() == 0 {
			loc.Digest = mv.GetDigest()
		}
	}
	degraded := false
	for _, l := range *locs {
		if l.GetNodeId() == "" {
			degraded = true
		}
	}
	*deg = degraded
	for _, mv := range c.GetMoves() {
		// The shard lives on its new node again: a GC entry still queued
		// from an earlier move off that node would delete the live copy.
		// A report about an earlier copy there is obsolete too.
		if nn := mv.GetNewNodeId(); nn != "" {
			if err := dropPendingGC(b, nn, mv.GetShardId()); err != nil {
				return err
			}
			if err := del(b, CorruptKey(nn, mv.GetShardId())); err != nil {
				return err
			}
		}
		old := mv.GetOldNodeId()
		if old == "" {
			continue
		}
		if err := del(b, CorruptKey(old, mv.GetShardId())); err != nil {
			return err
		}
		if old == mv.GetNewNodeId() {
			continue // rewritten in place
		}
		n := &cairnpb.DataNode{}
		ok, err := GetProto(b, nodeKey(old), n)
		if err != nil {
			return err
		}
		if !ok || n.GetState() == cairnpb.NodeState_NODE_STATE_REMOVED {
			continue // nothing left there to delete
		}
		if err := enqueueRefs(b, now, []ShardRef{{Node: old, Shard: mv.GetShardId()}}, nil); err != nil {
			return err
		}
	}
	return save()
}
