package fsm

import (
	"encoding/binary"

	"github.com/cairn-store/cairn/placement"
)

// Key layout of the FSM's Pebble database. Every key starts with a one-byte
// table tag and a slash, so each table is one contiguous key range:
//
//	b/<namespace>\x00<bucket name>          -> cairnpb.Bucket
//	o/<bucket id, 16 bytes><object key>      -> cairnpb.ObjectVersion (current version, inline_data cleared)
//	i/<bucket id, 16 bytes><object key>      -> inline object bytes of that version, if any
//	v/<bucket id, 16 bytes><object key>\x00<^seq, 8 bytes BE> -> cairnpb.ObjectVersion (noncurrent versions and delete markers, inline data included; see versions.go)
//	n/<data node id>                         -> cairnpb.DataNode
//	m/<meta member id>                       -> cairnpb.MetaMember
//	g/<enqueue unix nano, 8 bytes BE><node id>\x00<shard id> -> cairnpb.GCEntry
//	q/<node id>\x00<shard id>\x00<enqueue unix nano, 8 bytes BE> -> empty (index of g/; gc_index.go)
//	u/<bucket id, 16 bytes><object key>\x00<upload id> -> cairnpb.MultipartUpload
//	p/<upload id, 32 bytes><part number, 4 bytes BE>   -> cairnpb.UploadedPart
//	x/<data node id>\x00<shard id>          -> cairnpb.CorruptShard (scrubber reports; repair.go)
//	r/id/<request id, 16 bytes>              -> apply unix nano, 8 bytes BE (applied client requests; dedupe.go)
//	r/at/<apply unix nano, 8 bytes BE><request id> -> empty (expiry index of r/id/)
//	r/pruned                                 -> apply unix nano, 8 bytes BE (where the next prune of r/at/ starts)
//	l/<bucket id, 16 bytes><modified unix nano, 8 bytes BE><object key>\x00<version id> -> empty (lifecycle expiry index; lifecycle.go)
//
// Namespaces and node IDs never contain \x00 (validated before proposing), so
// the \x00 separator keeps "ns" and "ns2" apart and sorts a namespace's
// buckets by name.
const (
	TagBucket = "b/"
	TagObject = "o/"
	tagInline = "i/"
	tagNode   = "n/"
	tagMember = "m/"
	TagGC     = "g/"
	TagUpload = "u/"
	TagPart   = "p/"
)

// BucketIDLen is the length of a bucket ID chosen by the proposer.
const BucketIDLen = 16

func bucketKey(namespace, name string) []byte {
	k := make([]byte, 0, len(TagBucket)+len(namespace)+1+len(name))
	k = append(k, TagBucket...)
	k = append(k, namespace...)
	k = append(k, 0)
	return append(k, name...)
}

// BucketNamespacePrefix is the prefix of every bucket key of one namespace.
func BucketNamespacePrefix(namespace string) []byte {
	k := make([]byte, 0, len(TagBucket)+len(namespace)+1)
	k = append(k, TagBucket...)
	k = append(k, namespace...)
	return append(k, 0)
}

// ObjectPrefix is the prefix of every object key of one bucket.
func ObjectPrefix(bucketID []byte) []byte {
	k := make([]byte, 0, len(TagObject)+len(bucketID))
	k = append(k, TagObject...)
	return append(k, bucketID...)
}

func objectKey(bucketID []byte, key string) []byte {
	return append(ObjectPrefix(bucketID), key...)
}

func InlineKey(bucketID []byte, key string) []byte {
	k := make([]byte, 0, len(tagInline)+len(bucketID)+len(key))
	k = append(k, tagInline...)
	k = append(k, bucketID...)
	return append(k, key...)
}

func nodeKey(id string) []byte   { return append([]byte(tagNode), id...) }
func memberKey(id string) []byte { return append([]byte(tagMember), id...) }

func gcKey(unixNano int64, nodeID, shardID string) []byte {
	k := make([]byte, 0, len(TagGC)+8+len(nodeID)+1+len(shardID))
	k = append(k, TagGC...)
	k = binary.BigEndian.AppendUint64(k, uint64(unixNano))
	k = append(k, nodeID...)
	k = append(k, 0)
	return append(k, shardID...)
}

// ShardID names shard index of a version on its data node
// (placement.ShardID).
func ShardID(versionID string, index int32) string {
	return placement.ShardID(versionID, int(index))
}

// PrefixEnd returns the smallest key greater than every key that starts with
// p, or nil when there is none (p is all 0xff).
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

const MaxNameLen = 255 // namespaces, bucket names, node and member IDs
