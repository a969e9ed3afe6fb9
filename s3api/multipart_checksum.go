package s3api

import (
	"fmt"
	"strings"

	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/s3err"
)

// Checksum types of multipart uploads, as S3 names them.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// uploadChecksumType checks x-amz-checksum-type against the upload's
// algorithm and returns the type the upload gets: COMPOSITE by default,
// FULL_OBJECT for CRC64NVME (its only type). SHA checksums cannot be
// combined into a full-object one.
func uploadChecksumType(alg, typ string) (string, error) {
	if typ != "" && typ != checksumComposite && typ != checksumFullObject {
		return "", s3err.New(s3err.InvalidRequest, "Value for x-amz-checksum-type header is invalid.")
	}
	if alg == "" {
		if typ != "" {
			return "", s3err.New(s3err.InvalidRequest, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", nil
	}
	switch {
	case typ == "" && alg == checksum.CRC64NVME:
		return checksumFullObject, nil
	case typ == "":
		return checksumComposite, nil
	case typ == checksumComposite && alg == checksum.CRC64NVME,
		typ == checksumFullObject && (alg == checksum.SHA1 || alg == checksum.SHA256):
		return "", s3err.New(s3err.InvalidRequest, fmt.Sprintf("The %s checksum type cannot be used with the %s checksum algorithm.", typ, strings.ToLower(alg)))
	}
	return typ, nil
}

// checksumTypeIf is the ChecksumType of a result carrying sums.
func checksumTypeIf(sums partChecksums, typ string) string {
	if sums == (partChecksums{}) {
		return ""
	}
	return checksumTypeOf(typ)
}
