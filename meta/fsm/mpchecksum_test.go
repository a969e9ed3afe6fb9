package fsm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"testing"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func b64u32(v uint32) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, v))
}
func b64u64(v uint64) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, v))
}

// TestMultipartChecksums checks FULL_OBJECT checksums combined from part
// CRCs against the CRC of the whole object, and COMPOSITE ones against
// their definition.
func TestMultipartChecksums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nvme := crc64.MakeTable(0x9A6C9329AC4BC9B5)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, sizes := range [][]int{{1}, {0, 5}, {7, 0, 3}, {5 << 20, 5 << 20, 12345}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var whole []byte
		var parts []*cairnpb.PartInfo
		var concat32, concatSHA []byte
		for i, n := range sizes {
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			whole = append(whole, data...)
			sha := sha256.Sum256(data)
			concatSHA = append(concatSHA, sha[:]...)
			concat32 = binary.BigEndian.AppendUint32(concat32, crc32.ChecksumIEEE(data))
			parts = append(parts, &cairnpb.PartInfo{Number: int32(i + 1), Size: int64(n), Checksums: map[string]string{
				"CRC32":     b64u32(crc32.ChecksumIEEE(data)),
				"CRC32C":    b64u32(crc32.Checksum(data, castagnoli)),
				"CRC64NVME": b64u64(crc64.Checksum(data, nvme)),
				"SHA256":    base64.StdEncoding.EncodeToString(sha[:]),
			}})
		}
		shaOfSHAs := sha256.Sum256(concatSHA)
		for _, c := range []struct{ alg, typ, want string }{
			{"CRC32", checksumFullObject, b64u32(crc32.ChecksumIEEE(whole))},
			{"CRC32C", checksumFullObject, b64u32(crc32.Checksum(whole, castagnoli))},
			{"CRC64NVME", checksumFullObject, b64u64(crc64.Checksum(whole, nvme))},
			{"CRC64NVME", "", b64u64(crc64.Checksum(whole, nvme))},
			{"CRC32", checksumComposite, fmt.Sprintf("%s-%d", b64u32(crc32.ChecksumIEEE(concat32)), len(sizes))},
			{"SHA256", checksumComposite, fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(shaOfSHAs[:]), len(sizes))},
		} {
			got, ok, err := multipartChecksum(c.alg, c.typ, parts)
			if err != nil || !ok || got != c.want {
				t.Errorf("sizes %v %s %s: got %q %v %v, want %q", sizes, c.alg, c.typ, got, ok, err, c.want)
			}
		}
	}
	if _, _, err := multipartChecksum("SHA256", checksumFullObject, []*cairnpb.PartInfo{{Checksums: map[string]string{"SHA256": "AAAA"}}}); err == nil {
		t.Error("SHA256 FULL_OBJECT accepted")
	}
	if _, ok, _ := multipartChecksum("CRC32", checksumComposite, []*cairnpb.PartInfo{{}}); ok {
		t.Error("a part without its checksum gave the object one")
	}
}

// BenchmarkCRCCombine is the cost of one part's combination when its
// length is new; parts of a known length cost one matrix application.
func BenchmarkCRCCombine(b *testing.B) {
	for b.Loop() {
		c := &crcCombiner{poly: 0x9A6C9329AC4BC9B5, width: 64, ops: map[int64][]uint64{}}
		c.combine(12345, 67890, 16<<20)
	}
}
