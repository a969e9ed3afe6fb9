package model

// ValidBucketName is OCI's rule for a bucket's name, which both front
// ends apply to buckets they create (outside virtual-hosted S3 requests,
// where the name is a DNS label): 1 to 256 letters of either case,
// digits, hyphens, underscores and periods.
func ValidBucketName(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
