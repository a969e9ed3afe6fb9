package sigv4

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// amzDateFormat is the ISO 8601 basic format of X-Amz-Date.
	amzDateFormat = "20060102T150405Z"
	// scopeDateFormat is the date of a credential scope.
	scopeDateFormat = "20060102"
	// defaultRegion is the region assumed for an empty Verifier.Region.
	defaultRegion = "us-east-1"
	// defaultMaxSkew is S3's tolerance for clock skew.
	defaultMaxSkew = 15 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires S3 accepts (7 days).
	maxPresignExpires = 7 * 24 * 60 * 60
)

// SecretLookup returns the secret key for an access key, or an error
// wrapping ErrUnknownAccessKey if there is none. Other errors (a store
// outage) are returned by Verify unchanged in the chain.
type SecretLookup func(ctx context.Context, accessKey string) (secret string, err error)

// Verifier authenticates AWS Signature Version 4 requests for one region
// and service. Its exported fields are configuration, read-only once Verify
// is in use; the zero values mean Region "us-east-1", Service "s3",
// Now time.Now and MaxSkew 15 minutes. A Verifier caches derived signing
// keys, is safe for concurrent use, and must not be copied after first use.
type Verifier struct {
	// Region is the region this endpoint serves. Credential scopes naming
	// it, "us-east-1" or "" are accepted; other regions are refused.
	Region string
	// Service is the service name of the credential scope ("s3").
	Service string
	// Now returns the current time.
	Now func() time.Time
	// MaxSkew is the tolerated difference between a header-signed request's
	// time and Now, and how far in the future a presigned URL may start.
	MaxSkew time.Duration

	keys keyCache
}

// Identity is the authenticated principal of a request.
type Identity struct {
	// AccessKey is the access key id that signed the request.
	AccessKey string
	// Region is the region of the credential scope exactly as the client
	// wrote it: Verifier.Region, "us-east-1" or "".
	Region string
	// SignedAt is the request's signing time (X-Amz-Date or Date).
	SignedAt time.Time
	// Presigned reports query-string (presigned URL) authentication.
	Presigned bool
	// ContentSHA256 is the payload contract in force: a hex SHA-256,
	// UNSIGNED-PAYLOAD, or one of the STREAMING-* modes (whose body Verify
	// replaced with a *ChunkedReader).
	ContentSHA256 string
}

func (v *Verifier) region() string {
	if v.Region == "" {
		return defaultRegion
	}
	return v.Region
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return "s3"
	}
	return v.Service
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

// authRequest is the parsed authentication of one request.
type authRequest struct {
	presigned     bool
	malformed     error // sentinel for parse/scope errors of this auth kind
	accessKey     string
	date          string // scope date, YYYYMMDD
	region        string // scope region as written
	service       string
	signedHeaders []string // lower-case, in the client's order
	signature     string   // lower-case hex
	timestamp     string   // X-Amz-Date as sent (or Date reformatted)
	signedAt      time.Time
	expires       time.Duration // presigned only
	payload       string        // value for the canonical request's last line
}

func (a *authRequest) scope() string {
	return a.date + "/" + a.region + "/" + a.service + "/" + scopeTerminal
}

// Verify authenticates r, signed either with an "Authorization:
// AWS4-HMAC-SHA256 ..." header or as a presigned URL (X-Amz-Algorithm
// query parameters), for any method.
//
// On success it returns the identity and arranges the payload contract of
// x-amz-content-sha256 on r.Body, without buffering:
//   - UNSIGNED-PAYLOAD (the default for presigned URLs): r.Body unchanged;
//   - a hex SHA-256: r.Body hashes as it is read and its Read returns
//     ErrContentSHA256Mismatch instead of io.EOF on a mismatch;
//   - STREAMING-*: r.Body becomes a *ChunkedReader yielding the decoded
//     object bytes and verifying chunk and trailer signatures.
//
// The caller reads the object from r.Body afterwards and must treat any
// Read error other than io.EOF as fatal to the upload.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, lookup SecretLookup) (*Identity, error) {
	path, rawQuery := wireTarget(r)
	params := parseQuery(rawQuery)

	var a *authRequest
	var err error
	authz := nonEmpty(r.Header.Values("Authorization"))
	queryAuth := hasParam(params, "X-Amz-Algorithm")
	v2Query := hasParam(params, "AWSAccessKeyId") && hasParam(params, "Signature")
	switch {
	case len(authz) > 0 && (queryAuth || v2Query):
		return nil, fmt.Errorf("%w: Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified", ErrMultipleAuthMechanisms)
	case len(authz) > 0:
		a, err = v.parseHeaderAuth(r, authz)
	case queryAuth:
		a, err = v.parseQueryAuth(params)
	case v2Query:
		return nil, fmt.Errorf("%w: query-string signature version 2; please use AWS4-HMAC-SHA256", ErrUnsupportedAuthorization)
	default:
		return nil, ErrMissingAuth
	}
	if err != nil {
		return nil, err
	}

	kind, err := classifyPayload(a.payload)
	if err != nil {
		return nil, err
	}
	want := int64(-1)
	if kind == payloadStreaming {
		if vals := r.Header.Values("X-Amz-Decoded-Content-Length"); len(vals) > 0 {
			n, ok := decodedLength(r.Header)
			if !ok {
				return nil, fmt.Errorf("%w: %q", ErrInvalidDecodedLength, strings.Join(vals, ","))
			}
			want = n
		}
	}
	if err := checkSignedHeaders(r, a.signedHeaders); err != nil {
		return nil, err
	}
	if err := v.checkTime(a); err != nil {
		return nil, err
	}

	secret, err := lookup(ctx, a.accessKey)
	if err != nil {
		return nil, fmt.Errorf("sigv4: looking up access key %q: %w", a.accessKey, err)
	}
	if secret == "" {
		return nil, fmt.Errorf("%w: %q has no secret", ErrUnknownAccessKey, a.accessKey)
	}

	key := v.keys.signingKey(secret, a.date, a.region, a.service)
	skip := ""
	if a.presigned {
		skip = "X-Amz-Signature"
	}
	query := canonicalQuery(params, skip)
	headers := canonicalHeaders(r, a.signedHeaders)
	signedList := strings.Join(a.signedHeaders, ";")
	scope := a.scope()
	matches := func(uri string) bool {
		creq := canonicalRequest(r.Method, uri, query, headers, signedList, a.payload)
		return signaturesEqual(signHex(key, stringToSign(a.timestamp, scope, creq)), a.signature)
	}
	if !matches(path) {
		alt := alternateURI(path)
		if alt == "" || !matches(alt) {
			return nil, fmt.Errorf("%w: The request signature we calculated does not match the signature you provided. Check your key and signing method.", ErrSignatureMismatch)
		}
	}

	if r.Body == nil {
		r.Body = http.NoBody
	}
	switch kind {
	case payloadHex:
		body, err := newSHA256Body(r.Body, a.payload)
		if err != nil {
			return nil, err
		}
		r.Body = body
	case payloadStreaming:
		r.Body = newChunkedReader(r.Body, chunkParams{
			mode:      a.payload,
			key:       key,
			timestamp: a.timestamp,
			scope:     scope,
			seedSig:   a.signature,
			declared:  declaredTrailers(r.Header),
			want:      want,
		})
	}
	return &Identity{
		AccessKey:     a.accessKey,
		Region:        a.region,
		SignedAt:      a.signedAt,
		Presigned:     a.presigned,
		ContentSHA256: a.payload,
	}, nil
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

func hasParam(params []queryParam, key string) bool {
	for _, p := range params {
		if p.key == key {
			return true
		}
	}
	return false
}

// parseHeaderAuth parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." plus the date and payload-hash headers.
func (v *Verifier) parseHeaderAuth(r *http.Request, authz []string) (*authRequest, error) {
	a := &authRequest{malformed: ErrAuthorizationHeaderMalformed}
	if len(authz) > 1 {
		return nil, fmt.Errorf("%w: multiple Authorization headers", ErrAuthorizationHeaderMalformed)
	}
	h := strings.TrimSpace(authz[0])
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithmHMAC {
		return nil, fmt.Errorf("%w: The authorization mechanism you have provided is not supported. Please use %s.", ErrUnsupportedAuthorization, algorithmHMAC)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || (k != "Credential" && k != "SignedHeaders" && k != "Signature") {
			return nil, fmt.Errorf("%w: the authorization header has an unexpected component %q", ErrAuthorizationHeaderMalformed, part)
		}
		if _, dup := fields[k]; dup {
			return nil, fmt.Errorf("%w: the authorization header repeats %s", ErrAuthorizationHeaderMalformed, k)
		}
		fields[k] = strings.TrimSpace(val)
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return nil, fmt.Errorf("%w: the authorization header requires a %s component", ErrAuthorizationHeaderMalformed, k)
		}
	}
	if err := v.parseCredential(a, fields["Credential"]); err != nil {
		return nil, err
	}
	var err error
	if a.signedHeaders, err = parseSignedHeaders(fields["SignedHeaders"], a.malformed); err != nil {
		return nil, err
	}
	a.signature = strings.ToLower(fields["Signature"])

	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(amzDateFormat, d)
		if err != nil || len(d) != len(amzDateFormat) {
			return nil, fmt.Errorf("%w: unparsable X-Amz-Date %q", ErrMissingDate, d)
		}
		a.timestamp, a.signedAt = d, t
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return nil, fmt.Errorf("%w: unparsable Date %q", ErrMissingDate, d)
		}
		a.signedAt = t.UTC()
		a.timestamp = a.signedAt.Format(amzDateFormat)
	} else {
		return nil, ErrMissingDate
	}
	if a.timestamp[:8] != a.date {
		return nil, fmt.Errorf("%w: Invalid credential date \"%s\". This date is not the same as X-Amz-Date: \"%s\".", ErrAuthorizationHeaderMalformed, a.date, a.timestamp[:8])
	}

	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		return nil, ErrMissingContentSHA256
	}
	if len(vals) > 1 {
		return nil, fmt.Errorf("%w: x-amz-content-sha256 sent %d times", ErrInvalidContentSHA256, len(vals))
	}
	a.payload = strings.TrimSpace(vals[0])
	return a, nil
}

// parseQueryAuth parses presigned-URL parameters.
func (v *Verifier) parseQueryAuth(params []queryParam) (*authRequest, error) {
	a := &authRequest{presigned: true, malformed: ErrAuthorizationQueryParametersError}
	get := map[string]string{}
	required := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"}
	for _, p := range params {
		if slices.Contains(required, p.key) || p.key == "X-Amz-Content-Sha256" {
			if _, dup := get[p.key]; dup {
				return nil, fmt.Errorf("%w: %s repeated", ErrAuthorizationQueryParametersError, p.key)
			}
			get[p.key] = p.value
		}
	}
	for _, k := range required {
		if get[k] == "" {
			return nil, fmt.Errorf("%w: Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; %s is missing", ErrAuthorizationQueryParametersError, k)
		}
	}
	if get["X-Amz-Algorithm"] != algorithmHMAC {
		return nil, fmt.Errorf("%w: X-Amz-Algorithm only supports \"%s\"", ErrAuthorizationQueryParametersError, algorithmHMAC)
	}
	if err := v.parseCredential(a, get["X-Amz-Credential"]); err != nil {
		return nil, err
	}
	var err error
	if a.signedHeaders, err = parseSignedHeaders(get["X-Amz-SignedHeaders"], a.malformed); err != nil {
		return nil, err
	}
	a.signature = strings.ToLower(get["X-Amz-Signature"])

	d := get["X-Amz-Date"]
	t, err := time.Parse(amzDateFormat, d)
	if err != nil || len(d) != len(amzDateFormat) {
		return nil, fmt.Errorf("%w: X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", ErrAuthorizationQueryParametersError)
	}
	a.timestamp, a.signedAt = d, t
	if d[:8] != a.date {
		return nil, fmt.Errorf("%w: Invalid credential date \"%s\". This date is not the same as X-Amz-Date: \"%s\".", ErrAuthorizationQueryParametersError, a.date, d[:8])
	}

	exp, err := strconv.ParseInt(get["X-Amz-Expires"], 10, 64)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: X-Amz-Expires should be a number", ErrAuthorizationQueryParametersError)
	case exp < 1:
		return nil, fmt.Errorf("%w: X-Amz-Expires must be at least 1 second", ErrAuthorizationQueryParametersError)
	case exp > maxPresignExpires:
		return nil, fmt.Errorf("%w: X-Amz-Expires must be less than a week (in seconds) that's %d", ErrAuthorizationQueryParametersError, maxPresignExpires)
	}
	a.expires = time.Duration(exp) * time.Second

	a.payload = UnsignedPayload
	if p, ok := get["X-Amz-Content-Sha256"]; ok {
		a.payload = p
	}
	return a, nil
}

// parseCredential parses "<access-key>/<date>/<region>/<service>/aws4_request"
// into a and checks the scope against the Verifier.
func (v *Verifier) parseCredential(a *authRequest, cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return fmt.Errorf("%w: the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"", a.malformed)
	}
	a.accessKey, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if _, err := time.Parse(scopeDateFormat, a.date); err != nil || len(a.date) != len(scopeDateFormat) {
		return fmt.Errorf("%w: incorrect date format %q. This date in the credential must be in the format \"yyyyMMdd\".", a.malformed, a.date)
	}
	if a.region != "" && a.region != defaultRegion && a.region != v.region() {
		return &RegionError{Got: a.region, Want: v.region(), kind: a.malformed}
	}
	if a.service != v.service() {
		return fmt.Errorf("%w: incorrect service \"%s\". This endpoint belongs to \"%s\".", a.malformed, a.service, v.service())
	}
	if parts[4] != scopeTerminal {
		return fmt.Errorf("%w: incorrect terminal \"%s\". This endpoint uses \"%s\".", a.malformed, parts[4], scopeTerminal)
	}
	return nil
}

// parseSignedHeaders splits and validates a SignedHeaders list, which must
// name host. Names are lower-cased; the client's order is kept because the
// canonical request lists them in that order.
func parseSignedHeaders(list string, malformed error) ([]string, error) {
	names := strings.Split(strings.ToLower(list), ";")
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || strings.TrimSpace(n) != n {
			return nil, fmt.Errorf("%w: malformed SignedHeaders %q", malformed, list)
		}
		if seen[n] {
			return nil, fmt.Errorf("%w: SignedHeaders repeats %q", malformed, n)
		}
		seen[n] = true
	}
	if !seen["host"] {
		return nil, fmt.Errorf("%w: host", ErrHeadersNotSigned)
	}
	return names, nil
}

// checkSignedHeaders refuses x-amz-* request headers that the signature does
// not cover (x-amz-content-sha256 excepted, as S3 does): without this, the
// holder of a presigned URL could add e.g. x-amz-copy-source or x-amz-acl.
func checkSignedHeaders(r *http.Request, signed []string) error {
	var missing []string
	for name := range r.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-") || lower == "x-amz-content-sha256" {
			continue
		}
		found := false
		for _, s := range signed {
			if s == lower {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, lower)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%w: %s", ErrHeadersNotSigned, strings.Join(missing, ", "))
	}
	return nil
}

// checkTime applies the skew window to header-signed requests and the
// validity window to presigned URLs.
func (v *Verifier) checkTime(a *authRequest) error {
	now, skew := v.now(), v.maxSkew()
	if a.presigned {
		if a.signedAt.Sub(now) > skew {
			return fmt.Errorf("%w: X-Amz-Date %s is in the future", ErrPresignNotYetValid, a.timestamp)
		}
		if now.Sub(a.signedAt) > a.expires {
			return fmt.Errorf("%w: expired at %s", ErrExpiredPresign, a.signedAt.Add(a.expires).UTC().Format(time.RFC3339))
		}
		return nil
	}
	if d := now.Sub(a.signedAt); d > skew || -d > skew {
		return fmt.Errorf("%w: request time %s, server time %s", ErrRequestTimeTooSkewed, a.signedAt.UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
	}
	return nil
}
