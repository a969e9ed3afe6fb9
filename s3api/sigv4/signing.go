package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
)

const (
	algorithmHMAC = "AWS4-HMAC-SHA256"
	scopeTerminal = "aws4_request"
	// emptySHA256 is hex(sha256("")), used in every chunk string-to-sign.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// keyCacheSize bounds the derived-key cache of one Verifier.
	keyCacheSize = 256
)

// keyCacheKey identifies one derived signing key. Keying on the secret (not
// the access key) means a rotated secret can never hit a stale entry.
type keyCacheKey struct {
	secret, date, region, service string
}

// keyCache is a small bounded map of derived signing keys. It is per
// Verifier state; the zero value is ready to use.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey][sha256.Size]byte
}

// signingKey returns HMAC chain kSigning for (secret, date, region, service),
// deriving and caching it on a miss. When the cache is full an arbitrary
// entry is evicted: keys change daily, so the working set is tiny and any
// eviction policy does.
func (c *keyCache) signingKey(secret, date, region, service string) []byte {
	k := keyCacheKey{secret, date, region, service}
	c.mu.Lock()
	if v, ok := c.m[k]; ok {
		c.mu.Unlock()
		return v[:]
	}
	c.mu.Unlock()

	v := deriveKey(secret, date, region, service)

	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[keyCacheKey][sha256.Size]byte)
	}
	if len(c.m) >= keyCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v[:]
}

// deriveKey computes the SigV4 signing key:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, scopeTerminal)
	var out [sha256.Size]byte
	copy(out[:], k)
	return out
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signHex returns hex(HMAC-SHA256(key, stringToSign)).
func signHex(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

// sha256Hex returns hex(sha256(s)).
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signaturesEqual compares a computed lower-case hex signature with the
// client's in constant time (for equal lengths).
func signaturesEqual(computed, provided string) bool {
	return subtle.ConstantTimeCompare([]byte(computed), []byte(provided)) == 1
}

// isHex64 reports whether s is 64 hex digits of either case.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// PolicySignature is the SigV4 signature of a browser form's policy (a
// POST upload): hex(HMAC-SHA256(signing key, the base64 policy)), with
// the key of secret for the credential scope date/region/service.
func PolicySignature(secret, date, region, service, policy string) string {
	k := deriveKey(secret, date, region, service)
	return signHex(k[:], policy)
}
