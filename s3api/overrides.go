package s3api

import (
	"net/http"
	"net/url"
)

// applyResponseOverrides sets the response headers that GetObject and
// HeadObject let the query string override (response-content-type and
// friends). S3 honours them on authenticated requests only; every request
// Cairn serves is authenticated.
func applyResponseOverrides(h http.Header, q url.Values) {
	for _, o := range [...]struct{ param, header string }{
		{"response-cache-control", "Cache-Control"},
		{"response-content-disposition", "Content-Disposition"},
		{"response-content-encoding", "Content-Encoding"},
		{"response-content-language", "Content-Language"},
		{"response-content-type", "Content-Type"},
		{"response-expires", "Expires"},
	} {
		if v := q.Get(o.param); v != "" {
			h.Set(o.header, v)
		}
	}
}
