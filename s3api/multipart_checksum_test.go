package s3api

import "testing"

// TestUploadChecksumType: the checksum types S3 allows per algorithm, and
// the defaults.
func TestUploadChecksumType(t *testing.T) {
	for _, c := range []struct{ alg, typ, want string }{
		{"", "", ""},
		{"CRC32", "", "COMPOSITE"},
		{"CRC32C", "FULL_OBJECT", "FULL_OBJECT"},
		{"CRC32", "COMPOSITE", "COMPOSITE"},
		{"SHA1", "", "COMPOSITE"},
		{"SHA256", "COMPOSITE", "COMPOSITE"},
		{"CRC64NVME", "", "FULL_OBJECT"},
		{"CRC64NVME", "FULL_OBJECT", "FULL_OBJECT"},
	} {
		got, err := uploadChecksumType(c.alg, c.typ)
		if err != nil || got != c.want {
			t.Errorf("%s/%s: %q %v, want %q", c.alg, c.typ, got, err, c.want)
		}
	}
	for _, c := range []struct{ alg, typ string }{
		{"", "COMPOSITE"}, {"SHA256", "FULL_OBJECT"}, {"SHA1", "FULL_OBJECT"}, {"CRC64NVME", "COMPOSITE"}, {"CRC32", "PARTIAL"},
	} {
		if _, err := uploadChecksumType(c.alg, c.typ); err == nil || toS3Error(err).Code.Name != "InvalidRequest" {
			t.Errorf("%s/%s accepted or wrong error: %v", c.alg, c.typ, err)
		}
	}
}
