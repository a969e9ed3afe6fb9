package fsm

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Checksums of multipart objects, as S3 defines them. An upload created
// with x-amz-checksum-algorithm keeps that algorithm's checksum for every
// part; completing it gives the object a checksum made from the parts'
// alone, never from the data again:
//
//   - COMPOSITE (SHA1, SHA256, CRC32, CRC32C): the algorithm over the
//     concatenated binary part checksums, base64, then "-<parts>".
//   - FULL_OBJECT (CRC64NVME, CRC32, CRC32C): the CRC of the whole object,
//     combined from the part CRCs and sizes.

const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// crcPolys are the bit-reversed polynomials and widths of the CRCs S3
// combines. Each is conditioned with all ones before and after, which
// combining leaves alone.
var crcPolys = map[string]struct {
	poly  uint64
	width int
}{
	"CRC32":     {0xEDB88320, 32},
	"CRC32C":    {0x82F63B78, 32},
	"CRC64NVME": {0x9A6C9329AC4BC9B5, 64},
}

// gf2Apply multiplies the GF(2) matrix mat (one column per bit) by vec.
func gf2Apply(mat []uint64, vec uint64) uint64 {
	var out uint64
	for i := 0; vec != 0; i++ {
		if vec&1 != 0 {
			out ^= mat[i]
		}
		vec >>= 1
	}
	return out
}

// gf2Square sets dst to mat·mat.
func gf2Square(dst, mat []uint64) {
	for i := range mat {
		dst[i] = gf2Apply(mat, mat[i])
	}
}

// zeroBytesOperator returns the GF(2) matrix that advances a CRC
// register over n zero bytes: the one-zero-bit operator squared up to a
// byte, then raised to the n-th power by repeated squaring.
func zeroBytesOperator(poly uint64, width int, n int64) []uint64 {
	op, tmp := make([]uint64, width), make([]uint64, width)
	op[0] = poly // one zero bit: shift right, fold the polynomial in
	for i := 1; i < width; i++ {
		op[i] = 1 << (i - 1)
	}
	for range 3 { // 2, 4, 8 bits
		gf2Square(tmp, op)
		op, tmp = tmp, op
	}
	res := make([]uint64, width)
	for i := range res {
		res[i] = 1 << i
	}
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			for i := range res {
				res[i] = gf2Apply(op, res[i])
			}
		}
		gf2Square(tmp, op)
		op, tmp = tmp, op
	}
	return res
}

// crcCombiner combines the CRCs of consecutive pieces into the CRC of
// their concatenation, keeping the operator of each piece length it met
// (the parts of an upload mostly share one size).
type crcCombiner struct {
	poly  uint64
	width int
	ops   map[int64][]uint64
}

// combine returns the CRC of A||B from crcA, crcB and the length of B.
func (c *crcCombiner) combine(crcA, crcB uint64, lenB int64) uint64 {
	op, ok := c.ops[lenB]
	if !ok {
		op = zeroBytesOperator(c.poly, c.width, lenB)
		c.ops[lenB] = op
	}
	return gf2Apply(op, crcA) ^ crcB
}

// compositeHash returns the hash COMPOSITE checksums of alg are made with.
func compositeHash(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

// multipartChecksum computes the checksum of the object the parts make
// under alg and typ. ok is false when the upload has no algorithm, or a
// part lacks a well-formed checksum of it (a part stored before its
// upload's algorithm was enforced): the object then has no checksum.
func multipartChecksum(alg, typ string, parts []*cairnpb.PartInfo) (value string, ok bool, err error) {
	if alg == "" || len(parts) == 0 {
		return "", false, nil
	}
	raws := make([][]byte, len(parts))
	for i, p := range parts {
		b64, found := p.GetChecksums()[alg]
		if !found {
			return "", false, nil
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", false, nil // not a checksum the gateway computed
		}
		raws[i] = raw
	}
	if typ == "" && alg == "CRC64NVME" {
		typ = checksumFullObject // the only type it has
	}
	if typ == checksumFullObject {
		c, known := crcPolys[alg]
		if !known {
			return "", false, Invalid("%s checksums cannot be %s", alg, checksumFullObject)
		}
		comb := &crcCombiner{poly: c.poly, width: c.width, ops: map[int64][]uint64{}}
		var crc uint64
		for i, raw := range raws {
			if len(raw) != c.width/8 {
				return "", false, nil // not a checksum the gateway computed
			}
			var v uint64
			if c.width == 32 {
				v = uint64(binary.BigEndian.Uint32(raw))
			} else {
				v = binary.BigEndian.Uint64(raw)
			}
			if i == 0 {
				crc = v
				continue
			}
			crc = comb.combine(crc, v, parts[i].GetSize())
		}
		out := make([]byte, c.width/8)
		if c.width == 32 {
			binary.BigEndian.PutUint32(out, uint32(crc))
		} else {
			binary.BigEndian.PutUint64(out, crc)
		}
		return base64.StdEncoding.EncodeToString(out), true, nil
	}
	h := compositeHash(alg)
	if h == nil {
		return "", false, Invalid("%s checksums cannot be %s", alg, checksumComposite)
	}
	for _, raw := range raws {
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), true, nil
}
