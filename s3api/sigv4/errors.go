package sigv4

import (
	"errors"
	"fmt"
)

// Each sentinel's comment names the S3 error the gateway must send for it
// (code, HTTP status, and S3's message where it matters). Errors returned by
// this package wrap exactly one sentinel with %w; the wrapping text carries
// the detail (for instance the expected region) and may be used as the S3
// message.
var (
	// ErrMissingAuth means the request carries neither an Authorization
	// header nor X-Amz-Algorithm query authentication: it is anonymous.
	// The gateway decides whether anonymous access is allowed; if not:
	// S3 AccessDenied 403 "Access Denied".
	ErrMissingAuth = errors.New("request is not signed")

	// ErrUnsupportedAuthorization means the request uses an authentication
	// scheme other than AWS4-HMAC-SHA256 (signature V2, SigV4a, ...).
	// S3: InvalidRequest 400 "The authorization mechanism you have provided
	// is not supported. Please use AWS4-HMAC-SHA256."
	ErrUnsupportedAuthorization = errors.New("unsupported authorization mechanism")

	// ErrMultipleAuthMechanisms means both an Authorization header and
	// query-string authentication were sent.
	// S3: InvalidArgument 400 "Only one auth mechanism allowed; only the
	// X-Amz-Algorithm query parameter, Signature query string parameter or
	// the Authorization header should be specified".
	ErrMultipleAuthMechanisms = errors.New("only one auth mechanism allowed")

	// ErrAuthorizationHeaderMalformed means the Authorization header cannot
	// be parsed, or its credential scope is wrong (region not served here,
	// service, terminator, or a date different from X-Amz-Date). The wrapped
	// message follows S3's, e.g. "the region 'eu-west-1' is wrong; expecting
	// 'us-west-2'". S3: AuthorizationHeaderMalformed 400.
	ErrAuthorizationHeaderMalformed = errors.New("the authorization header is malformed")

	// ErrAuthorizationQueryParametersError means presigned-URL parameters are
	// missing, malformed or inconsistent (including a wrong region in
	// X-Amz-Credential and X-Amz-Expires outside 1..604800).
	// S3: AuthorizationQueryParametersError 400.
	ErrAuthorizationQueryParametersError = errors.New("error parsing the presigned query parameters")

	// ErrMissingDate means a header-signed request has no parsable
	// X-Amz-Date or Date header.
	// S3: AccessDenied 403 "AWS authentication requires a valid Date or
	// x-amz-date header".
	ErrMissingDate = errors.New("AWS authentication requires a valid Date or x-amz-date header")

	// ErrRequestTimeTooSkewed means a header-signed request's time is more
	// than Verifier.MaxSkew away from the server clock.
	// S3: RequestTimeTooSkewed 403.
	ErrRequestTimeTooSkewed = errors.New("the difference between the request time and the server's time is too large")

	// ErrExpiredPresign means a presigned URL's X-Amz-Date + X-Amz-Expires
	// is in the past. S3: AccessDenied 403 "Request has expired".
	ErrExpiredPresign = errors.New("request has expired")

	// ErrPresignNotYetValid means a presigned URL's X-Amz-Date is further in
	// the future than Verifier.MaxSkew.
	// S3: AccessDenied 403 "Request is not valid yet".
	ErrPresignNotYetValid = errors.New("request is not valid yet")

	// ErrUnknownAccessKey means the access key is not known. The SecretLookup
	// must return an error wrapping it for unknown keys; Verify returns it
	// unchanged in the chain. S3: InvalidAccessKeyId 403 "The AWS Access Key
	// Id you provided does not exist in our records."
	ErrUnknownAccessKey = errors.New("the access key id does not exist")

	// ErrSignatureMismatch means a request, chunk or trailer signature does
	// not match the one computed with the secret.
	// S3: SignatureDoesNotMatch 403.
	ErrSignatureMismatch = errors.New("the request signature does not match")

	// ErrHeadersNotSigned means the request carries x-amz-* headers (other
	// than x-amz-content-sha256) that are not covered by SignedHeaders, or
	// SignedHeaders omits host. Such headers could be added by anyone holding
	// a presigned URL, so S3 refuses them.
	// S3: AccessDenied 403 "There were headers present in the request which
	// were not signed" (the wrapped text lists them).
	ErrHeadersNotSigned = errors.New("there were headers present in the request which were not signed")

	// ErrMissingContentSHA256 means a header-signed request has no
	// x-amz-content-sha256 header. S3: InvalidRequest 400 "Missing required
	// header for this request: x-amz-content-sha256".
	ErrMissingContentSHA256 = errors.New("missing required header for this request: x-amz-content-sha256")

	// ErrInvalidContentSHA256 means x-amz-content-sha256 is neither a hex
	// SHA-256 nor a payload mode this package implements.
	// S3: InvalidArgument 400 "x-amz-content-sha256 must be UNSIGNED-PAYLOAD,
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD, ... or a valid sha256 value."
	ErrInvalidContentSHA256 = errors.New("invalid x-amz-content-sha256")

	// ErrInvalidDecodedLength means X-Amz-Decoded-Content-Length on an
	// aws-chunked request is not a non-negative decimal integer.
	// S3: InvalidArgument 400.
	ErrInvalidDecodedLength = errors.New("invalid x-amz-decoded-content-length")

	// ErrContentSHA256Mismatch is returned by the body's Read, in place of
	// io.EOF, when the body's SHA-256 differs from x-amz-content-sha256.
	// S3: XAmzContentSHA256Mismatch 400 "The provided 'x-amz-content-sha256'
	// header does not match what was computed."
	ErrContentSHA256Mismatch = errors.New("x-amz-content-sha256 does not match the body")

	// ErrIncompleteBody is returned by an aws-chunked body's Read when the
	// body ends before its framing is complete, or the decoded length
	// differs from X-Amz-Decoded-Content-Length.
	// S3: IncompleteBody 400 "You did not provide the number of bytes
	// specified by the Content-Length HTTP header."
	ErrIncompleteBody = errors.New("incomplete aws-chunked body")

	// ErrMalformedChunk is returned by an aws-chunked body's Read when the
	// framing is garbled: a bad chunk-size line, a missing CRLF, a missing,
	// unexpected or malformed chunk-signature extension, an over-long line,
	// or bytes after the final chunk. Map it to IncompleteBody 400: S3 has
	// no dedicated code for garbled framing (InvalidChunkSizeError is only
	// for its 8 KiB minimum chunk size, which Cairn does not enforce).
	ErrMalformedChunk = errors.New("malformed aws-chunked encoding")

	// ErrMalformedTrailer is returned by an aws-chunked body's Read when the
	// trailer section is garbled, names a header not declared in
	// X-Amz-Trailer, repeats one, lacks a declared one, or lacks/misplaces
	// x-amz-trailer-signature in the signed-trailer mode.
	// S3: MalformedTrailerError 400 "The request contained trailing data
	// that was not well-formed or did not conform to our published schema."
	ErrMalformedTrailer = errors.New("malformed aws-chunked trailer")
)

// RegionError is a credential scope naming a region this endpoint does
// not serve. It wraps ErrAuthorizationHeaderMalformed (Authorization
// header) or ErrAuthorizationQueryParametersError (presigned URL), and
// names the region expected: S3 sends it as the error's <Region>, which
// SDKs follow to sign again for the right region.
type RegionError struct {
	Got, Want string
	kind      error
}

func (e *RegionError) Error() string {
	return fmt.Sprintf("%v: the region '%s' is wrong; expecting '%s'", e.kind, e.Got, e.Want)
}

func (e *RegionError) Unwrap() error { return e.kind }

// ExpectedRegion is the region the request should have been signed for.
func (e *RegionError) ExpectedRegion() string { return e.Want }

// ClientMessage is the message S3 sends for this error.
func (e *RegionError) ClientMessage() string {
	lead := "The authorization header is malformed"
	if errors.Is(e.kind, ErrAuthorizationQueryParametersError) {
		lead = "Error parsing the X-Amz-Credential parameter"
	}
	return fmt.Sprintf("%s; the region '%s' is wrong; expecting '%s'", lead, e.Got, e.Want)
}
