package s3api

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// normalizeDomains lower-cases the configured virtual-host domains and
// drops empty entries and surrounding dots. A domain with a scheme, port,
// path or space is a configuration error.
func normalizeDomains(in []string) ([]string, error) {
	var out []string
	for _, d := range in {
		d = strings.Trim(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, ":/ \t") {
			return nil, fmt.Errorf("s3api: domain %q: want a bare host name such as s3.example.com", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// hostBucket returns the bucket a virtual-hosted-style Host names: host
// (port removed, case ignored) is <bucket>.<domain> for one of the
// configured domains. The longest matching domain wins, so with domains
// example.com and s3.example.com, b.s3.example.com names bucket "b". ok
// is false for path-style requests, including a Host equal to a domain.
func hostBucket(domains []string, host string) (bucket string, ok bool) {
	if len(domains) == 0 || host == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	best := -1
	for _, d := range domains {
		if host == d {
			return "", false
		}
		if len(host) > len(d)+1 && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.' && len(d) > best {
			best = len(d)
			bucket = host[:len(host)-len(d)-1]
		}
	}
	return bucket, best >= 0
}

// target returns the bucket and key r addresses: from the Host and the
// whole path for virtual-hosted-style requests, else from the path.
func (s *Server) target(r *http.Request) (bucket, key string, virtual bool) {
	if b, ok := hostBucket(s.cfg.Domains, r.Host); ok {
		return b, strings.TrimPrefix(r.URL.Path, "/"), true
	}
	bucket, key = splitPath(r.URL.Path)
	return bucket, key, false
}
