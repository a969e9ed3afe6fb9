package fsm

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// GC queue index. The queue (g/) is ordered by enqueue time, so finding the
// pending entries of one shard on one node would mean reading the whole
// queue. Every g/ entry therefore has a twin in
//
//	q/<node id>\x00<shard id>\x00<enqueue unix nano, 8 bytes BE> -> empty
//
// written and deleted together with it (putGCEntry, deleteGCEntry). A
// relocation that puts a shard back onto a node its copy was earlier moved
// off uses the index to drop the stale entry, so GC never deletes the live
// copy (dropPendingGC).
//
// Entries enqueued by a state written before the index existed have no
// twin; dropPendingGC does not see them. That is accepted: they drain
// within one GC grace of the upgrade, and only a relocation back onto the
// same node inside that window is exposed.
const TagGCIndex = "q/"

// gcIndexPrefix is the prefix of the index keys of one shard on one node.
func gcIndexPrefix(nodeID, shardID string) []byte {
	k := make([]byte, 0, len(TagGCIndex)+len(nodeID)+1+len(shardID)+1)
	k = append(k, TagGCIndex...)
	k = append(k, nodeID...)
	k = append(k, 0)
	k = append(k, shardID...)
	return append(k, 0)
}

func gcIndexKey(unixNano int64, nodeID, shardID string) []byte {
	return binary.BigEndian.AppendUint64(gcIndexPrefix(nodeID, shardID), uint64(unixNano))
}

// putGCEntry queues e and indexes it.
func putGCEntry(b *pebble.Batch, e *cairnpb.GCEntry) error {
	t, node, shard := e.GetEnqueuedUnixNano(), e.GetNodeId(), e.GetShardId()
	if err := putProto(b, gcKey(t, node, shard), e); err != nil {
		return err
	}
	if err := b.Set(gcIndexKey(t, node, shard), nil, nil); err != nil {
		return fmt.Errorf("meta: index gc entry: %w", err)
	}
	return nil
}

// deleteGCEntry removes one queue entry and its index key. Either being
// absent is fine.
func deleteGCEntry(b *pebble.Batch, unixNano int64, nodeID, shardID string) error {
	if err := del(b, gcKey(unixNano, nodeID, shardID)); err != nil {
		return err
	}
	return del(b, gcIndexKey(unixNano, nodeID, shardID))
}

// dropPendingGC removes every indexed queue entry of shardID on nodeID: the
// shard lives there again, so those entries must not delete it.
func dropPendingGC(b *pebble.Batch, nodeID, shardID string) error {
	prefix := gcIndexPrefix(nodeID, shardID)
	var times []int64
	err := Scan(b, prefix, func(key, _ []byte) (bool, error) {
		// Exactly prefix plus the time: node IDs hold no \x00, so a longer
		// key belongs to another shard whose ID extends this one's.
		if len(key) == len(prefix)+8 {
			times = append(times, int64(binary.BigEndian.Uint64(key[len(prefix):])))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, t := range times {
		if err := deleteGCEntry(b, t, nodeID, shardID); err != nil {
			return err
		}
	}
	return nil
}

// applyDropGC removes GC queue entries. Entries already gone are ignored.
func applyDropGC(b *pebble.Batch, c *cairnpb.DropGCCmd) error {
	for _, e := range c.GetEntries() {
		if e.GetNodeId() == "" || e.GetShardId() == "" {
			return Invalid("drop gc: node and shard are required")
		}
	}
	for _, e := range c.GetEntries() {
		if err := deleteGCEntry(b, e.GetEnqueuedUnixNano(), e.GetNodeId(), e.GetShardId()); err != nil {
			return fmt.Errorf("meta: drop gc entry: %w", err)
		}
	}
	return nil
}
