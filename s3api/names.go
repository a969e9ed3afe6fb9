package s3api

import (
	"net/netip"
	"strings"
)

// dnsBucketName applies S3's naming rules for new buckets, which make a
// name a DNS label: 3-63 characters of lowercase letters, digits, dots
// and hyphens, starting and ending with a letter or digit, no two
// adjacent dots, not an IP address, and none of the reserved prefixes and
// suffixes. A bucket created virtual-hosted style must follow it; one
// created path-style follows OCI's wider rule (model.ValidBucketName).
func dnsBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, suf := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, suf) {
			return false
		}
	}
	return true
}
