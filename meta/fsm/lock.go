package fsm

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Object lock (WORM). The rules live here and only here:
//
//   - A version is locked at time t when it has a legal hold, or a
//     retention whose date is after t. removeVersion, the one function
//     every apply that removes a version calls before it writes, refuses
//     a version locked at the command's time (GOVERNANCE yields to a
//     command that carries bypass_governance; COMPLIANCE and legal holds
//     to nothing). So S3 deletes, bucket deletion, admin commands and any
//     later path (lifecycle) inherit the rule by construction.
//   - Only a bucket with object lock holds locked versions: a write or
//     SetVersionLock that would lock a version elsewhere is refused. Such a
//     bucket never loses object lock and its versioning stays Enabled, so
//     overwrites and simple deletes keep the old version as noncurrent.
//   - A retention in force may be extended, never shortened, removed, or
//     (COMPLIANCE) turned into GOVERNANCE; a GOVERNANCE one may be with
//     bypass_governance.
//
// Time is the command's (Command.unix_nano), never the applying node's.

// Object lock modes, as S3 spells them.
const (
	lockGovernance = "GOVERNANCE"
	lockCompliance = "COMPLIANCE"
)

func validLockMode(mode string) bool { return mode == lockGovernance || mode == lockCompliance }

// retentionInForce reports whether l holds a retention that has not
// expired at now.
func retentionInForce(l *cairnpb.ObjectLock, now int64) bool {
	return l.GetMode() != "" && l.GetRetainUntilUnixNano() > now
}

// checkRemovable refuses (ErrObjectLocked) when v may not be removed at
// now.
func checkRemovable(v *cairnpb.ObjectVersion, now int64, bypassGovernance bool) error {
	l := v.GetLock()
	switch {
	case l.GetLegalHold():
		return fmt.Errorf("meta: version %q of %q is under a legal hold: %w", S3VersionID(v), v.GetKey(), rpcerr.ErrObjectLocked)
	case !retentionInForce(l, now):
		return nil
	case l.GetMode() == lockGovernance && bypassGovernance:
		return nil
	}
	return fmt.Errorf("meta: version %q of %q is under %s retention until %s: %w", S3VersionID(v), v.GetKey(),
		l.GetMode(), time.Unix(0, l.GetRetainUntilUnixNano()).UTC().Format(time.RFC3339), rpcerr.ErrObjectLocked)
}

// removeVersion is the one gate every removal of a version passes: it
// refuses a version locked at now (checkRemovable), else puts the shards
// of old that replacement (nil for a delete) does not reference on the GC
// queue. A retried commit of the current version references all of them,
// so it frees nothing. Callers call it before they write anything else.
func removeVersion(b *pebble.Batch, now int64, old, replacement *cairnpb.ObjectVersion, bypassGovernance bool) error {
	if replacement == nil || replacement.GetVersionId() != old.GetVersionId() {
		if err := checkRemovable(old, now, bypassGovernance); err != nil {
			return err
		}
	}
	if err := unindexForLifecycle(b, old); err != nil {
		return err
	}
	return enqueueRefs(b, now, versionRefs(old), versionRefs(replacement))
}

// settleLock checks the object lock a new version v of bucket bk asks
// for, and gives it the bucket's default retention when it asks for
// none. It writes nothing.
func settleLock(bk *cairnpb.Bucket, v *cairnpb.ObjectVersion, now int64) error {
	l := v.GetLock()
	if err := checkLockAllowed(bk, l); err != nil {
		return err
	}
	if l.GetMode() == "" && bk.GetDefaultRetention() != nil {
		d := bk.GetDefaultRetention()
		if v.Lock == nil {
			v.Lock = &cairnpb.ObjectLock{}
		}
		v.Lock.Mode = d.GetMode()
		v.Lock.RetainUntilUnixNano = defaultRetainUntil(d, now)
	}
	return nil
}

// checkLockAllowed refuses lock l (nil: none) for a new version or upload
// of bucket bk when bk has no object lock, or l is malformed.
func checkLockAllowed(bk *cairnpb.Bucket, l *cairnpb.ObjectLock) error {
	if l.GetMode() == "" && !l.GetLegalHold() && !l.GetLegalHoldSet() && l.GetRetainUntilUnixNano() == 0 {
		return nil
	}
	if !bk.GetObjectLockEnabled() {
		return fmt.Errorf("meta: bucket %q: %w", bk.GetName(), rpcerr.ErrNoObjectLock)
	}
	return ValidRetention(l.GetMode(), l.GetRetainUntilUnixNano())
}

// ValidRetention checks a mode and date pair: both or neither.
func ValidRetention(mode string, until int64) error {
	switch {
	case mode == "" && until == 0:
		return nil
	case !validLockMode(mode):
		return Invalid("object lock mode %q is neither %s nor %s", mode, lockGovernance, lockCompliance)
	case until <= 0:
		return Invalid("a retention needs a retain-until date")
	}
	return nil
}

// defaultRetainUntil is the date a version written at now keeps under
// default retention d.
func defaultRetainUntil(d *cairnpb.DefaultRetention, now int64) int64 {
	t := time.Unix(0, now).UTC()
	if d.GetYears() > 0 {
		return t.AddDate(int(d.GetYears()), 0, 0).UnixNano()
	}
	return t.AddDate(0, 0, int(d.GetDays())).UnixNano()
}

// ValidDefaultRetention checks a default retention: a mode and exactly
// one positive period.
func ValidDefaultRetention(d *cairnpb.DefaultRetention) error {
	if d == nil {
		return nil
	}
	if !validLockMode(d.GetMode()) {
		return Invalid("default retention mode %q is neither %s nor %s", d.GetMode(), lockGovernance, lockCompliance)
	}
	if (d.GetDays() > 0) == (d.GetYears() > 0) || d.GetDays() < 0 || d.GetYears() < 0 {
		return Invalid("default retention needs either days or years, positive")
	}
	return nil
}

// checkRetentionChange refuses replacing retention old with new at now
// when that weakens a retention in force (see the rules above).
func checkRetentionChange(v *cairnpb.ObjectVersion, next *cairnpb.Retention, now int64, bypassGovernance bool) error {
	old := v.GetLock()
	if !retentionInForce(old, now) {
		return nil
	}
	extends := next.GetMode() != "" && next.GetRetainUntilUnixNano() >= old.GetRetainUntilUnixNano()
	switch old.GetMode() {
	case lockCompliance:
		if extends && next.GetMode() == lockCompliance {
			return nil
		}
	case lockGovernance:
		if bypassGovernance || (extends && next.GetMode() == lockGovernance) {
			return nil
		}
	}
	return fmt.Errorf("meta: version %q of %q: its %s retention until %s cannot be shortened or removed: %w",
		S3VersionID(v), v.GetKey(), old.GetMode(),
		time.Unix(0, old.GetRetainUntilUnixNano()).UTC().Format(time.RFC3339), rpcerr.ErrObjectLocked)
}

func validObjectLock(c *cairnpb.ObjectLockConfig) error {
	return ValidDefaultRetention(c.GetDefaultRetention())
}

// setObjectLock is the object_lock row's set (bucketconfig.go): it gives
// the bucket object lock, which needs versioning Enabled, and replaces its
// default retention.
func setObjectLock(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.ObjectLockConfig) error {
	if bk.GetVersioning() != VersioningEnabled {
		return fmt.Errorf("versioning must be Enabled to give it object lock: %w", rpcerr.ErrInvalidBucketState)
	}
	bk.ObjectLockEnabled = true
	bk.DefaultRetention = c.GetDefaultRetention()
	return nil
}

func applySetVersionLock(b *pebble.Batch, now int64, c *cairnpb.SetVersionLockCmd) error {
	if c.GetRetention() == nil && c.LegalHold == nil {
		return Invalid("set version lock: neither a retention nor a legal hold")
	}
	if r := c.GetRetention(); r != nil {
		if err := ValidRetention(r.GetMode(), r.GetRetainUntilUnixNano()); err != nil {
			return err
		}
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if !bk.GetObjectLockEnabled() {
		return fmt.Errorf("meta: bucket %q: %w", c.GetBucket(), rpcerr.ErrNoObjectLock)
	}
	dbKey, v, err := FindVersion(b, bk.GetId(), c.GetKey(), c.GetVersionId())
	if err != nil {
		return err
	}
	if v.GetDeleteMarker() {
		return fmt.Errorf("meta: version %q of %q is a delete marker: %w", c.GetVersionId(), c.GetKey(), rpcerr.ErrInvalidArgument)
	}
	if r := c.GetRetention(); r != nil {
		if err := checkRetentionChange(v, r, now, c.GetBypassGovernance()); err != nil {
			return err
		}
	}
	if v.Lock == nil {
		v.Lock = &cairnpb.ObjectLock{}
	}
	if r := c.GetRetention(); r != nil {
		v.Lock.Mode, v.Lock.RetainUntilUnixNano = r.GetMode(), r.GetRetainUntilUnixNano()
	}
	if c.LegalHold != nil {
		v.Lock.LegalHold, v.Lock.LegalHoldSet = c.GetLegalHold(), true
	}
	// A current record comes without its inline bytes (they live apart
	// and stay); a noncurrent one with them, and keeps them.
	return putProto(b, dbKey, v)
}

// Meta RPCs.
