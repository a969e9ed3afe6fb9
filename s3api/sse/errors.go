package sse

import "errors"

// Errors of SSE-C requests; each names the S3 error the gateway sends.
var (
	// ErrMissingAlgorithm: a customer key or key MD5 came without
	// x-amz-server-side-encryption-customer-algorithm.
	// S3: InvalidArgument 400 "Requests specifying Server Side Encryption
	// with Customer provided keys must provide a valid encryption algorithm."
	ErrMissingAlgorithm = errors.New("sse: SSE-C algorithm header missing")

	// ErrInvalidEncryptionAlgorithm: the algorithm is not AES256.
	// S3: InvalidEncryptionAlgorithmError 400 "The encryption request you
	// specified is not valid. The valid value is AES256."
	ErrInvalidEncryptionAlgorithm = errors.New("sse: SSE-C algorithm is not AES256")

	// ErrMissingCustomerKey: the algorithm came without the key.
	// S3: InvalidArgument 400 "Requests specifying Server Side Encryption
	// with Customer provided keys must provide an appropriate secret key."
	ErrMissingCustomerKey = errors.New("sse: SSE-C key missing")

	// ErrInvalidCustomerKey: the key is not the base64 encoding of 32 bytes.
	// S3: InvalidArgument 400 "The secret key was invalid for the specified
	// algorithm."
	ErrInvalidCustomerKey = errors.New("sse: SSE-C key is not 256 bits of base64")

	// ErrMissingCustomerKeyMD5: the key came without its MD5.
	// S3: InvalidArgument 400 "Requests specifying Server Side Encryption
	// with Customer provided keys must provide the client calculated MD5 of
	// the secret key."
	ErrMissingCustomerKeyMD5 = errors.New("sse: SSE-C key MD5 missing")

	// ErrCustomerKeyMD5Mismatch: the key's MD5 differs from the one sent.
	// S3: InvalidArgument 400 "The calculated MD5 hash of the key did not
	// match the hash that was provided."
	ErrCustomerKeyMD5Mismatch = errors.New("sse: SSE-C key MD5 mismatch")

	// ErrInsecureSSECustomerRequest: SSE-C headers over plain HTTP.
	// S3: InvalidRequest 400 "Requests specifying Server Side Encryption with
	// Customer provided keys must be made over a secure connection."
	ErrInsecureSSECustomerRequest = errors.New("sse: SSE-C over an insecure connection")

	// ErrSSEEncryptedObject: the object is SSE-C encrypted and the request
	// carries no key.
	// S3: InvalidRequest 400 "The object was stored using a form of Server
	// Side Encryption. The correct parameters must be provided to retrieve
	// the object."
	ErrSSEEncryptedObject = errors.New("sse: object needs its SSE-C key")

	// ErrInvalidEncryptionParameters: SSE-C headers for an object (or
	// upload) that is not SSE-C encrypted.
	// S3: InvalidRequest 400 "The encryption parameters are not applicable to
	// this object."
	ErrInvalidEncryptionParameters = errors.New("sse: object is not SSE-C encrypted")

	// ErrAccessDenied: the customer key is not the object's key.
	// S3: AccessDenied 403 "Access Denied"
	ErrAccessDenied = errors.New("sse: wrong SSE-C key")

	// ErrSSEMultipartEncrypted: a part of an SSE-C upload came without the
	// key. S3: InvalidRequest 400 "The multipart upload initiate requested
	// encryption. Subsequent part requests must include the appropriate
	// encryption parameters."
	ErrSSEMultipartEncrypted = errors.New("sse: upload needs its SSE-C key")

	// ErrInvalidSSECustomerParameters: a part's key differs from the key the
	// upload was initiated with.
	// S3: InvalidArgument 400 "The provided encryption parameters did not
	// match the ones used originally."
	ErrInvalidSSECustomerParameters = errors.New("sse: SSE-C key differs from the upload's")
)

// Errors of stored data and keys: server-side faults (S3: InternalError 500).
var (
	// ErrTampered: a package, or a wrapped key, failed authentication, or
	// the ciphertext ended early or ran on.
	ErrTampered = errors.New("sse: ciphertext failed authentication")
	// ErrUnknownKey: the envelope names a master key this gateway lacks, or
	// an algorithm it does not know.
	ErrUnknownKey = errors.New("sse: unknown master key or algorithm")
	// ErrInvalidMasterKey: a master key that is not 32 bytes (raw or hex).
	ErrInvalidMasterKey = errors.New("sse: master key must be 32 bytes (raw, or 64 hex digits)")
)
