package checksum

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestFromHeaders(t *testing.T) {
	const (
		md5Empty  = "1B2M2Y8AsgTpgAmY7PhCfg=="
		crc32Val  = "AAAAAA=="
		sha256Val = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	)
	cases := []struct {
		name string
		h    http.Header
		want Requested
		err  error
	}{
		{"nothing", hdr(), Requested{}, nil},
		{"md5 only", hdr("Content-MD5", md5Empty), Requested{ContentMD5: md5Empty}, nil},
		{"header checksum", hdr("x-amz-checksum-crc32", crc32Val), Requested{Algorithm: CRC32, Value: crc32Val}, nil},
		{"sdk + header", hdr("X-Amz-Sdk-Checksum-Algorithm", "CRC32", "X-Amz-Checksum-Crc32", crc32Val, "Content-Md5", md5Empty),
			Requested{ContentMD5: md5Empty, Algorithm: CRC32, Value: crc32Val}, nil},
		{"sdk lower case", hdr("X-Amz-Sdk-Checksum-Algorithm", "sha256", "X-Amz-Checksum-Sha256", sha256Val),
			Requested{Algorithm: SHA256, Value: sha256Val}, nil},
		{"trailer", hdr("X-Amz-Trailer", "x-amz-checksum-crc64nvme", "X-Amz-Sdk-Checksum-Algorithm", "CRC64NVME"),
			Requested{Algorithm: CRC64NVME, Trailer: "x-amz-checksum-crc64nvme"}, nil},
		{"trailer mixed case and list", hdr("X-Amz-Trailer", "x-foo, X-Amz-Checksum-CRC32C"),
			Requested{Algorithm: CRC32C, Trailer: "x-amz-checksum-crc32c"}, nil},
		{"sdk alone", hdr("X-Amz-Sdk-Checksum-Algorithm", "SHA1"), Requested{Algorithm: SHA1}, nil},
		{"non-value headers ignored", hdr("X-Amz-Checksum-Mode", "ENABLED", "X-Amz-Checksum-Type", "FULL_OBJECT", "X-Amz-Checksum-Algorithm", "CRC32"),
			Requested{}, nil},

		{"md5 bad base64", hdr("Content-MD5", "zzz"), Requested{}, ErrInvalidDigest},
		{"md5 hex not base64", hdr("Content-MD5", "d41d8cd98f00b204e9800998ecf8427e"), Requested{}, ErrInvalidDigest},
		{"md5 twice", hdr("Content-MD5", md5Empty, "Content-MD5", md5Empty), Requested{}, ErrInvalidDigest},
		{"crc32 wrong length", hdr("x-amz-checksum-crc32", sha256Val), Requested{}, ErrInvalidChecksum},
		{"crc32 not base64", hdr("x-amz-checksum-crc32", "AAA*AA=="), Requested{}, ErrInvalidChecksum},
		{"unknown checksum header", hdr("x-amz-checksum-sha512", "AAAA"), Requested{}, ErrUnknownAlgorithm},
		{"two checksum headers", hdr("x-amz-checksum-crc32", crc32Val, "x-amz-checksum-sha256", sha256Val), Requested{}, ErrMultipleChecksums},
		{"header and trailer", hdr("x-amz-checksum-crc32", crc32Val, "X-Amz-Trailer", "x-amz-checksum-crc32"), Requested{}, ErrMultipleChecksums},
		{"unknown trailer alg", hdr("X-Amz-Trailer", "x-amz-checksum-md5"), Requested{}, ErrUnknownAlgorithm},
		{"unknown sdk alg", hdr("X-Amz-Sdk-Checksum-Algorithm", "XXHASH64"), Requested{}, ErrUnknownAlgorithm},
		{"sdk contradicts header", hdr("X-Amz-Sdk-Checksum-Algorithm", "CRC32C", "x-amz-checksum-crc32", crc32Val), Requested{}, ErrInvalidChecksum},
	}
	for _, c := range cases {
		got, err := FromHeaders(c.h)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if *got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, *got, c.want)
		}
	}
}

// trailerBody mimics the sigv4 aws-chunked decoder.
type trailerBody struct {
	strings.Reader
	t http.Header
}

func (b *trailerBody) Trailer() http.Header { return b.t }

func TestRequestedVerify(t *testing.T) {
	data := "some object bytes"
	sums := func() *Set {
		s, _ := NewSet(CRC32)
		s.Write([]byte(data))
		return s
	}
	s := sums()
	goodCRC := s.Base64(CRC32)
	badCRC := "AAAAAA=="

	q, err := FromHeaders(hdr("X-Amz-Trailer", "x-amz-checksum-crc32", "Content-MD5", s.Base64(MD5)))
	if err != nil {
		t.Fatal(err)
	}
	if a := q.Algorithms(); len(a) != 1 || a[0] != CRC32 {
		t.Fatalf("Algorithms = %v", a)
	}
	ok := &trailerBody{t: hdr("X-Amz-Checksum-Crc32", goodCRC)}
	if err := q.Verify(s, ok); err != nil {
		t.Fatalf("good trailer: %v", err)
	}
	for name, c := range map[string]struct {
		body any
		want error
	}{
		"bad trailer":       {&trailerBody{t: hdr("X-Amz-Checksum-Crc32", badCRC)}, ErrChecksumMismatch},
		"malformed trailer": {&trailerBody{t: hdr("X-Amz-Checksum-Crc32", "!!")}, ErrInvalidChecksum},
		"missing trailer":   {&trailerBody{t: hdr()}, ErrMissingTrailer},
		"nil trailer":       {&trailerBody{}, ErrMissingTrailer},
		"plain body":        {strings.NewReader(""), ErrMissingTrailer},
	} {
		if err := q.Verify(s, c.body.(interface{ Read([]byte) (int, error) })); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}

	q, _ = FromHeaders(hdr("X-Amz-Checksum-Crc32", goodCRC))
	if err := q.Verify(sums(), strings.NewReader("")); err != nil {
		t.Fatalf("header checksum: %v", err)
	}
	q, _ = FromHeaders(hdr("X-Amz-Checksum-Crc32", badCRC))
	if err := q.Verify(sums(), nil); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("header mismatch: %v", err)
	}
	q, _ = FromHeaders(hdr("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="))
	if err := q.Verify(sums(), nil); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("md5 mismatch: %v", err)
	}
	if v, err := (&Requested{}).TrailerValue(nil); v != "" || err != nil {
		t.Fatalf("no trailer declared: %q %v", v, err)
	}
}
