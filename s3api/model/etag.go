package model

import "strings"

// NormalizeETag is an ETag as a request sent it, in the form records keep
// it: without the surrounding space and quotes, lowercased. "*" stays "*".
func NormalizeETag(e string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(e), `"`))
}

// ETagMatches reports whether the value of a read's If-Match or
// If-None-Match header names etag (a record's ETag): "*", or a
// comma-separated list of ETags, each quoted or not. Both front ends
// judge their GET and HEAD conditions with it.
func ETagMatches(list, etag string) bool {
	want := NormalizeETag(etag)
	for _, t := range strings.Split(list, ",") {
		if t = NormalizeETag(t); t == "*" || (t != "" && t == want) {
			return true
		}
	}
	return false
}
