// Package sigv2 authenticates requests signed with AWS Signature Version 2
// as S3 defines it: an "Authorization: AWS <access-key>:<signature>" header,
// or a presigned URL carrying AWSAccessKeyId, Expires and Signature query
// parameters. Older tools still use it, and boto3 presigns with it when
// its region is us-east-1 and no signature version is configured.
//
// The signature is base64(HMAC-SHA1(secret, StringToSign)) where
//
//	StringToSign = Method + "\n" + Content-MD5 + "\n" + Content-Type + "\n" +
//	               Date + "\n" + CanonicalizedAmzHeaders + CanonicalizedResource
//
// Date is the Date header, the empty string when x-amz-date is sent, or
// the Expires parameter of a presigned URL. CanonicalizedAmzHeaders lists
// every x-amz-* header, lower-cased and sorted, as "name:value\n".
// CanonicalizedResource is "/" + bucket for virtual-hosted-style requests,
// then the path as sent, then the signed sub-resources (acl, delete,
// uploadId, response-content-type, ...) sorted by name with decoded values.
// A path-style bucket request ("/bucket") may be signed as "/bucket/",
// as botocore signs it.
//
// Invariants:
//   - The path and query are taken from the request exactly as the client
//     sent them (RequestURI), never from a re-encoded r.URL.
//   - Every x-amz-* header is covered by the signature, so no unsigned
//     x-amz-* header can be smuggled in. SigV2 has no payload hash, so the
//     body is not authenticated; a Content-MD5, when sent, is signed, and
//     the handlers that read a body (PutObject, DeleteObjects) check it.
//   - Signatures are compared in constant time; secrets never appear in
//     errors.
//   - Every error wraps exactly one exported sentinel whose comment names
//     the S3 error it becomes; this package writes no S3 XML.
//   - There is no package-level mutable state.
package sigv2
