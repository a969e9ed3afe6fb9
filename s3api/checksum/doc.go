// Package checksum owns the object-integrity digests of Cairn's S3 gateway:
// the MD5 that becomes a simple object's ETag and the additional checksums
// S3 clients may request (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), how they
// are named on the wire (x-amz-checksum-*, x-amz-sdk-checksum-algorithm,
// x-amz-trailer, Content-MD5), and how expected values are checked.
//
// Invariants:
//   - Digests are computed in one streaming pass (Set.Write); nothing here
//     buffers object data.
//   - Algorithm names are S3's upper-case names; every exported function
//     accepts them case-insensitively and reports them in canonical form.
//   - Raw digests are big-endian byte strings exactly as S3 base64-encodes
//     them (a CRC32 is 4 bytes, a CRC64NVME 8 bytes).
//   - Every error wraps one of the exported sentinels, each documented with
//     the S3 error code the gateway must translate it to. This package
//     writes no S3 XML.
//   - There is no package-level mutable state: the CRC64NVME lookup tables
//     are a generated constant literal (see gen_crc64nvme.go) and are never
//     written.
package checksum
