package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// wireTarget returns the path and raw query exactly as the client sent them.
// Server-side requests keep the request-target in RequestURI; requests built
// in-process (tests, proxies) fall back to r.URL. The signature covers the
// bytes the client put on the wire, so RequestURI wins over an r.URL that a
// router may have rewritten.
func wireTarget(r *http.Request) (path, rawQuery string) {
	if u := r.RequestURI; u != "" && u != "*" {
		path, rawQuery, _ = strings.Cut(u, "?")
		if !strings.HasPrefix(path, "/") {
			// absolute-form: scheme://authority/path
			if _, rest, ok := strings.Cut(path, "://"); ok {
				if i := strings.IndexByte(rest, '/'); i >= 0 {
					path = rest[i:]
				} else {
					path = "/"
				}
			}
		}
	} else {
		rawQuery = r.URL.RawQuery
		if op := r.URL.Opaque; op != "" {
			// Opaque "//host/path" or "/path" as set by some clients.
			path = op
			if strings.HasPrefix(path, "//") {
				if i := strings.IndexByte(path[2:], '/'); i >= 0 {
					path = path[2+i:]
				} else {
					path = "/"
				}
			}
		} else {
			path = r.URL.EscapedPath()
		}
	}
	if path == "" {
		path = "/"
	}
	return path, rawQuery
}

// alternateURI returns the AWS URI-encoding of the decoded path when it
// differs from the wire path, else "". S3 signs the path as sent (no double
// encoding, no normalisation); this second candidate accepts clients that
// sign the canonical encoding but whose HTTP stack escapes differently on
// the wire (e.g. "+" or "=" left raw, or "%7E" for "~"). Both candidates
// decode to the same object key, so accepting either grants nothing extra.
func alternateURI(wirePath string) string {
	dec, err := url.PathUnescape(wirePath)
	if err != nil {
		return ""
	}
	alt := uriEncode(dec, true)
	if alt == wirePath {
		return ""
	}
	return alt
}

// uriEncode applies the SigV4 URI encoding: unreserved characters
// (A-Z a-z 0-9 - _ . ~) are kept, '/' is kept when keepSlash, every other
// byte becomes %XX with upper-case hex.
func uriEncode(s string, keepSlash bool) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// queryParam is one decoded query parameter in wire order.
type queryParam struct {
	key, value string
}

// parseQuery splits a raw query into decoded parameters, in order. '+'
// decodes to a space, as in form encoding and in the Go SDK's signer. A
// component with an invalid escape is kept verbatim (its '%' then encodes
// as %25, so such a request only verifies if the client did the same).
// Empty components ("a&&b") are skipped; "k" without '=' has value "".
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescapeQuery(k), unescapeQuery(v)})
	}
	return params
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// canonicalQuery builds the SigV4 canonical query string: every parameter
// except those named skip, URI-encoded (spaces as %20), sorted by encoded
// name and then encoded value, joined as k=v with '&'.
func canonicalQuery(params []queryParam, skip string) string {
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skip != "" && p.key == skip {
			continue
		}
		enc = append(enc, queryParam{uriEncode(p.key, false), uriEncode(p.value, false)})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalHeaders returns the canonical header block for the signed header
// names (lower-case, in the order given): "name:value\n" per header, values
// trimmed, runs of spaces collapsed, repeated headers joined with ','.
// host comes from r.Host; content-length and transfer-encoding fall back to
// the fields net/http moves them into.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		var vals []string
		switch name {
		case "host":
			h := r.Host
			if h == "" {
				h = r.URL.Host
			}
			vals = []string{h}
		default:
			vals = r.Header.Values(name)
			if len(vals) == 0 {
				switch name {
				case "content-length":
					if r.ContentLength > 0 {
						vals = []string{strconv.FormatInt(r.ContentLength, 10)}
					}
				case "transfer-encoding":
					if len(r.TransferEncoding) > 0 {
						vals = []string{strings.Join(r.TransferEncoding, ",")}
					}
				}
			}
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			writeHeaderValue(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// writeHeaderValue writes v trimmed of surrounding whitespace with every run
// of spaces collapsed to one.
func writeHeaderValue(b *strings.Builder, v string) {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
}

// canonicalRequest assembles the SigV4 canonical request.
func canonicalRequest(method, uri, query, headers, signedHeaders, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + signedHeaders + "\n" + payloadHash
}

// stringToSign assembles the SigV4 string to sign for a request.
func stringToSign(timestamp, scope, canonicalReq string) string {
	return algorithmHMAC + "\n" + timestamp + "\n" + scope + "\n" + sha256Hex(canonicalReq)
}
