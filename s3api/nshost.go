package s3api

import (
	"net"
	"net/http"
	"strings"
)

// namespaceEndpoint is the label OCI puts between a namespace and the
// region in S3 compatibility endpoints:
// <namespace>.compat.objectstorage.<region>.<domain>.
const namespaceEndpoint = "compat.objectstorage."

// namespaceHost recognises a Host naming a namespace, for each configured
// domain D: <ns>.compat.objectstorage.<region>.D (bucket and key from the
// path) or <bucket>.<ns>.compat.objectstorage.<region>.D (virtual-hosted;
// the whole path is the key). When D itself starts with
// "compat.objectstorage.", <ns>.D and <bucket>.<ns>.D are what match.
// On a match it sets o.hostNS and the bucket and key; authorize then
// refuses keys of any other namespace.
func (s *Server) namespaceHost(r *http.Request, o *operation) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	region := strings.ToLower(s.cfg.Region)
	for _, d := range s.cfg.Domains {
		suffix := "." + namespaceEndpoint + region + "." + d
		if strings.HasPrefix(d, namespaceEndpoint) {
			suffix = "." + d
		}
		if len(host) <= len(suffix) || !strings.HasSuffix(host, suffix) {
			continue
		}
		prefix := host[:len(host)-len(suffix)]
		i := strings.LastIndexByte(prefix, '.')
		o.hostNS = prefix[i+1:]
		if i > 0 {
			o.bucket, o.key, o.virtual = prefix[:i], strings.TrimPrefix(r.URL.Path, "/"), true
		} else {
			o.bucket, o.key = splitPath(r.URL.Path)
			o.virtual = false
		}
		return
	}
}
