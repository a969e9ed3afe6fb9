package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// Code is one S3 error: its code string, HTTP status and default message.
type Code struct {
	Name    string
	Status  int
	Message string
}

// The codes Cairn sends. Messages follow the wording AWS uses.
var (
	AccessDenied                    = Code{"AccessDenied", http.StatusForbidden, "Access Denied"}
	AuthorizationHeaderMalformed    = Code{"AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed."}
	AuthorizationQueryParametersErr = Code{"AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter."}
	BadDigest                       = Code{"BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."}
	BucketAlreadyExists             = Code{"BucketAlreadyExists", http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."}
	BucketAlreadyOwnedByYou         = Code{"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."}
	BucketNotEmpty                  = Code{"BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty"}
	EntityTooLarge                  = Code{"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."}
	ExpiredPresign                  = Code{"AccessDenied", http.StatusForbidden, "Request has expired"}
	IncompleteBody                  = Code{"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	InternalError                   = Code{"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."}
	InvalidAccessKeyID              = Code{"InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."}
	InvalidArgument                 = Code{"InvalidArgument", http.StatusBadRequest, "Invalid Argument"}
	InvalidBucketName               = Code{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."}
	InvalidChunkSize                = Code{"InvalidChunkSizeError", http.StatusBadRequest, "Only the last chunk is allowed to have a size less than 8192 bytes"}
	InvalidDigest                   = Code{"InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid."}
	InvalidRange                    = Code{"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"}
	InvalidRequest                  = Code{"InvalidRequest", http.StatusBadRequest, "Invalid Request"}
	InvalidURI                      = Code{"InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI."}
	KeyTooLong                      = Code{"KeyTooLongError", http.StatusBadRequest, "Your key is too long"}
	MalformedXML                    = Code{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."}
	MetadataTooLarge                = Code{"MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."}
	MethodNotAllowed                = Code{"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."}
	MissingContentLength            = Code{"MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header."}
	MissingSecurityHeader           = Code{"MissingSecurityHeader", http.StatusBadRequest, "Your request is missing a required header."}
	UnexpectedContent               = Code{"UnexpectedContent", http.StatusBadRequest, "This request does not support content."}
	NoSuchBucket                    = Code{"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist"}
	NoSuchKey                       = Code{"NoSuchKey", http.StatusNotFound, "The specified key does not exist."}
	NoSuchVersion                   = Code{"NoSuchVersion", http.StatusNotFound, "The specified version does not exist."}
	NoSuchTagSet                    = Code{"NoSuchTagSet", http.StatusNotFound, "The TagSet does not exist"}
	InvalidTag                      = Code{"InvalidTag", http.StatusBadRequest, "The tag provided was not a valid tag. This error can occur if the tag did not pass input validation."}
	BadRequest                      = Code{"BadRequest", http.StatusBadRequest, "Bad Request"}
	NoSuchUpload                    = Code{"NoSuchUpload", http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}
	InvalidPart                     = Code{"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."}
	InvalidPartOrder                = Code{"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."}
	InvalidPartNumber               = Code{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"}
	EntityTooSmall                  = Code{"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."}
	NotImplemented                  = Code{"NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"}
	PreconditionFailed              = Code{"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"}
	RequestTimeTooSkewed            = Code{"RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large."}
	ServiceUnavailable              = Code{"ServiceUnavailable", http.StatusServiceUnavailable, "Service is unable to handle request."}
	SlowDown                        = Code{"SlowDown", http.StatusServiceUnavailable, "Please reduce your request rate."}
	SignatureDoesNotMatch           = Code{"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	XAmzContentSHA256Mismatch       = Code{"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."}
	InvalidContentSHA256            = Code{"InvalidArgument", http.StatusBadRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a valid sha256 value."}
	MissingContentSHA256            = Code{"InvalidRequest", http.StatusBadRequest, "Missing required header for this request: x-amz-content-sha256"}
	RequestTimeout                  = Code{"RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."}
	ChecksumMismatch                = Code{"BadDigest", http.StatusBadRequest, "The checksum you specified did not match the calculated checksum."}
	InvalidChecksumAlgorithm        = Code{"InvalidRequest", http.StatusBadRequest, "Checksum algorithm provided is unsupported."}
	InvalidChecksum                 = Code{"InvalidRequest", http.StatusBadRequest, "The value of the x-amz-checksum header is invalid."}
	MultipleChecksums               = Code{"InvalidRequest", http.StatusBadRequest, "Expecting a single x-amz-checksum- header. Multiple checksum types are not allowed."}
	MalformedTrailer                = Code{"MalformedTrailerError", http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema."}
	UnsupportedAuthorization        = Code{"InvalidRequest", http.StatusBadRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."}
	MultipleAuthMechanisms          = Code{"InvalidArgument", http.StatusBadRequest, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified."}
	MissingDate                     = Code{"AccessDenied", http.StatusForbidden, "AWS authentication requires a valid Date or x-amz-date header"}
	PresignNotYetValid              = Code{"AccessDenied", http.StatusForbidden, "Request is not valid yet"}
	HeadersNotSigned                = Code{"AccessDenied", http.StatusForbidden, "There were headers present in the request which were not signed"}
	InvalidDecodedLength            = Code{"InvalidArgument", http.StatusBadRequest, "x-amz-decoded-content-length is not a valid length."}
	MissingContentMD5               = Code{"InvalidRequest", http.StatusBadRequest, "Missing required header for this request: Content-MD5"}
	InvalidSigV2Header              = Code{"InvalidArgument", http.StatusBadRequest, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"}
	MissingQueryAuth                = Code{"AccessDenied", http.StatusForbidden, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"}
	InvalidQueryExpires             = Code{"AccessDenied", http.StatusForbidden, "Invalid date (should be seconds since epoch)"}
	InvalidCopySourceEncoding       = Code{"InvalidArgument", http.StatusBadRequest, "Invalid copy source encoding."}
)

// Object lock codes.
var (
	ObjectLocked                   = Code{"AccessDenied", http.StatusForbidden, "Access Denied because object protected by object lock."}
	InvalidBucketState             = Code{"InvalidBucketState", http.StatusConflict, "The request is not valid with the current state of the bucket."}
	ObjectLockConfigurationMissing = Code{"ObjectLockConfigurationNotFoundError", http.StatusNotFound, "Object Lock configuration does not exist for this bucket"}
	NoSuchObjectLockConfiguration  = Code{"NoSuchObjectLockConfiguration", http.StatusNotFound, "The specified object does not have a ObjectLock configuration"}
	BucketMissingObjectLock        = Code{"InvalidRequest", http.StatusBadRequest, "Bucket is missing Object Lock Configuration"}
	ObjectLockNeedsDigest          = Code{"InvalidRequest", http.StatusBadRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"}
)

// Codes for an object Cairn cannot read back. AWS has no such codes (S3
// never admits losing data), so they reuse InternalError and
// ServiceUnavailable with messages that say what happened, instead of the
// generic ones that invite a blind retry.
var (
	// ObjectUnreadable: more shards are missing or corrupt than parity can
	// rebuild. Retrying does not help until the shards are restored.
	ObjectUnreadable = Code{"InternalError", http.StatusInternalServerError, "The object cannot be read: more of its shards are missing or corrupt than its parity can rebuild."}
	// ObjectUnavailable: too many shards are on data nodes that cannot be
	// reached right now; the read may succeed once they are back.
	ObjectUnavailable = Code{"ServiceUnavailable", http.StatusServiceUnavailable, "The object cannot be read right now: too many of its shards are on data nodes that cannot be reached."}
)

// SSE-C codes.
var (
	SSECustomerAlgorithmMissing  = Code{"InvalidArgument", http.StatusBadRequest, "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."}
	InvalidEncryptionAlgorithm   = Code{"InvalidEncryptionAlgorithmError", http.StatusBadRequest, "The encryption request you specified is not valid. The valid value is AES256."}
	SSECustomerKeyMissing        = Code{"InvalidArgument", http.StatusBadRequest, "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."}
	SSECustomerKeyInvalid        = Code{"InvalidArgument", http.StatusBadRequest, "The secret key was invalid for the specified algorithm."}
	SSECustomerKeyMD5Missing     = Code{"InvalidArgument", http.StatusBadRequest, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."}
	SSECustomerKeyMD5Mismatch    = Code{"InvalidArgument", http.StatusBadRequest, "The calculated MD5 hash of the key did not match the hash that was provided."}
	SSECustomerInsecure          = Code{"InvalidRequest", http.StatusBadRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."}
	SSEEncryptedObject           = Code{"InvalidRequest", http.StatusBadRequest, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."}
	SSEParametersNotApplicable   = Code{"InvalidRequest", http.StatusBadRequest, "The encryption parameters are not applicable to this object."}
	SSEMultipartEncrypted        = Code{"InvalidRequest", http.StatusBadRequest, "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."}
	SSECustomerParametersChanged = Code{"InvalidArgument", http.StatusBadRequest, "The provided encryption parameters did not match the ones used originally."}
	SSEWithCustomerKey           = Code{"InvalidArgument", http.StatusBadRequest, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"}
	SSEKMSNotImplemented         = Code{"NotImplemented", http.StatusNotImplemented, "Server-side encryption with AWS KMS keys is not implemented; data is always encrypted at rest (AES256)."}
)

// Error is an S3 error on its way to the client: a code, optionally a more
// specific message, the resource it concerns, and the headers that belong
// to the error itself.
type Error struct {
	Code    Code
	Message string // overrides Code.Message when set
	Bucket  string
	Key     string
	// Header holds headers S3 sends with this error, such as the
	// Content-Range of an InvalidRange or x-amz-delete-marker on a 404.
	// They are the only headers an error response carries besides the
	// connection-level ones (see Write).
	Header http.Header
	// Region, when set, is sent as <Region>: the region a request signed
	// for another one should be signed for (SDKs follow it).
	Region string
	Err    error // the cause, for logs; never sent to the client
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code.Name, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code.Name, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error for code with an optional message override.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Wrap returns an *Error for code that keeps err as its cause.
func Wrap(code Code, err error) *Error { return &Error{Code: code, Err: err} }

// As returns err as an *Error if it is (or wraps) one.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

type body struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Resource   string   `xml:"Resource,omitempty"`
	Region     string   `xml:"Region,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// connectionHeaders are the response headers an error response keeps from
// what was set before it: they describe the request and the connection, not
// the object the request was about.
var connectionHeaders = map[string]bool{
	"X-Amz-Request-Id": true,
	"X-Amz-Id-2":       true,
	"Server":           true,
	"Connection":       true,
	// CORS: a browser shows an error to the page only with these.
	"Access-Control-Allow-Origin":      true,
	"Access-Control-Allow-Credentials": true,
	"Access-Control-Allow-Methods":     true,
	"Access-Control-Expose-Headers":    true,
	"Access-Control-Max-Age":           true,
	"Vary":                             true,
}

// Write sends e as an S3 error response. HEAD responses carry the status
// and headers but no body, as S3 does. Headers a handler set for the object
// it meant to send (ETag, Content-Length, x-amz-checksum-*, x-amz-meta-*,
// ...) are dropped: an error response carries only the connection-level
// headers and e.Header, so no client mistakes an error for object data.
func Write(w http.ResponseWriter, r *http.Request, e *Error, requestID, hostID string) {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	h := w.Header()
	for name := range h {
		if !connectionHeaders[http.CanonicalHeaderKey(name)] {
			delete(h, name)
		}
	}
	for name, vals := range e.Header {
		h[http.CanonicalHeaderKey(name)] = vals
	}
	h.Set("x-amz-request-id", requestID)
	h.Set("x-amz-id-2", hostID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Code.Status)
		return
	}
	out, err := xml.Marshal(body{
		Code: e.Code.Name, Message: msg, BucketName: e.Bucket, Key: e.Key,
		Resource: r.URL.Path, Region: e.Region, RequestID: requestID, HostID: hostID,
	})
	if err != nil {
		out = []byte("<Error><Code>InternalError</Code></Error>")
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(out)))
	w.WriteHeader(e.Code.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
