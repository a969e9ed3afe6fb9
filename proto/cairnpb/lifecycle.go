package cairnpb

import (
	"strings"
	"time"
)

// Lifecycle rules are applied in two places, the meta leader's lifecycle
// job (which removes) and the gateway (which announces the date in
// x-amz-expiration); these helpers are the one statement of the date
// rule and of what a filter selects, so the two agree.

// LifecycleExpiry is when a version made at modified expires (or, with
// NoncurrentDays, a version that became noncurrent then does) after days
// whole days of length day: the first midnight, a multiple of day since
// the Unix epoch (midnight UTC for 24h), after modified + days.
func LifecycleExpiry(modified int64, days int32, day time.Duration) time.Time {
	return time.Unix(0, (modified/int64(day)+int64(days)+1)*int64(day)).UTC()
}

// LifecycleCutoff is the other side of LifecycleExpiry: a version made
// before the cutoff (exclusive) is due at now.
func LifecycleCutoff(now int64, days int32, day time.Duration) int64 {
	return (now/int64(day) - int64(days)) * int64(day)
}

// Matches reports whether version v passes the filter: its key has the
// prefix, it carries every tag, and its size is within the bounds.
func (f *LifecycleFilter) Matches(v *ObjectVersion) bool {
	if !strings.HasPrefix(v.GetKey(), f.GetPrefix()) {
		return false
	}
	for k, want := range f.GetTags() {
		if got, ok := v.GetTags()[k]; !ok || got != want {
			return false
		}
	}
	if gt := f.GetSizeGreaterThan(); gt > 0 && v.GetSize() <= gt {
		return false
	}
	if lt := f.GetSizeLessThan(); lt > 0 && v.GetSize() >= lt {
		return false
	}
	return true
}
