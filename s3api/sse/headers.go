package sse

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The SSE-C request and response headers, and their copy-source twins.
const (
	HeaderAlgorithm           = "X-Amz-Server-Side-Encryption-Customer-Algorithm"
	HeaderKey                 = "X-Amz-Server-Side-Encryption-Customer-Key"
	HeaderKeyMD5              = "X-Amz-Server-Side-Encryption-Customer-Key-Md5"
	HeaderCopySourceAlgorithm = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm"
	HeaderCopySourceKey       = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key"
	HeaderCopySourceKeyMD5    = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5"
	// HeaderServerSide is x-amz-server-side-encryption: requested SSE-S3 on
	// writes, and "AES256" on responses for data under the master key.
	HeaderServerSide = "X-Amz-Server-Side-Encryption"
	// CustomerAlgorithm is the one SSE-C algorithm S3 defines.
	CustomerAlgorithm = "AES256"
)

// The SSE-C headers of OCI's native Object Storage API: the same key and
// algorithm, checked by the key's SHA-256 where S3 sends its MD5.
const (
	OCIHeaderAlgorithm = "Opc-Sse-Customer-Algorithm"
	OCIHeaderKey       = "Opc-Sse-Customer-Key"
	OCIHeaderKeySHA256 = "Opc-Sse-Customer-Key-Sha256"
	// The key that decrypts the source of the native CopyObject.
	OCIHeaderSourceAlgorithm = "Opc-Source-Sse-Customer-Algorithm"
	OCIHeaderSourceKey       = "Opc-Source-Sse-Customer-Key"
	OCIHeaderSourceKeySHA256 = "Opc-Source-Sse-Customer-Key-Sha256"
)

var (
	// ErrServerSideNotImplemented: x-amz-server-side-encryption asks for
	// something other than AES256 (SSE-KMS).
	// S3: NotImplemented 501.
	ErrServerSideNotImplemented = errors.New("sse: only AES256 server-side encryption is available")
	// ErrServerSideWithCustomerKey: x-amz-server-side-encryption together
	// with SSE-C headers.
	// S3: InvalidArgument 400 "Server Side Encryption with Customer provided
	// key is incompatible with the encryption method specified".
	ErrServerSideWithCustomerKey = errors.New("sse: SSE-C and x-amz-server-side-encryption together")
)

// CustomerKeyFromHeaders parses and checks the three SSE-C headers. It
// returns nil, nil when none is present.
func CustomerKeyFromHeaders(h http.Header) (*CustomerKey, error) {
	return parseCustomerKey(h.Get(HeaderAlgorithm), h.Get(HeaderKey), h.Get(HeaderKeyMD5), (*CustomerKey).KeyMD5)
}

// CustomerKeyFromOCIHeaders parses and checks the three opc-sse-customer-*
// headers of the native API. It returns nil, nil when none is present.
// A missing or wrong key SHA-256 is ErrMissingCustomerKeyMD5 or
// ErrCustomerKeyMD5Mismatch: the same refusal as S3's missing or wrong
// key digest.
func CustomerKeyFromOCIHeaders(h http.Header) (*CustomerKey, error) {
	return parseCustomerKey(h.Get(OCIHeaderAlgorithm), h.Get(OCIHeaderKey), h.Get(OCIHeaderKeySHA256), (*CustomerKey).KeySHA256)
}

// SourceKeyFromOCICopyHeaders parses and checks the three
// opc-source-sse-customer-* headers, which decrypt the source of the
// native API's CopyObject. It returns nil, nil when none is present.
func SourceKeyFromOCICopyHeaders(h http.Header) (*CustomerKey, error) {
	return parseCustomerKey(h.Get(OCIHeaderSourceAlgorithm), h.Get(OCIHeaderSourceKey), h.Get(OCIHeaderSourceKeySHA256), (*CustomerKey).KeySHA256)
}

// SourceKeyFromCopyHeaders parses and checks the three
// x-amz-copy-source-server-side-encryption-customer-* headers, which decrypt
// the source of CopyObject and UploadPartCopy. It returns nil, nil when
// none is present.
func SourceKeyFromCopyHeaders(h http.Header) (*CustomerKey, error) {
	return parseCustomerKey(h.Get(HeaderCopySourceAlgorithm), h.Get(HeaderCopySourceKey), h.Get(HeaderCopySourceKeyMD5), (*CustomerKey).KeyMD5)
}

// parseCustomerKey checks an algorithm, a base64 key and the digest of the
// key the client sent, which digestOf computes (base64) from the key.
func parseCustomerKey(alg, key, digest string, digestOf func(*CustomerKey) string) (*CustomerKey, error) {
	switch {
	case alg == "" && key == "" && digest == "":
		return nil, nil
	case alg == "":
		return nil, ErrMissingAlgorithm
	case alg != CustomerAlgorithm:
		return nil, ErrInvalidEncryptionAlgorithm
	case key == "":
		return nil, ErrMissingCustomerKey
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != KeySize {
		return nil, ErrInvalidCustomerKey
	}
	k, err := NewCustomerKey(raw)
	clear(raw)
	if err != nil {
		return nil, err
	}
	if digest == "" {
		return nil, ErrMissingCustomerKeyMD5
	}
	if subtle.ConstantTimeCompare([]byte(digest), []byte(digestOf(k))) != 1 {
		return nil, ErrCustomerKeyMD5Mismatch
	}
	return k, nil
}

// SetResponseHeaders echoes an SSE-C key's algorithm and MD5, as S3 does
// on every response about SSE-C data. It does nothing for a nil key.
func SetResponseHeaders(h http.Header, k *CustomerKey) {
	if k == nil {
		return
	}
	h.Set(HeaderAlgorithm, CustomerAlgorithm)
	h.Set(HeaderKeyMD5, k.md5)
}

// SetOCIResponseHeaders echoes an SSE-C key's algorithm and SHA-256 in the
// native API's headers. It does nothing for a nil key.
func SetOCIResponseHeaders(h http.Header, k *CustomerKey) {
	if k == nil {
		return
	}
	h.Set(OCIHeaderAlgorithm, CustomerAlgorithm)
	h.Set(OCIHeaderKeySHA256, k.KeySHA256())
}

// CheckServerSide checks x-amz-server-side-encryption on a write: absent or
// AES256 (data is always encrypted at rest), and not with SSE-C.
func CheckServerSide(h http.Header, customer *CustomerKey) error {
	switch v := h.Get(HeaderServerSide); {
	case v == "":
		return nil
	case customer != nil:
		return ErrServerSideWithCustomerKey
	case v != "AES256":
		return ErrServerSideNotImplemented
	}
	return nil
}

// hasCustomerHeaders reports any SSE-C header, for the object or the copy
// source, in S3's names or the native API's.
func hasCustomerHeaders(h http.Header) bool {
	for _, name := range []string{HeaderAlgorithm, HeaderKey, HeaderKeyMD5, HeaderCopySourceAlgorithm, HeaderCopySourceKey, HeaderCopySourceKeyMD5,
		OCIHeaderAlgorithm, OCIHeaderKey, OCIHeaderKeySHA256, OCIHeaderSourceAlgorithm, OCIHeaderSourceKey, OCIHeaderSourceKeySHA256} {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

// Transport decides which connections may carry customer keys.
type Transport struct {
	// AllowInsecure accepts SSE-C over plain HTTP (tests, or a private
	// network the operator vouches for).
	AllowInsecure bool
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed:
	// "https" from one of them means TLS ended at the proxy.
	TrustedProxies []netip.Prefix
}

// Check returns ErrInsecureSSECustomerRequest when r carries SSE-C headers
// over a connection that is not known to be secure.
func (t Transport) Check(r *http.Request) error {
	if r.TLS != nil || t.AllowInsecure || !hasCustomerHeaders(r.Header) {
		return nil
	}
	if t.viaTrustedProxy(r) {
		return nil
	}
	return ErrInsecureSSECustomerRequest
}

func (t Transport) viaTrustedProxy(r *http.Request) bool {
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	if !strings.EqualFold(strings.TrimSpace(proto), "https") || len(t.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range t.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes or
// single addresses.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
