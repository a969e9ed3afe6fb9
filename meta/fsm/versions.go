package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Every background job that walks object versions (re-wrapping data keys,
// repairing shards, reconciling orphans) goes through ForEachVersion and
// LocateVersion, so that a new home for version records needs teaching in
// one place only.
//
// Version records live in two tables. The current version of a key is in
// the object table (o/), its inline bytes under the same key in the inline
// table (i/). The versions a versioned bucket keeps besides, and its delete
// markers, are in the noncurrent table (v/), newest first within a key,
// each record holding its own inline bytes in inline_data:
//
//	v/<bucket id, 16 bytes><object key>\x00<^seq, 8 bytes BE> -> cairnpb.ObjectVersion
//
// A key's current version is in o/ exactly when its newest version is not
// a delete marker.

const TagNoncurrent = "v/"

// noncurrentPrefix is the prefix of every noncurrent record of one bucket.
func noncurrentPrefix(bucketID []byte) []byte {
	k := make([]byte, 0, len(TagNoncurrent)+len(bucketID))
	k = append(k, TagNoncurrent...)
	return append(k, bucketID...)
}

// noncurrentKeyPrefix is the prefix of the noncurrent records of one key.
func noncurrentKeyPrefix(bucketID []byte, key string) []byte {
	k := append(noncurrentPrefix(bucketID), key...)
	return append(k, 0)
}

// noncurrentKey is where the version made at seq is kept once noncurrent:
// the inverted seq sorts a key's versions newest first.
func noncurrentKey(bucketID []byte, key string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(noncurrentKeyPrefix(bucketID, key), ^seq)
}

// splitNoncurrentKey returns the object key of a noncurrent record key,
// given the part after the bucket prefix.
func splitNoncurrentKey(rest []byte) (string, bool) {
	n := len(rest) - 9
	if n < 0 || rest[n] != 0 {
		return "", false
	}
	return string(rest[:n]), true
}

// ForEachVersion calls fn with the database key and the decoded record of
// every object version, current ones (o/) first, then noncurrent ones
// (v/), each in key order, starting at the first key >= from (nil: from
// the beginning). Delete markers carry no data and are skipped. A
// noncurrent record carries its inline bytes in inline_data: write it back
// with them. fn may stop the walk by returning ErrStopWalk, which
// ForEachVersion then returns as nil. The record passed to fn is fn's to
// keep.
func ForEachVersion(r pebble.Reader, from []byte, fn func(key []byte, v *cairnpb.ObjectVersion) error) error {
	for _, tag := range []string{TagObject, TagNoncurrent} {
		lower, upper := []byte(tag), PrefixEnd([]byte(tag))
		if bytes.Compare(from, upper) >= 0 {
			continue
		}
		if bytes.Compare(from, lower) > 0 {
			lower = from
		}
		stop, err := walkVersionTable(r, lower, upper, fn)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// walkVersionTable is ForEachVersion over one table's range.
func walkVersionTable(r pebble.Reader, lower, upper []byte, fn func(key []byte, v *cairnpb.ObjectVersion) error) (stop bool, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return false, fmt.Errorf("meta: walk versions: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v := &cairnpb.ObjectVersion{}
		if err := proto.Unmarshal(it.Value(), v); err != nil {
			return false, fmt.Errorf("meta: decode version at %q: %w", it.Key(), err)
		}
		if v.GetDeleteMarker() {
			continue
		}
		key := bytes.Clone(it.Key())
		if err := fn(key, v); err != nil {
			if err == ErrStopWalk {
				return true, nil
			}
			return false, err
		}
	}
	if err := it.Error(); err != nil {
		return false, fmt.Errorf("meta: walk versions: %w", err)
	}
	return false, nil
}

// ErrStopWalk ends a ForEachVersion walk early without an error.
var ErrStopWalk = fmt.Errorf("meta: stop walk")

// LocateVersion finds the record of one version of one object, wherever it
// is kept, by its version_id (the internal one, which names its shards),
// and returns its database key: writing an updated record under that key
// updates the version. A noncurrent record comes with its inline bytes in
// inline_data, which must be written back with it; a current one without
// (they stay under the inline key). A version that no longer exists is an
// rpcerr.ErrObjectNotFound.
func LocateVersion(r pebble.Reader, bucketID []byte, key, versionID string) ([]byte, *cairnpb.ObjectVersion, error) {
	k := objectKey(bucketID, key)
	v := &cairnpb.ObjectVersion{}
	ok, err := GetProto(r, k, v)
	if err != nil {
		return nil, nil, err
	}
	if ok && v.GetVersionId() == versionID {
		return k, v, nil
	}
	var found []byte
	var rec *cairnpb.ObjectVersion
	err = scanNoncurrent(r, bucketID, key, func(dbKey []byte, nv *cairnpb.ObjectVersion) bool {
		if nv.GetVersionId() == versionID && !nv.GetDeleteMarker() {
			found, rec = bytes.Clone(dbKey), nv
			return false
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return nil, nil, fmt.Errorf("meta: version %q of %q: %w", versionID, key, rpcerr.ErrObjectNotFound)
	}
	return found, rec, nil
}

// scanNoncurrent calls fn with the noncurrent records of one key, newest
// first, until fn returns false. dbKey is only valid during the call.
func scanNoncurrent(r pebble.Reader, bucketID []byte, key string, fn func(dbKey []byte, v *cairnpb.ObjectVersion) bool) error {
	return Scan(r, noncurrentKeyPrefix(bucketID, key), func(k, value []byte) (bool, error) {
		v := &cairnpb.ObjectVersion{}
		if err := proto.Unmarshal(value, v); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", k, err)
		}
		if v.GetKey() != key || len(k) != len(noncurrentKeyPrefix(bucketID, key))+8 {
			return true, nil // a longer key that contains a NUL byte
		}
		return fn(k, v), nil
	})
}
