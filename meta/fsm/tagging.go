package fsm

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Tag limits, as S3 sets them. Lengths count UTF-16 code units, the way S3
// stores tags. The gateway checks the finer S3 rules (characters, reserved
// prefixes) and answers with S3's codes; meta only keeps records sane.
const (
	MaxObjectTags  = 10
	MaxBucketTags  = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	// maxConditionETag bounds the ETag a conditional write may name: hex
	// MD5, "-" and a part count fit with room to spare.
	maxConditionETag = 64
)

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(1, utf16.RuneLen(r))
	}
	return n
}

// ValidTags checks a tag set against the S3 limits.
func ValidTags(tags map[string]string, limit int) error {
	if len(tags) > limit {
		return Invalid("%d tags, at most %d allowed", len(tags), limit)
	}
	for k, v := range tags {
		switch {
		case k == "" || utf16Len(k) > maxTagKeyLen || !utf8.ValidString(k):
			return Invalid("tag key %q: 1 to %d characters of valid UTF-8 required", k, maxTagKeyLen)
		case utf16Len(v) > maxTagValueLen || !utf8.ValidString(v):
			return Invalid("value of tag %q: at most %d characters of valid UTF-8", k, maxTagValueLen)
		}
	}
	return nil
}

// ValidCondition checks a write condition before it is proposed.
func ValidCondition(c *cairnpb.WriteCondition) error {
	for _, e := range []string{c.GetIfMatchEtag(), c.GetIfNoneMatchEtag()} {
		if len(e) > maxConditionETag || !utf8.ValidString(e) {
			return Invalid("condition etag is longer than %d bytes or not UTF-8", maxConditionETag)
		}
	}
	return nil
}

// checkCondition decides a conditional write against old, the key's
// current version (nil when there is none), inside the apply that commits
// the write. versionID is the version being written: when it is already
// current, this is a retry of a commit that went through and it passes.
func checkCondition(c *cairnpb.WriteCondition, old *cairnpb.ObjectVersion, versionID string) error {
	if old != nil && versionID != "" && old.GetVersionId() == versionID {
		return nil
	}
	switch c.Against(old) {
	case cairnpb.ConditionFails:
		return fmt.Errorf("meta: %q (etag %q) fails the write's condition %v: %w", old.GetKey(), old.GetEtag(), c, rpcerr.ErrPreconditionFailed)
	case cairnpb.ConditionNoObject:
		return fmt.Errorf("meta: the write's condition %v needs a current version, and the key has none: %w", c, rpcerr.ErrObjectNotFound)
	}
	return nil
}

func applySetObjectTags(b *pebble.Batch, c *cairnpb.SetObjectTagsCmd) error {
	if c.GetKey() == "" {
		return Invalid("set object tags: key is required")
	}
	if err := ValidTags(c.GetTags(), MaxObjectTags); err != nil {
		return err
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	v, err := GetObject(b, bk.GetId(), c.GetKey(), false)
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("meta: %q in bucket %q: %w", c.GetKey(), c.GetBucket(), rpcerr.ErrObjectNotFound)
	}
	// Only the record changes: inline bytes live under their own key.
	v.Tags = c.GetTags()
	return putProto(b, objectKey(bk.GetId(), c.GetKey()), v)
}

func validBucketTags(c *cairnpb.BucketTagsConfig) error { return ValidTags(c.GetTags(), MaxBucketTags) }

// setBucketTags is the tags row's set (bucketconfig.go): empty tags
// remove the tag set.
func setBucketTags(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.BucketTagsConfig) error {
	bk.Tags = nil
	if len(c.GetTags()) > 0 {
		bk.Tags = c.GetTags()
	}
	return nil
}
