package native

import (
	"net/http"
	"strings"
)

// Is reports whether r is a native API request, which the gateway's one
// listener hands to this front end rather than to S3: its Authorization
// header is an OCI Signature (S3 requests are signed AWS4-HMAC-SHA256 or
// AWS, never "Signature"), or its Host is objectstorage.<region>.<domain>,
// the native endpoint (S3's is <namespace>.compat.objectstorage...). A
// request that is neither is S3's, whatever its path: an S3 bucket may be
// called "n". See docs/native-api.md.
func Is(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Signature ") {
		return true
	}
	host := strings.ToLower(r.Host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.HasPrefix(host, "objectstorage.")
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
