package fsm

import (
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Bounds of a CORS configuration meta keeps (S3 allows 100 rules; the
// gateway checks the rules' content, meta only their size).
const (
	maxCorsRules     = 100
	maxCorsRuleBytes = 64 << 10
)

// ValidCors bounds a CORS configuration before it is proposed and when it
// is applied.
func ValidCors(c *cairnpb.BucketCors) error {
	if n := len(c.GetRules()); n > maxCorsRules {
		return Invalid("%d CORS rules, at most %d allowed", n, maxCorsRules)
	}
	for i, r := range c.GetRules() {
		size := len(r.GetId())
		for _, list := range [][]string{r.GetAllowedOrigins(), r.GetAllowedMethods(), r.GetAllowedHeaders(), r.GetExposeHeaders()} {
			for _, v := range list {
				if !utf8.ValidString(v) {
					return Invalid("CORS rule %d: not UTF-8", i)
				}
				size += len(v)
			}
		}
		if size > maxCorsRuleBytes {
			return Invalid("CORS rule %d: %d bytes, at most %d", i, size, maxCorsRuleBytes)
		}
	}
	return nil
}

func applySetBucketCors(b *pebble.Batch, c *cairnpb.SetBucketCorsCmd) error {
	if err := ValidCors(c.GetCors()); err != nil {
		return err
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetName())
	if err != nil {
		return err
	}
	bk.Cors = nil
	if len(c.GetCors().GetRules()) > 0 {
		bk.Cors = c.GetCors()
	}
	return putProto(b, bucketKey(c.GetNamespace(), c.GetName()), bk)
}
