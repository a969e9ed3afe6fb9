package sigv2

import "errors"

// Each sentinel's comment names the S3 error the gateway sends for it.
// Errors returned by this package wrap exactly one sentinel with %w.
var (
	// ErrInvalidArgument means the Authorization header does not have the
	// form "AWS <access-key>:<signature>". S3: InvalidArgument 400 "AWS
	// authorization header is invalid.  Expected AwsAccessKeyId:signature".
	ErrInvalidArgument = errors.New("AWS authorization header is invalid; expected AwsAccessKeyId:signature")

	// ErrMultipleAuthMechanisms means a request carries more than one of an
	// Authorization header, SigV2 query parameters and SigV4 query
	// parameters. S3: InvalidArgument 400 "Only one auth mechanism
	// allowed; ...".
	ErrMultipleAuthMechanisms = errors.New("only one auth mechanism allowed")

	// ErrMissingQueryParameters means a presigned URL lacks one of
	// AWSAccessKeyId, Signature and Expires. S3: AccessDenied 403
	// "Query-string authentication requires the Signature, Expires and
	// AWSAccessKeyId parameters".
	ErrMissingQueryParameters = errors.New("query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")

	// ErrInvalidExpires means the Expires parameter is not a number of
	// seconds since the epoch. S3: AccessDenied 403 "Invalid date (should
	// be seconds since epoch): <value>".
	ErrInvalidExpires = errors.New("invalid date (should be seconds since epoch)")

	// ErrRequestExpired means a presigned URL's Expires time has passed.
	// S3: AccessDenied 403 "Request has expired".
	ErrRequestExpired = errors.New("request has expired")

	// ErrMissingDate means a header-signed request has no parsable Date or
	// x-amz-date header. S3: AccessDenied 403 "AWS authentication requires
	// a valid Date or x-amz-date header".
	ErrMissingDate = errors.New("AWS authentication requires a valid Date or x-amz-date header")

	// ErrRequestTimeTooSkewed means a header-signed request's time is more
	// than Verifier.MaxSkew away from the server clock.
	// S3: RequestTimeTooSkewed 403.
	ErrRequestTimeTooSkewed = errors.New("the difference between the request time and the server's time is too large")

	// ErrInvalidAccessKeyID means the access key is not known. A
	// SecretLookup must return an error wrapping it for unknown keys.
	// S3: InvalidAccessKeyId 403.
	ErrInvalidAccessKeyID = errors.New("the access key id does not exist")

	// ErrSignatureDoesNotMatch means the signature differs from the one
	// computed with the secret. S3: SignatureDoesNotMatch 403.
	ErrSignatureDoesNotMatch = errors.New("the request signature does not match")
)
