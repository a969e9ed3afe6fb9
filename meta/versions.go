package meta

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Every background job that walks object versions (re-wrapping data keys,
// repairing shards, reconciling orphans) goes through forEachVersion and
// locateVersion, so that a new home for version records needs teaching in
// one place only.

// forEachVersion calls fn with the database key and the decoded record of
// every object version, in key order, starting at the first key >= from
// (nil: from the beginning). fn may stop the walk by returning errStopWalk,
// which forEachVersion then returns as nil. The record passed to fn is fn's
// to keep.
func forEachVersion(r pebble.Reader, from []byte, fn func(key []byte, v *cairnpb.ObjectVersion) error) error {
	lower := []byte(tagObject)
	if bytes.Compare(from, lower) > 0 {
		lower = from
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd([]byte(tagObject))})
	if err != nil {
		return fmt.Errorf("meta: walk versions: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v := &cairnpb.ObjectVersion{}
		if err := proto.Unmarshal(it.Value(), v); err != nil {
			return fmt.Errorf("meta: decode version at %q: %w", it.Key(), err)
		}
		key := bytes.Clone(it.Key())
		if err := fn(key, v); err != nil {
			if err == errStopWalk {
				return nil
			}
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("meta: walk versions: %w", err)
	}
	return nil
}

// errStopWalk ends a forEachVersion walk early without an error.
var errStopWalk = fmt.Errorf("meta: stop walk")

// locateVersion finds the record of one version of one object, wherever it
// is kept, and returns its database key. A version that no longer exists is
// an rpcerr.ErrObjectNotFound.
func locateVersion(r pebble.Reader, bucketID []byte, key, versionID string) ([]byte, *cairnpb.ObjectVersion, error) {
	k := objectKey(bucketID, key)
	v := &cairnpb.ObjectVersion{}
	ok, err := getProto(r, k, v)
	if err != nil {
		return nil, nil, err
	}
	if !ok || v.GetVersionId() != versionID {
		return nil, nil, fmt.Errorf("meta: version %q of %q: %w", versionID, key, rpcerr.ErrObjectNotFound)
	}
	return k, v, nil
}
