package fsm

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Bucket versioning statuses, as S3 spells them.
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
	NullVersionID       = "null"
)

// S3VersionID is the ID S3 clients know v by.
func S3VersionID(v *cairnpb.ObjectVersion) string {
	if v.GetVersioned() {
		return v.GetVersionId()
	}
	return NullVersionID
}

// markerID names a delete marker made at (now, index) when the proposer
// chose none: it sorts by time like the IDs gateways draw.
func markerID(now int64, index uint64) string {
	return fmt.Sprintf("%016x%016x", uint64(now), index)
}

func validVersioning(c *cairnpb.BucketVersioningConfig) error {
	if s := c.GetStatus(); s != VersioningEnabled && s != VersioningSuspended {
		return Invalid("versioning status %q is neither %s nor %s", s, VersioningEnabled, VersioningSuspended)
	}
	return nil
}

// setVersioning is the versioning row's set (bucketconfig.go): a bucket
// with object lock keeps versioning Enabled.
func setVersioning(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.BucketVersioningConfig) error {
	if bk.GetObjectLockEnabled() && c.GetStatus() != VersioningEnabled {
		return fmt.Errorf("it has object lock, so its versioning stays Enabled: %w", rpcerr.ErrInvalidBucketState)
	}
	bk.Versioning = c.GetStatus()
	return nil
}

// moveToNoncurrent moves cur, the current version of its key, to the
// noncurrent table with its inline bytes. The caller writes or deletes the
// object key.
func moveToNoncurrent(b *pebble.Batch, bucketID []byte, cur *cairnpb.ObjectVersion) error {
	if len(cur.GetShards()) == 0 {
		data, err := GetRaw(b, InlineKey(bucketID, cur.GetKey()))
		if err != nil {
			return err
		}
		cur.InlineData = data
		if err := del(b, InlineKey(bucketID, cur.GetKey())); err != nil {
			return err
		}
	}
	return putProto(b, noncurrentKey(bucketID, cur.GetKey(), cur.GetSeq()), cur)
}

// dropNoncurrentNull removes the key's noncurrent null version or null
// delete marker, if it has one, for good.
func dropNoncurrentNull(b *pebble.Batch, now int64, bucketID []byte, key string) error {
	var dbKey []byte
	var old *cairnpb.ObjectVersion
	err := scanNoncurrent(b, bucketID, key, func(k []byte, v *cairnpb.ObjectVersion) bool {
		if !v.GetVersioned() {
			dbKey, old = bytes.Clone(k), v
			return false
		}
		return true
	})
	if err != nil || old == nil {
		return err
	}
	if err := removeVersion(b, now, old, nil, false); err != nil {
		return err
	}
	return del(b, dbKey)
}

// promote makes the newest noncurrent version of key current when the key
// has no current version and that version is not a delete marker.
func promote(b *pebble.Batch, bucketID []byte, key string) error {
	cur, err := GetObject(b, bucketID, key, false)
	if err != nil || cur != nil {
		return err
	}
	var dbKey []byte
	var next *cairnpb.ObjectVersion
	err = scanNoncurrent(b, bucketID, key, func(k []byte, v *cairnpb.ObjectVersion) bool {
		dbKey, next = bytes.Clone(k), v
		return false
	})
	if err != nil || next == nil || next.GetDeleteMarker() {
		return err
	}
	if err := del(b, dbKey); err != nil {
		return err
	}
	data := next.GetInlineData()
	next.InlineData = nil
	return writeCurrent(b, bucketID, next, data)
}

// writeCurrent makes v the current version of its key, with data as its
// inline bytes.
func writeCurrent(b *pebble.Batch, bucketID []byte, v *cairnpb.ObjectVersion, data []byte) error {
	if err := putProto(b, objectKey(bucketID, v.GetKey()), v); err != nil {
		return err
	}
	if err := indexForLifecycle(b, v); err != nil {
		return err
	}
	if len(data) > 0 {
		if err := b.Set(InlineKey(bucketID, v.GetKey()), data, nil); err != nil {
			return fmt.Errorf("meta: write inline data: %w", err)
		}
		return nil
	}
	return del(b, InlineKey(bucketID, v.GetKey()))
}

// commitVersioned makes v (its inline bytes in data) the current version
// of its key in a bucket with versioning configured; old is the current
// version it replaces, nil when there is none. With versioning Enabled the
// replaced version is kept as noncurrent; Suspended, v is the null version
// and the null version it replaces, current or not, is gone for good.
func commitVersioned(b *pebble.Batch, index uint64, now int64, bk *cairnpb.Bucket, v *cairnpb.ObjectVersion, data []byte, old *cairnpb.ObjectVersion) error {
	id := bk.GetId()
	v.BucketId = id
	if old != nil && old.GetVersionId() == v.GetVersionId() {
		if checkRemovable(old, now, false) != nil {
			// A locked version is never rewritten: the retry's shards are
			// orphans, reclaimed as such.
			return nil
		}
		// A retried commit of the current version: rewrite it in place.
		v.Versioned, v.Seq = old.GetVersioned(), old.GetSeq()
		if err := unindexForLifecycle(b, old); err != nil { // its time may differ
			return err
		}
		return writeCurrent(b, id, v, data)
	}
	v.Versioned = bk.GetVersioning() == VersioningEnabled
	v.Seq = index
	v.DeleteMarker = false
	if old != nil && !v.GetVersioned() && !old.GetVersioned() {
		// Before any write: the null version is about to go for good.
		if err := checkRemovable(old, now, false); err != nil {
			return err
		}
	}
	if !v.GetVersioned() {
		// Before any write: it refuses a locked null version.
		if err := dropNoncurrentNull(b, now, id, v.GetKey()); err != nil {
			return err
		}
	}
	if old != nil {
		if !v.GetVersioned() && !old.GetVersioned() {
			if err := removeVersion(b, now, old, v, false); err != nil {
				return err
			}
		} else if err := moveToNoncurrent(b, id, old); err != nil {
			return err
		}
	}
	return writeCurrent(b, id, v, data)
}

// applyPutVersioned is applyPutObject in a bucket with versioning
// configured.
func applyPutVersioned(b *pebble.Batch, index uint64, now int64, bk *cairnpb.Bucket, c *cairnpb.PutObjectCmd) error {
	v := c.GetVersion()
	old, err := GetObject(b, bk.GetId(), v.GetKey(), false)
	if err != nil {
		return err
	}
	if err := checkCondition(c.GetCondition(), old, v.GetVersionId()); err != nil {
		return err
	}
	if v.GetModifiedUnixNano() == 0 {
		v.ModifiedUnixNano = now
	}
	data := v.GetInlineData()
	v.InlineData = nil
	return commitVersioned(b, index, now, bk, v, data, old)
}

// deleteSimple is S3's DELETE without a version ID in a bucket with
// versioning configured: a delete marker (named marker, or null when
// versioning is Suspended) becomes the newest version.
func deleteSimple(b *pebble.Batch, index uint64, now int64, bk *cairnpb.Bucket, key, marker string) error {
	id := bk.GetId()
	m := &cairnpb.ObjectVersion{
		BucketId: id, Key: key, VersionId: marker, ModifiedUnixNano: now,
		Versioned: bk.GetVersioning() == VersioningEnabled, DeleteMarker: true, Seq: index,
	}
	if m.GetVersionId() == "" {
		m.VersionId = markerID(now, index)
	}
	old, err := GetObject(b, id, key, false)
	if err != nil {
		return err
	}
	if old != nil && !m.GetVersioned() && !old.GetVersioned() {
		// Before any write: the null version is about to go for good.
		if err := checkRemovable(old, now, false); err != nil {
			return err
		}
	}
	if !m.GetVersioned() {
		// Before any write: it refuses a locked null version.
		if err := dropNoncurrentNull(b, now, id, key); err != nil {
			return err
		}
	}
	if old != nil {
		if !m.GetVersioned() && !old.GetVersioned() {
			if err := removeVersion(b, now, old, nil, false); err != nil {
				return err
			}
			if len(old.GetShards()) == 0 {
				if err := del(b, InlineKey(id, key)); err != nil {
					return err
				}
			}
		} else if err := moveToNoncurrent(b, id, old); err != nil {
			return err
		}
		if err := del(b, objectKey(id, key)); err != nil {
			return err
		}
	}
	if err := indexForLifecycle(b, m); err != nil {
		return err
	}
	return putProto(b, noncurrentKey(id, key, index), m)
}

// deleteVersion removes the version S3 knows as versionID for good; a
// version that does not exist is no error.
func deleteVersion(b *pebble.Batch, now int64, bk *cairnpb.Bucket, key, versionID string, bypassGovernance bool) error {
	id := bk.GetId()
	cur, err := GetObject(b, id, key, false)
	if err != nil {
		return err
	}
	if cur != nil && S3VersionID(cur) == versionID {
		if err := removeVersion(b, now, cur, nil, bypassGovernance); err != nil {
			return err
		}
		if err := del(b, objectKey(id, key)); err != nil {
			return err
		}
		if err := del(b, InlineKey(id, key)); err != nil {
			return err
		}
		return promote(b, id, key)
	}
	var dbKey []byte
	var old *cairnpb.ObjectVersion
	err = scanNoncurrent(b, id, key, func(k []byte, v *cairnpb.ObjectVersion) bool {
		if S3VersionID(v) == versionID {
			dbKey, old = bytes.Clone(k), v
			return false
		}
		return true
	})
	if err != nil || old == nil {
		return err
	}
	if err := removeVersion(b, now, old, nil, bypassGovernance); err != nil {
		return err
	}
	if err := del(b, dbKey); err != nil {
		return err
	}
	return promote(b, id, key)
}

func applyDeleteVersion(b *pebble.Batch, index uint64, now int64, c *cairnpb.DeleteVersionCmd) error {
	if c.GetKey() == "" {
		return Invalid("delete version: key is required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if c.GetCondition() != nil {
		// A conditional delete is decided on the current version, whichever
		// version it removes (S3: conditions apply to the current version).
		cur, err := GetObject(b, bk.GetId(), c.GetKey(), false)
		if err != nil {
			return err
		}
		if err := checkCondition(c.GetCondition(), cur, ""); err != nil {
			return err
		}
	}
	switch {
	case c.GetVersionId() != "":
		return deleteVersion(b, now, bk, c.GetKey(), c.GetVersionId(), c.GetBypassGovernance())
	case bk.GetVersioning() == "":
		return applyDeleteObject(b, now, bk, &cairnpb.DeleteObjectCmd{Namespace: c.GetNamespace(), Bucket: c.GetBucket(), Key: c.GetKey()})
	}
	return deleteSimple(b, index, now, bk, c.GetKey(), c.GetMarkerVersionId())
}

func applySetVersionTags(b *pebble.Batch, c *cairnpb.SetVersionTagsCmd) error {
	if err := ValidTags(c.GetTags(), MaxObjectTags); err != nil {
		return err
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	dbKey, v, err := FindVersion(b, bk.GetId(), c.GetKey(), c.GetVersionId())
	if err != nil {
		return err
	}
	if v.GetDeleteMarker() {
		return fmt.Errorf("meta: version %q of %q is a delete marker: %w", c.GetVersionId(), c.GetKey(), rpcerr.ErrInvalidArgument)
	}
	v.Tags = c.GetTags()
	return putProto(b, dbKey, v)
}

// FindVersion finds a version by its S3 ID (versionID "" is the newest
// version, a delete marker included) and returns its database key and its
// record; a noncurrent record carries its inline bytes.
func FindVersion(r pebble.Reader, bucketID []byte, key, versionID string) ([]byte, *cairnpb.ObjectVersion, error) {
	cur, err := GetObject(r, bucketID, key, false)
	if err != nil {
		return nil, nil, err
	}
	if cur != nil && (versionID == "" || S3VersionID(cur) == versionID) {
		return objectKey(bucketID, key), cur, nil
	}
	var dbKey []byte
	var found *cairnpb.ObjectVersion
	err = scanNoncurrent(r, bucketID, key, func(k []byte, v *cairnpb.ObjectVersion) bool {
		if versionID == "" {
			if cur == nil && v.GetDeleteMarker() {
				dbKey, found = bytes.Clone(k), v
			}
			return false
		}
		if S3VersionID(v) == versionID {
			dbKey, found = bytes.Clone(k), v
			return false
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	if found == nil {
		return nil, nil, fmt.Errorf("meta: version %q of %q: %w", versionID, key, rpcerr.ErrObjectNotFound)
	}
	return dbKey, found, nil
}

// bucketHasVersions reports whether any noncurrent version or delete
// marker lives under bucketID.
func bucketHasVersions(r pebble.Reader, bucketID []byte) (bool, error) {
	found := false
	err := Scan(r, noncurrentPrefix(bucketID), func(_, _ []byte) (bool, error) {
		found = true
		return false, nil
	})
	return found, err
}

// Meta RPCs.

// The local operations below run on the leader.

// IsNewest reports whether dbKey is the newest noncurrent record of a key
// that has no current version.
func IsNewest(r pebble.Reader, bucketID []byte, key string, dbKey []byte) bool {
	newest := false
	_ = scanNoncurrent(r, bucketID, key, func(k []byte, _ *cairnpb.ObjectVersion) bool {
		newest = bytes.Equal(k, dbKey)
		return false
	})
	return newest
}
