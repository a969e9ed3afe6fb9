package native

import (
	"net/http"
	"strings"
)

// Is reports whether r is a native API request, which the gateway's one
// listener hands to this front end rather than to S3:
//   - its Authorization header is an OCI Signature (S3 requests are
//     signed AWS4-HMAC-SHA256 or AWS, never "Signature");
//   - or its Host is objectstorage.<region>.<domain>, the native endpoint
//     (S3's is <namespace>.compat.objectstorage...);
//   - or it is a PAR use: no signature of S3's (header or presigned
//     query) and a path of the shape /p/{token}/n/{ns}/b/{bucket}/o[/...],
//     or of an upload made through a PAR,
//     /p/{token}/n/{ns}/b/{bucket}/u/{object}/id/{uploadId}/[{partNum}],
//     on any host, as OCI's access URIs are relative to the endpoint.
//
// A request that is none of these is S3's, whatever its path: an S3
// bucket may be called "n" or "p". See docs/native-api.md.
func Is(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "Signature ") {
		return true
	}
	host := strings.ToLower(r.Host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if strings.HasPrefix(host, "objectstorage.") {
		return true
	}
	return auth == "" && !s3Presigned(r) && isPARShape(r.URL.EscapedPath())
}

// s3Presigned reports whether r carries an S3 signature in its query
// (SigV4 or SigV2 presigned URLs).
func s3Presigned(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || q.Has("AWSAccessKeyId")
}

// Route returns a handler that serves native requests with native and the
// rest with other (the S3 front end).
func Route(native, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Is(r) {
			native.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}
