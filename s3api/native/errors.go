package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Code is one of OCI's error codes, with its HTTP status.
type Code struct {
	Name   string
	Status int
}

// The error codes the native API answers with, as OCI documents them.
var (
	codeBucketNotFound      = Code{"BucketNotFound", http.StatusNotFound}
	codeObjectNotFound      = Code{"ObjectNotFound", http.StatusNotFound}
	codeNamespaceNotFound   = Code{"NamespaceNotFound", http.StatusNotFound}
	codeNoSuchUpload        = Code{"NoSuchUpload", http.StatusNotFound}
	codeInvalidUploadPart   = Code{"InvalidUploadPart", http.StatusBadRequest}
	codeNotAuthorized       = Code{"NotAuthorizedOrNotFound", http.StatusNotFound}
	codeBucketExists        = Code{"BucketAlreadyExists", http.StatusConflict}
	codeBucketNotEmpty      = Code{"BucketNotEmpty", http.StatusConflict}
	codeConflict            = Code{"Conflict", http.StatusConflict}
	codeNotAuthenticated    = Code{"NotAuthenticated", http.StatusUnauthorized}
	codeInvalidParameter    = Code{"InvalidParameter", http.StatusBadRequest}
	codeMissingParameter    = Code{"MissingParameter", http.StatusBadRequest}
	codeUnmatchedContentMD5 = Code{"UnmatchedContentMD5", http.StatusBadRequest}
	codeLengthRequired      = Code{"LengthRequired", http.StatusLengthRequired}
	codeEntityTooLarge      = Code{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge}
	codeInvalidRange        = Code{"InvalidRange", http.StatusRequestedRangeNotSatisfiable}
	codePreconditionFailed  = Code{"PreconditionFailed", http.StatusPreconditionFailed}
	codeIncorrectState      = Code{"IncorrectState", http.StatusConflict}
	codeNotImplemented      = Code{"NotImplemented", http.StatusNotImplemented}
	codeMethodNotAllowed    = Code{"MethodNotAllowed", http.StatusMethodNotAllowed}
	codeServiceUnavailable  = Code{"ServiceUnavailable", http.StatusServiceUnavailable}
	codeInternalServerError = Code{"InternalServerError", http.StatusInternalServerError}
	codeRequestTimeout      = Code{"RequestTimeout", http.StatusRequestTimeout}
)

// Error is a refusal with its OCI code; handlers return it (or a domain
// error, which toError translates).
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code.Name + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code.Name + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// domainError is one row of domainErrors.
type domainError struct {
	err  error
	code Code
	msg  string
}

// domainErrors translates the errors of meta and the object model, the
// one table of this front end. The first row that matches wins.
func domainErrors() []domainError {
	return []domainError{
		{rpcerr.ErrBucketNotFound, codeBucketNotFound, "Either the bucket does not exist in the namespace or you are not authorized to access it"},
		{rpcerr.ErrObjectNotFound, codeObjectNotFound, "The object does not exist"},
		{rpcerr.ErrBucketExists, codeBucketExists, "A bucket with that name already exists in the namespace"},
		{rpcerr.ErrBucketNotEmpty, codeBucketNotEmpty, "The bucket is not empty"},
		{rpcerr.ErrUploadNotFound, codeNoSuchUpload, "The upload does not exist: it was never begun, or was committed or aborted"},
		{rpcerr.ErrInvalidPart, codeInvalidUploadPart, "A part to commit was not uploaded, or its etag is not the part's"},
		{rpcerr.ErrInvalidPartOrder, codeInvalidUploadPart, "The parts to commit are not in ascending order"},
		{rpcerr.ErrEntityTooSmall, codeInvalidParameter, "Every part but the last must be at least 5 MiB"},
		{rpcerr.ErrPreconditionFailed, codePreconditionFailed, "A precondition of the request failed"},
		{rpcerr.ErrInvalidArgument, codeInvalidParameter, "The request is invalid"},
		{rpcerr.ErrWorkRequestNotFound, codeNotAuthorized, workRequestNotFound},
		{rpcerr.ErrInvalidBucketState, codeConflict, "The bucket's state does not allow the change (a bucket with object lock keeps versioning Enabled)"},
		{rpcerr.ErrPARNotFound, codeNotAuthorized, "The pre-authenticated request does not exist or you are not authorized to access it"},
		{rpcerr.ErrCompartmentNotFound, codeNotAuthorized, "The compartment does not exist or you are not authorized to use it"},
		{rpcerr.ErrNoLeader, codeServiceUnavailable, "The service is unavailable; retry"},
		{rpcerr.ErrNotLeader, codeServiceUnavailable, "The service is unavailable; retry"},
		{rpcerr.ErrNotEnoughNodes, codeServiceUnavailable, "Too few storage nodes are available; retry"},
		{model.ErrWriteQuorum, codeServiceUnavailable, "Too few storage nodes took the data; retry"},
		{model.ErrTooFewWriters, codeServiceUnavailable, "Too few storage nodes took the data; retry"},
		{model.ErrIncompleteBody, codeInvalidParameter, "The body is shorter than its Content-Length"},
		{model.ErrBodyTooLong, codeInvalidParameter, "The body is longer than its Content-Length"},
		{sse.ErrInsecureSSECustomerRequest, codeInvalidParameter, "A customer-provided encryption key must be sent over a secure connection"},
		{sse.ErrMissingAlgorithm, codeInvalidParameter, "opc-sse-customer-algorithm is required with a customer-provided key"},
		{sse.ErrInvalidEncryptionAlgorithm, codeInvalidParameter, "opc-sse-customer-algorithm must be AES256"},
		{sse.ErrMissingCustomerKey, codeInvalidParameter, "opc-sse-customer-key is required with opc-sse-customer-algorithm"},
		{sse.ErrInvalidCustomerKey, codeInvalidParameter, "opc-sse-customer-key is not a base64 256-bit key"},
		{sse.ErrMissingCustomerKeyMD5, codeInvalidParameter, "opc-sse-customer-key-sha256 is required with opc-sse-customer-key"},
		{sse.ErrCustomerKeyMD5Mismatch, codeInvalidParameter, "opc-sse-customer-key-sha256 is not the SHA-256 of opc-sse-customer-key"},
		{sse.ErrSSEEncryptedObject, codeInvalidParameter, "The object is encrypted with a customer-provided key: send it in opc-sse-customer-*"},
		{sse.ErrInvalidEncryptionParameters, codeInvalidParameter, "The object (or upload) is not encrypted with a customer-provided key"},
		{sse.ErrSSEMultipartEncrypted, codeInvalidParameter, "The upload is encrypted with a customer-provided key: send it in opc-sse-customer-* with every part"},
		{sse.ErrInvalidSSECustomerParameters, codeInvalidParameter, "The customer-provided key is not the one the upload was begun with"},
		{sse.ErrAccessDenied, codeInvalidParameter, "The customer-provided key is not the object's key"},
		{context.DeadlineExceeded, codeRequestTimeout, "The request timed out"},
	}
}

// toError translates err for the client.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, row := range domainErrors() {
		if errors.Is(err, row.err) {
			return &Error{Code: row.code, Message: row.msg, Err: err}
		}
	}
	return &Error{Code: codeInternalServerError, Message: "Internal error", Err: err}
}

// writeError writes e as OCI does: JSON {"code", "message"} with its
// status (no body for HEAD), dropping any header set for a success.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *Error) {
	h := w.Header()
	for k := range h {
		if k != "Connection" { // a connection to close stays closed
			delete(h, k)
		}
	}
	h.Set("opc-request-id", requestID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Code.Status)
		return
	}
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{e.Code.Name, e.Message})
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(e.Code.Status)
	_, _ = w.Write(body)
}
