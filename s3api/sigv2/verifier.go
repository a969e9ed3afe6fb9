package sigv2

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// defaultMaxSkew is S3's tolerance for clock skew.
const defaultMaxSkew = 15 * time.Minute

// SecretLookup returns the secret key for an access key, or an error
// wrapping ErrInvalidAccessKeyID if there is none. Other errors (a store
// outage) are returned by Verify unchanged in the chain.
type SecretLookup func(ctx context.Context, accessKey string) (secret string, err error)

// Verifier authenticates Signature Version 2 requests. Its fields are
// configuration, read-only once Verify is in use; zero values mean
// time.Now and 15 minutes. A Verifier holds no other state and is safe for
// concurrent use.
type Verifier struct {
	// Now returns the current time.
	Now func() time.Time
	// MaxSkew is the tolerated difference between a header-signed request's
	// Date (or x-amz-date) and Now.
	MaxSkew time.Duration
}

// Identity is the authenticated principal of a request.
type Identity struct {
	// AccessKey is the access key id that signed the request.
	AccessKey string
	// Presigned reports query-string (presigned URL) authentication.
	Presigned bool
	// SignedAt is the Date or x-amz-date of a header-signed request.
	SignedAt time.Time
	// Expires is when a presigned URL stops being valid.
	Expires time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return v.MaxSkew
}

// Applies reports whether r asks for Signature Version 2: an Authorization
// header starting with "AWS " or an AWSAccessKeyId query parameter.
func Applies(r *http.Request) bool {
	for _, h := range r.Header.Values("Authorization") {
		if strings.HasPrefix(strings.TrimSpace(h), "AWS ") {
			return true
		}
	}
	_, rawQuery := wireTarget(r)
	return findParam(parseQuery(rawQuery), "AWSAccessKeyId") != nil
}

// Verify authenticates r, signed with an "Authorization: AWS
// <access-key>:<signature>" header or as a presigned URL (AWSAccessKeyId,
// Expires, Signature). hostBucket is the bucket named by the Host header of
// a virtual-hosted-style request, "" for path-style: SigV2 signs the
// path-style resource "/<bucket>/<key>" either way.
//
// For presigned URLs, x-amz-*, Content-Type and Content-MD5 may travel as
// query parameters, as botocore writes them; they are signed as if they
// were headers and, once the signature is verified, set on r.Header where
// the request does not carry them, so the request means what was signed.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, hostBucket string, lookup SecretLookup) (*Identity, error) {
	path, rawQuery := wireTarget(r)
	params := parseQuery(rawQuery)
	var authz []string
	for _, h := range r.Header.Values("Authorization") {
		if strings.TrimSpace(h) != "" {
			authz = append(authz, h)
		}
	}
	queryV2 := findParam(params, "AWSAccessKeyId") != nil
	queryV4 := findParam(params, "X-Amz-Algorithm") != nil
	if (len(authz) > 0 && (queryV2 || queryV4)) || (queryV2 && queryV4) {
		return nil, fmt.Errorf("%w: Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified", ErrMultipleAuthMechanisms)
	}

	var (
		id        = &Identity{}
		signature string
		dates     []string // candidate Date lines of the string to sign
		fromQuery map[string]string
		err       error
	)
	switch {
	case len(authz) > 0:
		id.AccessKey, signature, err = parseAuthorization(authz)
		if err != nil {
			return nil, err
		}
		dates, id.SignedAt, err = headerDate(r.Header)
		if err != nil {
			return nil, err
		}
		if d := v.now().Sub(id.SignedAt); d > v.maxSkew() || -d > v.maxSkew() {
			return nil, fmt.Errorf("%w: request time %s, server time %s", ErrRequestTimeTooSkewed,
				id.SignedAt.UTC().Format(time.RFC3339), v.now().UTC().Format(time.RFC3339))
		}
	case queryV2:
		id.Presigned = true
		var expires string
		id.AccessKey, signature, expires, fromQuery, err = parsePresign(params)
		if err != nil {
			return nil, err
		}
		secs, perr := strconv.ParseInt(expires, 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("%w: %s", ErrInvalidExpires, expires)
		}
		id.Expires = time.Unix(secs, 0).UTC()
		if v.now().After(id.Expires) {
			return nil, fmt.Errorf("%w: expired at %s", ErrRequestExpired, id.Expires.Format(time.RFC3339))
		}
		dates = []string{expires}
	default:
		return nil, fmt.Errorf("%w: the request carries no signature version 2 authentication", ErrInvalidArgument)
	}

	secret, err := lookup(ctx, id.AccessKey)
	if err != nil {
		return nil, fmt.Errorf("sigv2: looking up access key %q: %w", id.AccessKey, err)
	}
	if secret == "" {
		return nil, fmt.Errorf("%w: %q has no secret", ErrInvalidAccessKeyID, id.AccessKey)
	}
	// Base64 has no spaces: a space is a '+' that was not percent-encoded.
	want, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(signature, " ", "+"))
	if err != nil {
		return nil, fmt.Errorf("%w: the signature is not base64", ErrSignatureDoesNotMatch)
	}

	mac := hmac.New(sha1.New, []byte(secret))
	md5 := valueOf(r.Header, fromQuery, "content-md5")
	ctype := valueOf(r.Header, fromQuery, "content-type")
	amz := canonicalAmzHeaders(r.Header, fromQuery)
	sub := canonicalSubresources(params)
	prefix := ""
	if hostBucket != "" {
		prefix = "/" + hostBucket
	}
	paths := candidatePaths(path)
	if hostBucket == "" && len(path) > 1 && !strings.Contains(path[1:], "/") {
		// A path-style bucket request: botocore signs "/bucket/" for the
		// "/bucket" it sends; both name the bucket.
		paths = append(paths, candidatePaths(path+"/")...)
	}
	ok := false
	for _, p := range paths {
		for _, d := range dates {
			sts := StringToSign(r.Method, md5, ctype, d, amz, prefix+p+sub)
			mac.Reset()
			mac.Write([]byte(sts))
			if hmac.Equal(mac.Sum(nil), want) {
				ok = true
			}
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: The request signature we calculated does not match the signature you provided. Check your key and signing method.", ErrSignatureDoesNotMatch)
	}
	for name, val := range fromQuery {
		if len(r.Header.Values(name)) == 0 {
			r.Header.Set(name, val)
		}
	}
	return id, nil
}

// parseAuthorization splits "AWS <access-key>:<signature>".
func parseAuthorization(authz []string) (access, signature string, err error) {
	if len(authz) > 1 {
		return "", "", fmt.Errorf("%w: multiple Authorization headers", ErrInvalidArgument)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(authz[0]), "AWS ")
	if !ok {
		return "", "", fmt.Errorf("%w: not a signature version 2 Authorization header", ErrInvalidArgument)
	}
	access, signature, ok = strings.Cut(strings.TrimSpace(rest), ":")
	if !ok || access == "" || signature == "" || strings.ContainsAny(access, " \t") {
		return "", "", fmt.Errorf("%w: expected AwsAccessKeyId:signature", ErrInvalidArgument)
	}
	return access, signature, nil
}

// headerDate returns the candidate Date lines and the signing time of a
// header-signed request. With x-amz-date, the spec's Date line is empty;
// clients that kept a Date header and signed its value are accepted too
// (both candidates sign x-amz-date among the x-amz-* headers).
func headerDate(h http.Header) (dates []string, at time.Time, err error) {
	date := strings.TrimSpace(h.Get("Date"))
	if amz := strings.TrimSpace(h.Get("X-Amz-Date")); amz != "" {
		at, err = parseTime(amz)
		if err != nil {
			return nil, at, fmt.Errorf("%w: unparsable x-amz-date %q", ErrMissingDate, amz)
		}
		dates = []string{""}
		if date != "" {
			dates = append(dates, date)
		}
		return dates, at, nil
	}
	if date == "" {
		return nil, at, ErrMissingDate
	}
	at, err = parseTime(date)
	if err != nil {
		return nil, at, fmt.Errorf("%w: unparsable Date %q", ErrMissingDate, date)
	}
	return []string{date}, at, nil
}

// parseTime accepts the HTTP date formats and ISO 8601 basic format.
func parseTime(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t, nil
	}
	return time.Parse("20060102T150405Z", s)
}

// parsePresign extracts the presigned-URL parameters and the header values
// carried in the query string.
func parsePresign(params []param) (access, signature, expires string, headers map[string]string, err error) {
	seen := map[string]bool{}
	headers = map[string]string{}
	for _, p := range params {
		lower := strings.ToLower(p.name)
		switch {
		case p.name == "AWSAccessKeyId" || p.name == "Signature" || p.name == "Expires":
			if seen[p.name] {
				return "", "", "", nil, fmt.Errorf("%w: %s is repeated", ErrMissingQueryParameters, p.name)
			}
			seen[p.name] = true
			switch p.name {
			case "AWSAccessKeyId":
				access = p.formValue
			case "Signature":
				signature = p.formValue
			default:
				expires = p.formValue
			}
		case strings.HasPrefix(lower, "x-amz-") || lower == "content-type" || lower == "content-md5":
			if _, dup := headers[lower]; dup {
				headers[lower] += "," + strings.TrimSpace(p.formValue)
			} else {
				headers[lower] = strings.TrimSpace(p.formValue)
			}
		}
	}
	if access == "" || signature == "" || expires == "" {
		return "", "", "", nil, ErrMissingQueryParameters
	}
	return access, signature, expires, headers, nil
}

// valueOf returns a header's trimmed value, or the query-string value of a
// presigned URL when the header is absent.
func valueOf(h http.Header, fromQuery map[string]string, lower string) string {
	if vals := h.Values(lower); len(vals) > 0 {
		return strings.TrimSpace(vals[0])
	}
	return fromQuery[lower]
}

// StringToSign assembles the SigV2 string to sign from its parts:
// canonicalAmzHeaders ends with "\n" when not empty, and resource is the
// canonicalized resource including its sub-resources.
func StringToSign(method, contentMD5, contentType, date, canonicalAmzHeaders, resource string) string {
	return method + "\n" + contentMD5 + "\n" + contentType + "\n" + date + "\n" + canonicalAmzHeaders + resource
}

// Sign returns base64(HMAC-SHA1(secret, stringToSign)), the signature of a
// SigV2 request.
func Sign(secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
