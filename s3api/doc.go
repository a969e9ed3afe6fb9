// Package s3api is Cairn's S3 gateway: it parses each HTTP request into a
// typed operation, authenticates it (SigV4 or SigV2, headers or presigned
// query, aws-chunked bodies), authorizes it against the caller's
// policies, and serves it from the meta group (Index) and the object
// model (package s3api/model), which writes and reads object data on the
// data nodes. This package speaks S3: headers, query parameters, XML and
// error codes. It places, erasure codes and seals nothing itself
// (test/arch keeps erasure and placement out of its imports).
//
// What a request is, is decided once:
//   - parse.go turns a request into an operation: an Op (a closed set of
//     constants, op.go) with the bucket, key, versionId, uploadId,
//     partNumber, copy source, routing subresources and the parsed query.
//     It runs before anything else, and nothing parses the query again.
//   - opTable (op.go) has one row per Op: its handler, the access it needs
//     (authorize.go), its metric label and the S3 action bucket policies
//     name it by (bucketpolicy.go). Routing (Server.dispatch),
//     authorization and the metrics (Metrics.Wrap) all read that row;
//     there is no other classifier. S3 operations Cairn does not
//     implement are Ops too, refused with 501 before any permission is
//     checked or data looked at; a request no operation matches is OpOther
//     (405). A subresource the parser does not know is an ordinary
//     parameter, so a new S3 subresource needs an Op even to be refused.
//   - To add an S3 operation: a constant, a parse rule in classify, one
//     row in opTable, a handler, and its row in docs/compatibility.md.
//     TestOpTable fails on a missing handler, access rule or label and on
//     a shared label; TestRefusedOperationsTouchNothing on a served
//     operation left with the refused rule.
//
// Invariants:
//   - No path holds a whole object in memory: bodies stream through checksum
//     and the object model to k+m data-node streams a stripe at a time, and
//     GETs stream stripes back as they are decoded. Only objects at or below
//     the inline threshold are read whole, and those are small by definition.
//   - A PUT is acknowledged only after its version record is committed
//     through Raft; shards written for a PUT that fails are never visible.
//   - Errors are translated to S3 codes exactly once, in errors.go; deeper
//     code returns domain errors. The S3 codes of proto/rpcerr's sentinels
//     are facts of their rows there, derived, not listed again. An error response carries no header of
//     the object the request was about (s3err.Write drops them).
//   - What the gateway takes on is bounded (admission.go): requests and
//     request body bytes in flight, each body by its declared length up to
//     the two stripes it can keep in memory. A request past the bounds is
//     refused with SlowDown without its body being read; nothing else
//     answers SlowDown. A body that stops arriving is cut with
//     RequestTimeout after the idle timeout (body.go).
//   - Every name a request gives (bucket, key, query parameters, copy
//     source, stored headers) is valid UTF-8 before any work is done
//     (encoding.go): meta keeps them in protobuf strings.
//   - A request is allowed by a bucket policy's Allow or the caller's OCI
//     policies, and refused by a bucket policy's Deny whatever else
//     allows it (authorize.go, docs/policies.md). An unsigned request is
//     served only when a bucket policy allows it; the grammar, the
//     evaluation and what "public" means are package bucketpolicy's.
//   - The gateway keeps nothing durable; it can be killed at any moment.
package s3api
