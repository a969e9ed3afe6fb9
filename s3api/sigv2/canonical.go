package sigv2

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// isSignedSubresource reports whether a query parameter belongs to the
// canonicalized resource: S3's sub-resources and response overrides, as
// botocore (the main SigV2 client still in use) signs them. Any other
// query parameter is not signed.
func isSignedSubresource(name string) bool {
	switch name {
	case "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete",
		"inventory", "lifecycle", "location", "logging", "metrics", "notification",
		"object-lock", "partNumber", "policy", "replication", "requestPayment",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language",
		"response-content-type", "response-expires", "restore", "select",
		"select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
		"versionId", "versioning", "versions", "website":
		return true
	}
	return false
}

// wireTarget returns the path and raw query exactly as the client sent
// them: from RequestURI on server requests, else from r.URL.
func wireTarget(r *http.Request) (path, rawQuery string) {
	if u := r.RequestURI; u != "" && u != "*" {
		path, rawQuery, _ = strings.Cut(u, "?")
		if !strings.HasPrefix(path, "/") {
			// absolute-form: scheme://authority/path
			if _, rest, ok := strings.Cut(path, "://"); ok {
				path = "/"
				if i := strings.IndexByte(rest, '/'); i >= 0 {
					path = rest[i:]
				}
			}
		}
	} else {
		path, rawQuery = r.URL.EscapedPath(), r.URL.RawQuery
	}
	if path == "" {
		path = "/"
	}
	return path, rawQuery
}

// param is one query parameter in wire order.
type param struct {
	name      string // decoded name
	hasValue  bool   // "name=value" rather than "name"
	value     string // percent-decoded, '+' kept (sub-resource values)
	formValue string // form-decoded, '+' is a space (authentication values)
}

func parseQuery(raw string) []param {
	var out []param
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, eq := strings.Cut(part, "=")
		out = append(out, param{name: pathUnescape(k), hasValue: eq, value: pathUnescape(v), formValue: queryUnescape(v)})
	}
	return out
}

func pathUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func queryUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func findParam(params []param, name string) *param {
	for i := range params {
		if params[i].name == name {
			return &params[i]
		}
	}
	return nil
}

// canonicalAmzHeaders lists every x-amz-* header (and, for presigned URLs,
// every x-amz-* query parameter whose header is absent) as
// "name:value\n", names lower-cased and sorted, repeated values trimmed
// and joined with ','.
func canonicalAmzHeaders(h http.Header, fromQuery map[string]string) string {
	vals := map[string]string{}
	for name, vs := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-") {
			continue
		}
		trimmed := make([]string, len(vs))
		for i, v := range vs {
			trimmed[i] = strings.TrimSpace(v)
		}
		if prev, ok := vals[lower]; ok {
			vals[lower] = prev + "," + strings.Join(trimmed, ",")
		} else {
			vals[lower] = strings.Join(trimmed, ",")
		}
	}
	for name, v := range fromQuery {
		if _, ok := vals[name]; !ok && strings.HasPrefix(name, "x-amz-") {
			vals[name] = v
		}
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(vals[n])
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalSubresources returns "?a&b=v..." for the signed sub-resources
// among params, sorted by name (stable for repeats), values decoded, or ""
// when there are none.
func canonicalSubresources(params []param) string {
	var sub []param
	for _, p := range params {
		if isSignedSubresource(p.name) {
			sub = append(sub, p)
		}
	}
	if len(sub) == 0 {
		return ""
	}
	sort.SliceStable(sub, func(i, j int) bool { return sub[i].name < sub[j].name })
	var b strings.Builder
	for i, p := range sub {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		if p.hasValue {
			b.WriteByte('=')
			b.WriteString(p.value)
		}
	}
	return b.String()
}

// candidatePaths returns the path as sent and, when it differs, the S3
// URI-encoding of its decoded form: some clients sign the canonical
// encoding while their HTTP stack escapes differently on the wire. Both
// name the same object, so accepting either grants nothing extra.
func candidatePaths(wire string) []string {
	dec, err := url.PathUnescape(wire)
	if err != nil {
		return []string{wire}
	}
	if alt := uriEncodePath(dec); alt != wire {
		return []string{wire, alt}
	}
	return []string{wire}
}

// uriEncodePath keeps unreserved characters and '/', and percent-encodes
// every other byte with upper-case hex.
func uriEncodePath(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}
