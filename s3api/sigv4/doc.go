// Package sigv4 owns request authentication for Cairn's S3 gateway: AWS
// Signature Version 4 (AWS4-HMAC-SHA256) in the Authorization header or in
// a presigned URL's query string, and the payload contract announced by
// x-amz-content-sha256, including the streaming aws-chunked encodings with
// per-chunk and trailer signatures.
//
// Invariants:
//   - The canonical request is built from the request exactly as the client
//     sent it: the path and query of the request-target (RequestURI), not a
//     re-encoding of r.URL, and S3's rule of no double path-encoding.
//   - Signatures are compared in constant time. Secrets never appear in
//     errors.
//   - Bodies are never buffered. A hex x-amz-content-sha256 is checked at
//     EOF; aws-chunked bodies are decoded as a stream through one small
//     fixed buffer whatever the chunk size, so a chunk's bytes are returned
//     before its signature is checked. Consequently any Read error other than
//     io.EOF means the upload must be discarded; io.EOF is only returned once
//     everything (signatures, framing, trailer, decoded length) verified.
//   - Every error wraps exactly one exported sentinel whose comment names
//     the S3 error code it must be translated to; this package writes no S3
//     XML.
//   - There is no package-level mutable state. The only state is a
//     Verifier's bounded, mutex-guarded cache of derived signing keys.
package sigv4
