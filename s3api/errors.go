package s3api

import (
	"context"
	"errors"
	"slices"

	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv2"
	"github.com/cairn-store/cairn/s3api/sigv4"
	"github.com/cairn-store/cairn/s3api/sse"
)

// translationRow maps the errors that wrap err to an S3 code.
type translationRow struct {
	err  error
	code s3err.Code
}

// translation is the one table from domain errors to S3 codes. The first
// entry whose sentinel matches (errors.Is) wins. The S3 codes of
// proto/rpcerr's sentinels are not written here: they are facts of each
// sentinel's row there, derived by wireTranslation.
var translation = slices.Concat([]translationRow{
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
}, wireTranslation(), []translationRow{
	// Capacity and availability: retryable, so 503 rather than 500 (as
	// rpcerr's rows say of no leader and too few nodes).
	{model.ErrWriteQuorum, s3err.ServiceUnavailable},
	{model.ErrTooFewWriters, s3err.ServiceUnavailable},
	{model.ErrTooManyFailures, s3err.ObjectUnavailable},
	{model.ErrRange, s3err.InvalidRange},
	{context.DeadlineExceeded, s3err.ServiceUnavailable},
})

// wireCodes are the S3 codes proto/rpcerr's rows may name, by name.
var wireCodes = codesByName(
	s3err.NoSuchBucket, s3err.BucketAlreadyOwnedByYou, s3err.BucketNotEmpty,
	s3err.NoSuchKey, s3err.NoSuchUpload, s3err.InvalidPart, s3err.InvalidPartOrder,
	s3err.EntityTooSmall, s3err.PreconditionFailed, s3err.InvalidArgument,
	s3err.ServiceUnavailable, s3err.InternalError,
	s3err.ObjectLocked, s3err.InvalidBucketState, s3err.BucketMissingObjectLock,
)

func codesByName(codes ...s3err.Code) map[string]s3err.Code {
	m := make(map[string]s3err.Code, len(codes))
	for _, c := range codes {
		m[c.Name] = c
	}
	return m
}

// wireTranslation derives the rows for proto/rpcerr's sentinels from
// rpcerr.Sentinels, in the order of its table (which only matters for an
// error wrapping two of them, and errors off the wire wrap one). Rows that
// say InternalError are left out: the fallback of toS3Error answers them
// the same, and leaving them out keeps the rows after this block first for
// an error that wraps one of them inside another (a shard's ErrChecksum
// inside erasure.ErrTooManyFailures is ObjectUnavailable, not a 500). A
// name wireCodes does not know is also left out, so it ends as
// InternalError; TestEverySentinelTranslates fails on it.
func wireTranslation() []translationRow {
	var rows []translationRow
	for _, s := range rpcerr.Sentinels() {
		code, ok := wireCodes[s.S3]
		if !ok || code == s3err.InternalError {
			continue
		}
		rows = append(rows, translationRow{s.Err, code})
	}
	return rows
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
