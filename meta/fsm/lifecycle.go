package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Lifecycle, the FSM side: the expiry index, the configuration and
// progress commands, and the removal command the lifecycle job proposes
// (the job itself: lifecycle.go; the design: docs/lifecycle.md).
//
// Key layout:
//
//	l/<bucket id, 16 bytes><modified unix nano, 8 bytes BE><object key>\x00<version id> -> empty
//	c/lifecycle/<bucket id, 16 bytes> -> cairnpb.LifecycleProgress
//
// The expiry index (l/) holds one entry per version and delete marker,
// ordered by the time it was made, written in the apply that makes the
// version and deleted in removeVersion, the gate every removal passes. A
// version's time is also the moment its predecessor became noncurrent,
// so one walk of the index by time finds every version and every key
// whose noncurrent versions changed, oldest first, without reading the
// object table. Version IDs never hold \x00, so the last \x00 of an
// entry ends its object key.

const (
	tagLifecycleIndex    = "l/"
	tagLifecycleProgress = tagCluster + "lifecycle/"
)

// Bounds of a configuration meta keeps (S3 allows 1000 rules).
const (
	maxLifecycleRules    = 1000
	maxLifecycleXMLBytes = 1 << 20
)

// LifecycleActions is the number of cursors per rule in a
// LifecycleProgress: one per action that walks the expiry index.
const LifecycleActions = 3

// The index-walking actions of a rule, each with its cursor slot.
const (
	ActExpire     = 0 // Expiration (Days, Date) of current versions
	ActNoncurrent = 1 // NoncurrentVersionExpiration
	ActMarker     = 2 // Expiration's ExpiredObjectDeleteMarker
)

// LifecycleIndexPrefix is the prefix of one bucket's expiry index.
func LifecycleIndexPrefix(bucketID []byte) []byte {
	k := make([]byte, 0, len(tagLifecycleIndex)+len(bucketID))
	k = append(k, tagLifecycleIndex...)
	return append(k, bucketID...)
}

// LifecycleIndexTime is the first key of a bucket's index entries made at
// or after unixNano.
func LifecycleIndexTime(bucketID []byte, unixNano int64) []byte {
	return binary.BigEndian.AppendUint64(LifecycleIndexPrefix(bucketID), uint64(unixNano))
}

func lifecycleIndexKey(v *cairnpb.ObjectVersion) []byte {
	k := LifecycleIndexTime(v.GetBucketId(), v.GetModifiedUnixNano())
	k = append(k, v.GetKey()...)
	k = append(k, 0)
	return append(k, v.GetVersionId()...)
}

// LifecycleEntry is one entry of the expiry index.
type LifecycleEntry struct {
	DBKey     []byte
	Modified  int64
	Key       string
	VersionID string // the stored version ID (not "null")
}

// SplitLifecycleKey parses an index key of a bucket whose prefix is
// prefixLen bytes long.
func SplitLifecycleKey(dbKey []byte, prefixLen int) (LifecycleEntry, bool) {
	rest := dbKey[prefixLen:]
	if len(rest) < 9 {
		return LifecycleEntry{}, false
	}
	sep := bytes.LastIndexByte(rest[8:], 0)
	if sep < 0 {
		return LifecycleEntry{}, false
	}
	return LifecycleEntry{
		DBKey:     dbKey,
		Modified:  int64(binary.BigEndian.Uint64(rest[:8])),
		Key:       string(rest[8 : 8+sep]),
		VersionID: string(rest[8+sep+1:]),
	}, true
}

// indexForLifecycle adds the version v, just made, to the expiry index.
// Writing an entry that exists (a retried commit, a promotion) changes
// nothing.
func indexForLifecycle(b *pebble.Batch, v *cairnpb.ObjectVersion) error {
	if len(v.GetBucketId()) != BucketIDLen {
		return nil
	}
	if err := b.Set(lifecycleIndexKey(v), nil, nil); err != nil {
		return fmt.Errorf("meta: write expiry index: %w", err)
	}
	return nil
}

// unindexForLifecycle drops the version v, being removed, from the
// expiry index.
func unindexForLifecycle(b *pebble.Batch, v *cairnpb.ObjectVersion) error {
	if len(v.GetBucketId()) != BucketIDLen {
		return nil
	}
	return del(b, lifecycleIndexKey(v))
}

func lifecycleProgressKey(bucketID []byte) []byte {
	return append([]byte(tagLifecycleProgress), bucketID...)
}

// dropLifecycleProgress drops the job's progress on a bucket being
// deleted.
func dropLifecycleProgress(b *pebble.Batch, bucketID []byte) error {
	return del(b, lifecycleProgressKey(bucketID))
}

// ValidLifecycle bounds a configuration before it is proposed and when it
// is applied (the gateway checks the rules' meaning).
func ValidLifecycle(l *cairnpb.BucketLifecycle) error {
	if n := len(l.GetRules()); n > maxLifecycleRules {
		return Invalid("%d lifecycle rules, at most %d allowed", n, maxLifecycleRules)
	}
	if n := len(l.GetXml()); n > maxLifecycleXMLBytes {
		return Invalid("lifecycle configuration of %d bytes, at most %d", n, maxLifecycleXMLBytes)
	}
	for i, r := range l.GetRules() {
		if r.GetExpirationDays() < 0 || r.GetNoncurrentDays() < 0 || r.GetNewerNoncurrentVersions() < 0 || r.GetAbortUploadDays() < 0 ||
			r.GetFilter().GetSizeGreaterThan() < 0 || r.GetFilter().GetSizeLessThan() < 0 || r.GetExpirationDateUnixNano() < 0 {
			return Invalid("lifecycle rule %d: negative value", i)
		}
	}
	return nil
}

// setLifecycle is the lifecycle row's set (bucketconfig.go): it replaces
// the bucket's configuration and stamps it with the entry's index as its
// generation; the row then drops the job's progress, so the next round
// walks the bucket's index from the start.
func setLifecycle(e applyEnv, bk *cairnpb.Bucket, l *cairnpb.BucketLifecycle) error {
	bk.Lifecycle = l
	bk.Lifecycle.Generation = e.index
	return nil
}

// applySetLifecycleProgress records the job's progress on a bucket whose
// configuration is still of the progress's generation.
func applySetLifecycleProgress(b *pebble.Batch, c *cairnpb.SetLifecycleProgressCmd) error {
	p := c.GetProgress()
	if p == nil {
		return Invalid("set lifecycle progress: progress is required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	l := bk.GetLifecycle()
	switch {
	case !bytes.Equal(bk.GetId(), c.GetBucketId()):
		return Invalid("set lifecycle progress: bucket %q was recreated", c.GetBucket())
	case l == nil || l.GetGeneration() != p.GetGeneration():
		return Invalid("set lifecycle progress: bucket %q has another lifecycle configuration", c.GetBucket())
	case len(p.GetCursors()) != LifecycleActions*len(l.GetRules()):
		return Invalid("set lifecycle progress: %d cursors for %d rules", len(p.GetCursors()), len(l.GetRules()))
	}
	return putProto(b, lifecycleProgressKey(bk.GetId()), p)
}

// GetLifecycleProgress returns the job's progress on bucket bk's current
// configuration: a cursor per rule and action, empty when none is
// recorded.
func GetLifecycleProgress(r pebble.Reader, bk *cairnpb.Bucket) (*cairnpb.LifecycleProgress, error) {
	p := &cairnpb.LifecycleProgress{}
	if _, err := GetProto(r, lifecycleProgressKey(bk.GetId()), p); err != nil {
		return nil, err
	}
	want := LifecycleActions * len(bk.GetLifecycle().GetRules())
	if p.GetGeneration() != bk.GetLifecycle().GetGeneration() || len(p.GetCursors()) != want {
		p = &cairnpb.LifecycleProgress{Generation: bk.GetLifecycle().GetGeneration(), Cursors: make([][]byte, want)}
	}
	return p, nil
}

// KeyVersions returns the versions of key, newest first: the current
// version, if any, then the noncurrent ones and delete markers.
func KeyVersions(r pebble.Reader, bucketID []byte, key string) ([]*cairnpb.ObjectVersion, error) {
	cur, err := GetObject(r, bucketID, key, false)
	if err != nil {
		return nil, err
	}
	var out []*cairnpb.ObjectVersion
	if cur != nil {
		out = append(out, cur)
	}
	err = scanNoncurrent(r, bucketID, key, func(_ []byte, v *cairnpb.ObjectVersion) bool {
		v.InlineData = nil
		out = append(out, v)
		return true
	})
	return out, err
}

// applyLifecycleExpire carries out one removal the lifecycle job decided,
// if it still holds, through the paths a client's delete takes; object
// lock refuses a locked version there (removeVersion).
func applyLifecycleExpire(b *pebble.Batch, index uint64, now int64, c *cairnpb.LifecycleExpireCmd) error {
	if c.GetKey() == "" || c.GetVersionId() == "" {
		return Invalid("lifecycle expire: key and version id are required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	versions, err := KeyVersions(b, bk.GetId(), c.GetKey())
	if err != nil || len(versions) == 0 {
		return err
	}
	newest := versions[0]
	switch c.GetAction() {
	case cairnpb.LifecycleExpireCmd_EXPIRE_CURRENT:
		if newest.GetDeleteMarker() || newest.GetVersionId() != c.GetVersionId() {
			return nil
		}
		if bk.GetVersioning() != "" {
			return deleteSimple(b, index, now, bk, c.GetKey(), "")
		}
		return applyDeleteObject(b, now, bk, &cairnpb.DeleteObjectCmd{Key: c.GetKey()})
	case cairnpb.LifecycleExpireCmd_REMOVE_NONCURRENT:
		for _, v := range versions[1:] {
			if v.GetVersionId() == c.GetVersionId() {
				return deleteVersion(b, now, bk, c.GetKey(), S3VersionID(v), false)
			}
		}
		return nil
	case cairnpb.LifecycleExpireCmd_REMOVE_MARKER:
		if len(versions) != 1 || !newest.GetDeleteMarker() || newest.GetVersionId() != c.GetVersionId() {
			return nil
		}
		return deleteVersion(b, now, bk, c.GetKey(), S3VersionID(newest), false)
	}
	return Invalid("lifecycle expire: unknown action %v", c.GetAction())
}

// CurrentVersionKey is the key of key's current version in bucketID's
// object table, which the lifecycle job seeks to.
func CurrentVersionKey(bucketID []byte, key string) []byte { return objectKey(bucketID, key) }

// UploadsPrefix is the prefix of bucketID's multipart uploads, which the
// lifecycle job reads.
func UploadsPrefix(bucketID []byte) []byte { return uploadPrefix(bucketID) }
