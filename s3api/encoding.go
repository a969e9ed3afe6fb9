package s3api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// checkEncoding refuses, before any other work, a request whose names are
// not valid UTF-8. Everything a request names travels to meta in protobuf
// strings, which must be UTF-8; S3 keys are UTF-8 too.
//
//   - The bucket, key and query parameters (prefix, delimiter, marker,
//     start-after, continuation-token, key-marker, upload-id-marker,
//     version-id-marker, uploadId, versionId, ...): 400 InvalidURI
//     "Couldn't parse the specified URI.", what S3 answers for a path such
//     as /bucket/%AE%8A- (InvalidURI is in the error code list of the S3
//     API reference, docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
//   - x-amz-copy-source (CopyObject, UploadPartCopy): 400 InvalidArgument
//     "Invalid copy source encoding.", S3's answer to a copy source it
//     cannot decode.
//   - The headers an object keeps (x-amz-meta-*, Content-Type and the
//     other stored content headers) on writes: 400 InvalidArgument naming
//     the header.
//
// Tag keys and values are checked with the other tag rules (InvalidTag),
// and XML bodies by the XML decoder (MalformedXML).
func checkEncoding(r *http.Request, req *request) error {
	if !utf8.ValidString(req.bucket) || !utf8.ValidString(req.key) {
		return s3err.New(s3err.InvalidURI, "")
	}
	// The parsed query lacks the pairs that do not unescape; those never
	// reach meta.
	for name, vals := range req.query {
		if !utf8.ValidString(name) {
			return s3err.New(s3err.InvalidURI, "")
		}
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return s3err.New(s3err.InvalidURI, "")
			}
		}
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil
	}
	// The source's bucket, key and ?versionId= alike; a copy source that
	// does not unescape at all is parseCopySource's to refuse.
	if src := r.Header.Get("x-amz-copy-source"); src != "" {
		if dec, err := url.PathUnescape(src); err == nil && !utf8.ValidString(dec) {
			return s3err.New(s3err.InvalidCopySourceEncoding, "")
		}
	}
	for name, vals := range r.Header {
		if !storedHeader(name) {
			continue
		}
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return s3err.New(s3err.InvalidArgument, fmt.Sprintf("The value of the %s header is not valid UTF-8.", name))
			}
		}
	}
	return nil
}

// storedHeader reports whether an object keeps the request header name
// (canonical form) in its record.
func storedHeader(name string) bool {
	if name == "Content-Type" || strings.HasPrefix(name, "X-Amz-Meta-") {
		return true
	}
	for _, h := range storedHeaders {
		if name == h {
			return true
		}
	}
	return false
}
