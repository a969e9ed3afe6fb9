package s3api

import (
	"net/http/httptest"
	"testing"
)

func TestNamespaceHost(t *testing.T) {
	s := &Server{cfg: Config{Region: "eu-frankfurt-1", Domains: []string{"example.com", "compat.objectstorage.eu-frankfurt-1.oci.test"}}}
	cases := []struct {
		host, path       string
		ns, bucket, key  string
		virtual, matched bool
	}{
		{"acme.compat.objectstorage.eu-frankfurt-1.example.com", "/reports/a/b", "acme", "reports", "a/b", false, true},
		{"ACME.compat.objectstorage.EU-FRANKFURT-1.example.com:9000", "/reports", "acme", "reports", "", false, true},
		{"reports.acme.compat.objectstorage.eu-frankfurt-1.example.com", "/a/b", "acme", "reports", "a/b", true, true},
		{"my.dotted.bucket.acme.compat.objectstorage.eu-frankfurt-1.example.com.", "/k", "acme", "my.dotted.bucket", "k", true, true},
		{"acme.compat.objectstorage.eu-frankfurt-1.example.com", "/", "acme", "", "", false, true},
		{"acme.oci.test", "/b/k", "", "", "", false, false},
		{"acme.compat.objectstorage.eu-frankfurt-1.oci.test", "/b/k", "acme", "b", "k", false, true},
		{"b.acme.compat.objectstorage.eu-frankfurt-1.oci.test", "/k", "acme", "b", "k", true, true},
		// Another region's endpoint, a plain virtual host and a bare
		// address are not namespace hosts.
		{"acme.compat.objectstorage.us-ashburn-1.example.com", "/b/k", "", "", "", false, false},
		{"reports.example.com", "/k", "", "", "", false, false},
		{"compat.objectstorage.eu-frankfurt-1.example.com", "/b/k", "", "", "", false, false},
		{"127.0.0.1:9000", "/b/k", "", "", "", false, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://x"+c.path, nil)
		r.Host = c.host
		req := &operation{bucket: "unchanged", key: "unchanged"}
		s.namespaceHost(r, req)
		if !c.matched {
			if req.hostNS != "" || req.bucket != "unchanged" || req.key != "unchanged" {
				t.Errorf("%s%s: matched %+v", c.host, c.path, req)
			}
			continue
		}
		if req.hostNS != c.ns || req.bucket != c.bucket || req.key != c.key || req.virtual != c.virtual {
			t.Errorf("%s%s: got ns %q bucket %q key %q virtual %v", c.host, c.path, req.hostNS, req.bucket, req.key, req.virtual)
		}
	}
}
