package fsm

import (
	"unicode/utf8"

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

// setCors is the cors row's set (bucketconfig.go): no rules removes the
// configuration.
func setCors(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.BucketCors) error {
	bk.Cors = nil
	if len(c.GetRules()) > 0 {
		bk.Cors = c
	}
	return nil
}
