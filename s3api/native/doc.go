// Package native is the gateway's second front end: OCI Object Storage's
// native REST API (/n/{namespace}/b/{bucket}/o/{object}), authenticated by
// OCI's HTTP Signature scheme with users' API signing keys.
//
// It parses a request into an operation (one row of opTable: handler,
// the permissions it needs, whether it writes an object, whether its
// body is signed), authenticates it, authorizes it from that row with
// the same policies the S3 front end applies (meta/policy), and serves
// it through the object model (s3api/model) and the meta index: the same
// buckets, versions, multipart uploads, bytes, metadata and ETags S3
// sees.
//
// Invariants:
//   - It never imports package s3api; both front ends stand on s3api/model.
//   - Every request but a malformed one is authenticated before anything
//     is looked up or read: a signature over (request-target), host and
//     date (or x-date), plus x-content-sha256, content-type and
//     content-length for bodies other than object data; a date within
//     the clock-skew bound; and, when signed, x-content-sha256 checked
//     against the body before anything is stored.
//   - A pre-authenticated request (/p/{token}/n/...) carries no
//     credentials: its token, kept in meta only as its SHA-256, finds the
//     PAR, and the request is served only within the PAR's namespace,
//     bucket, object or prefix and access type, before its expiry, and
//     as its creator with the creator's policies at the time of use
//     (par.go); so is every use of a multipart upload made through it
//     (/p/{token}/.../u/{object}/id/{uploadId}/, par_multipart.go). Every
//     refusal of one is the same NotAuthorizedOrNotFound.
//   - Every error is OCI's JSON ({"code", "message"}) with its status and
//     an opc-request-id, written by one writer (errors.go); handlers
//     return errors, translated once.
//   - CopyObject copies data through the object model, never buffered
//     whole, and answers 202 only once the copy is over, with its work
//     request recorded finished in meta (copy.go, workrequest.go): no
//     work request is ever left IN_PROGRESS.
//   - Anything under /n/ that is not served answers NotImplemented.
package native
