package s3api

import (
	"context"
	"errors"

	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv2"
	"github.com/cairn-store/cairn/s3api/sigv4"
	"github.com/cairn-store/cairn/s3api/sse"
)

// translation is the one table from domain errors to S3 codes. The first
// entry whose sentinel matches (errors.Is) wins.
var translation = []struct {
	err  error
	code s3err.Code
}{
	// Authentication.
	{sigv4.ErrUnknownAccessKey, s3err.InvalidAccessKeyID},
	{sigv4.ErrSignatureMismatch, s3err.SignatureDoesNotMatch},
	{sigv4.ErrAuthorizationHeaderMalformed, s3err.AuthorizationHeaderMalformed},
	{sigv4.ErrAuthorizationQueryParametersError, s3err.AuthorizationQueryParametersErr},
	{sigv4.ErrRequestTimeTooSkewed, s3err.RequestTimeTooSkewed},
	{sigv4.ErrExpiredPresign, s3err.ExpiredPresign},
	{sigv4.ErrMissingAuth, s3err.AccessDenied},
	{sigv4.ErrMissingContentSHA256, s3err.MissingContentSHA256},
	{sigv4.ErrContentSHA256Mismatch, s3err.XAmzContentSHA256Mismatch},
	{sigv4.ErrIncompleteBody, s3err.IncompleteBody},
	{sigv4.ErrMalformedChunk, s3err.IncompleteBody},
	{sigv4.ErrUnsupportedAuthorization, s3err.UnsupportedAuthorization},
	{sigv4.ErrMultipleAuthMechanisms, s3err.MultipleAuthMechanisms},
	{sigv4.ErrMissingDate, s3err.MissingDate},
	{sigv4.ErrPresignNotYetValid, s3err.PresignNotYetValid},
	{sigv4.ErrHeadersNotSigned, s3err.HeadersNotSigned},
	{sigv4.ErrInvalidContentSHA256, s3err.InvalidContentSHA256},
	{sigv4.ErrInvalidDecodedLength, s3err.InvalidDecodedLength},
	{sigv4.ErrMalformedTrailer, s3err.MalformedTrailer},
	{sigv2.ErrInvalidArgument, s3err.InvalidSigV2Header},
	{sigv2.ErrMultipleAuthMechanisms, s3err.MultipleAuthMechanisms},
	{sigv2.ErrMissingQueryParameters, s3err.MissingQueryAuth},
	{sigv2.ErrInvalidExpires, s3err.InvalidQueryExpires},
	{sigv2.ErrRequestExpired, s3err.ExpiredPresign},
	{sigv2.ErrMissingDate, s3err.MissingDate},
	{sigv2.ErrRequestTimeTooSkewed, s3err.RequestTimeTooSkewed},
	{sigv2.ErrInvalidAccessKeyID, s3err.InvalidAccessKeyID},
	{sigv2.ErrSignatureDoesNotMatch, s3err.SignatureDoesNotMatch},
	// A server-side fault, whatever digest error it wraps.
	{model.ErrCopySourceCorrupt, s3err.InternalError},
	// Integrity.
	{checksum.ErrBadDigest, s3err.BadDigest},
	{checksum.ErrChecksumMismatch, s3err.ChecksumMismatch},
	{checksum.ErrInvalidDigest, s3err.InvalidDigest},
	{checksum.ErrUnknownAlgorithm, s3err.InvalidChecksumAlgorithm},
	{checksum.ErrInvalidChecksum, s3err.InvalidChecksum},
	{checksum.ErrMultipleChecksums, s3err.MultipleChecksums},
	{checksum.ErrMissingTrailer, s3err.MalformedTrailer},
	// Encryption (SSE-C requests; stored data that fails to open is a
	// server-side fault).
	{sse.ErrMissingAlgorithm, s3err.SSECustomerAlgorithmMissing},
	{sse.ErrInvalidEncryptionAlgorithm, s3err.InvalidEncryptionAlgorithm},
	{sse.ErrMissingCustomerKey, s3err.SSECustomerKeyMissing},
	{sse.ErrInvalidCustomerKey, s3err.SSECustomerKeyInvalid},
	{sse.ErrMissingCustomerKeyMD5, s3err.SSECustomerKeyMD5Missing},
	{sse.ErrCustomerKeyMD5Mismatch, s3err.SSECustomerKeyMD5Mismatch},
	{sse.ErrInsecureSSECustomerRequest, s3err.SSECustomerInsecure},
	{sse.ErrSSEEncryptedObject, s3err.SSEEncryptedObject},
	{sse.ErrInvalidEncryptionParameters, s3err.SSEParametersNotApplicable},
	{sse.ErrAccessDenied, s3err.AccessDenied},
	{sse.ErrSSEMultipartEncrypted, s3err.SSEMultipartEncrypted},
	{sse.ErrInvalidSSECustomerParameters, s3err.SSECustomerParametersChanged},
	{sse.ErrServerSideWithCustomerKey, s3err.SSEWithCustomerKey},
	{sse.ErrServerSideNotImplemented, s3err.SSEKMSNotImplemented},
	{sse.ErrTampered, s3err.InternalError},
	{sse.ErrUnknownKey, s3err.InternalError},
	{model.ErrNoEnvelope, s3err.InternalError},
	// Bodies.
	{model.ErrIncompleteBody, s3err.IncompleteBody},
	{model.ErrBodyTooLong, s3err.IncompleteBody},
	{ErrRequestTimeout, s3err.RequestTimeout},
	// Load shedding, and nothing else, is SlowDown.
	{ErrSlowDown, s3err.SlowDown},
	// Objects that cannot be read back: lost for good (500) or out of
	// reach for now (503), each with a message that says so.
	{model.ErrObjectUnreadable, s3err.ObjectUnreadable},
	{model.ErrObjectUnavailable, s3err.ObjectUnavailable},
	// Meta.
	{rpcerr.ErrBucketNotFound, s3err.NoSuchBucket},
	{rpcerr.ErrBucketExists, s3err.BucketAlreadyOwnedByYou},
	{rpcerr.ErrBucketNotEmpty, s3err.BucketNotEmpty},
	{rpcerr.ErrObjectNotFound, s3err.NoSuchKey},
	{rpcerr.ErrUploadNotFound, s3err.NoSuchUpload},
	{rpcerr.ErrInvalidPart, s3err.InvalidPart},
	{rpcerr.ErrInvalidPartOrder, s3err.InvalidPartOrder},
	{rpcerr.ErrEntityTooSmall, s3err.EntityTooSmall},
	{rpcerr.ErrPreconditionFailed, s3err.PreconditionFailed},
	{rpcerr.ErrInvalidArgument, s3err.InvalidArgument},
	// Capacity and availability: retryable, so 503 rather than 500.
	{rpcerr.ErrNoLeader, s3err.ServiceUnavailable},
	{rpcerr.ErrNotLeader, s3err.ServiceUnavailable},
	{rpcerr.ErrNotEnoughNodes, s3err.ServiceUnavailable},
	{model.ErrWriteQuorum, s3err.ServiceUnavailable},
	{model.ErrTooFewWriters, s3err.ServiceUnavailable},
	{model.ErrTooManyFailures, s3err.ObjectUnavailable},
	{model.ErrRange, s3err.InvalidRange},
	{context.DeadlineExceeded, s3err.ServiceUnavailable},
}

// clientMessager is a domain error that carries a message fit for the
// client (counts, not internals), sent instead of its code's default.
type clientMessager interface{ ClientMessage() string }

// regionNamer is an error that names the region a request should have
// been signed for (sigv4.RegionError), sent as the error's <Region>.
type regionNamer interface{ ExpectedRegion() string }

// toS3Error turns any error into the S3 error to send.
func toS3Error(err error) *s3err.Error {
	if e, ok := s3err.As(err); ok {
		return e
	}
	for _, t := range translation {
		if errors.Is(err, t.err) {
			e := &s3err.Error{Code: t.code, Err: err}
			var cm clientMessager
			if errors.As(err, &cm) {
				e.Message = cm.ClientMessage()
			}
			var re regionNamer
			if errors.As(err, &re) {
				e.Region = re.ExpectedRegion()
			}
			return e
		}
	}
	return &s3err.Error{Code: s3err.InternalError, Err: err}
}
