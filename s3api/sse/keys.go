package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/cairn-store/cairn/meta/keyring"
)

// Algorithm names the package format described in the package doc.
const Algorithm = "cairn-aes256gcm-v1"

const (
	saltSize      = 16
	checkLabel    = "cairn-sse-c-check-v1"
	customerLabel = "cairn-sse-c-wrap-v1"
	etagLabel     = "cairn-sse-c-etag-v1"
)

// MasterKey is the cluster's keyring of master keys (key encryption keys)
// and which of them wraps new data keys: the active key. Envelopes record
// the ID of the key that wrapped them, so data wrapped by any key of the
// keyring opens, and a rotation only changes the active key.
type MasterKey struct {
	ring   *keyring.Keyring
	active atomic.Pointer[string]
}

// NewMasterKey returns the master key of raw (32 bytes) alone. Its ID is
// derived from the key (an HMAC, so it reveals nothing of it).
func NewMasterKey(raw []byte) (*MasterKey, error) {
	r, err := keyring.Single(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMasterKey, err)
	}
	return NewMasterKeyring(r), nil
}

// NewMasterKeyring returns the master keys of r, its default key active.
func NewMasterKeyring(r *keyring.Keyring) *MasterKey {
	m := &MasterKey{ring: r}
	id := r.Default()
	m.active.Store(&id)
	return m
}

// ParseMasterKey reads master keys as kept in a file or the environment:
// 32 raw bytes, 64 hex digits (surrounding white space ignored), or a
// keyring of "ID HEX" lines (see package meta/keyring).
func ParseMasterKey(b []byte) (*MasterKey, error) {
	r, err := keyring.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMasterKey, err)
	}
	return NewMasterKeyring(r), nil
}

// GenerateMasterKey returns a fresh master key as 64 hex digits and a
// newline, the form ParseMasterKey reads.
func GenerateMasterKey() []byte { return keyring.Generate() }

// ID returns the ID of the active key, which wraps new data keys.
func (m *MasterKey) ID() string { return *m.active.Load() }

// SetActive makes the key id (or the key whose derived ID it is) wrap new
// data keys. A key not in the keyring is refused with ErrUnknownKey.
func (m *MasterKey) SetActive(id string) error {
	c, ok := m.ring.Canonical(id)
	if !ok {
		return fmt.Errorf("%w: master key %q is not in this gateway's %s", ErrUnknownKey, id, m.ring)
	}
	m.active.Store(&c)
	return nil
}

// Keyring returns the keys.
func (m *MasterKey) Keyring() *keyring.Keyring { return m.ring }

// String names the active key without revealing it.
func (m *MasterKey) String() string { return "master key " + m.ID() }

// CustomerKey is an SSE-C key as a request carries it. It is never stored;
// String and LogValue redact it.
type CustomerKey struct {
	key [KeySize]byte
	md5 string
}

// NewCustomerKey returns the customer key raw (32 bytes).
func NewCustomerKey(raw []byte) (*CustomerKey, error) {
	if len(raw) != KeySize {
		return nil, ErrInvalidCustomerKey
	}
	k := &CustomerKey{}
	copy(k.key[:], raw)
	sum := md5.Sum(raw)
	k.md5 = base64.StdEncoding.EncodeToString(sum[:])
	return k, nil
}

// KeyMD5 returns the base64 MD5 of the key, which S3 responses echo.
func (k *CustomerKey) KeyMD5() string { return k.md5 }

// KeySHA256 returns the base64 SHA-256 of the key, which the native API's
// requests send and its responses echo.
func (k *CustomerKey) KeySHA256() string {
	sum := sha256.Sum256(k.key[:])
	return base64.StdEncoding.EncodeToString(sum[:])
}

// String redacts the key.
func (k *CustomerKey) String() string { return "SSE-C key (redacted)" }

// LogValue redacts the key in structured logs.
func (k *CustomerKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ETag returns the ETag of SSE-C data sealed under this key whose
// envelope has the given salt and whose plaintext MD5 is md5: the first 16
// bytes of HMAC-SHA256(key, label || salt || md5), in hex. It looks like an
// MD5 and is stable for the version, but tells nothing about the plaintext
// to anyone without the key, and differs between versions of the same
// bytes.
func (k *CustomerKey) ETag(salt, md5 []byte) string {
	m := hmac.New(sha256.New, k.key[:])
	m.Write([]byte(etagLabel))
	m.Write(salt)
	m.Write(md5)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Equal reports whether two customer keys are the same key.
func (k *CustomerKey) Equal(o *CustomerKey) bool {
	return k != nil && o != nil && hmac.Equal(k.key[:], o.key[:])
}

// KeyCheck is what is kept to recognise a customer key: a random salt and
// HMAC-SHA256(key, label || salt). The key cannot be recovered from it.
type KeyCheck struct {
	Salt []byte
	MAC  []byte
}

// NewKeyCheck returns a fresh check for k.
func NewKeyCheck(k *CustomerKey) KeyCheck {
	salt := make([]byte, saltSize)
	_, _ = rand.Read(salt)
	return KeyCheck{Salt: salt, MAC: k.mac(salt)}
}

func (k *CustomerKey) mac(salt []byte) []byte {
	m := hmac.New(sha256.New, k.key[:])
	m.Write([]byte(checkLabel))
	m.Write(salt)
	return m.Sum(nil)
}

// Empty reports a check that holds nothing (the data is not SSE-C).
func (c KeyCheck) Empty() bool { return len(c.MAC) == 0 }

// Verify checks a request's key k against the check: ErrSSEEncryptedObject
// when k is nil, ErrAccessDenied when it is another key. An empty check
// (data not SSE-C encrypted) accepts only a nil key, else it is
// ErrInvalidEncryptionParameters.
func (c KeyCheck) Verify(k *CustomerKey) error {
	switch {
	case c.Empty() && k == nil:
		return nil
	case c.Empty():
		return ErrInvalidEncryptionParameters
	case k == nil:
		return ErrSSEEncryptedObject
	case !hmac.Equal(k.mac(c.Salt), c.MAC):
		return ErrAccessDenied
	}
	return nil
}

// Envelope is what a version keeps, next to its sealed data, to decrypt it.
type Envelope struct {
	Algorithm   string
	PackageSize int
	NoncePrefix []byte
	// WrappedKey is nonce || AES-256-GCM(key encryption key, data key).
	WrappedKey []byte
	// KeyID names the master key that wrapped the data key; empty for SSE-C.
	KeyID string
	// Check recognises the customer key of SSE-C data; empty otherwise. Its
	// salt also derives the key encryption key.
	Check KeyCheck
}

// NewEnvelope makes a fresh data key and nonce prefix and wraps the key: by
// the master key, or when ck is not nil by a key derived from ck. It
// returns the envelope to keep and the Cipher to seal the data with.
func NewEnvelope(mk *MasterKey, ck *CustomerKey) (*Envelope, *Cipher, error) {
	dataKey := make([]byte, KeySize)
	_, _ = rand.Read(dataKey)
	e := &Envelope{Algorithm: Algorithm, PackageSize: PackageSize, NoncePrefix: make([]byte, PrefixSize)}
	_, _ = rand.Read(e.NoncePrefix)
	if ck != nil {
		e.Check = NewKeyCheck(ck)
		kek, err := ck.kek(e.Check.Salt)
		if err != nil {
			return nil, nil, err
		}
		nonce := make([]byte, kek.NonceSize(), kek.NonceSize()+KeySize+kek.Overhead())
		_, _ = rand.Read(nonce)
		e.WrappedKey = kek.Seal(nonce, nonce, dataKey, e.wrapAAD())
	} else {
		if mk == nil {
			return nil, nil, fmt.Errorf("%w: no master key", ErrUnknownKey)
		}
		e.KeyID = mk.ID()
		var err error
		if e.WrappedKey, err = mk.ring.Wrap(e.KeyID, dataKey, e.wrapAAD()); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
		}
	}
	c, err := newCipher(dataKey, e.NoncePrefix, e.PackageSize)
	if err != nil {
		return nil, nil, err
	}
	return e, c, nil
}

// Open unwraps the data key, with the master key or, for SSE-C data, the
// customer key ck, which it first checks (see KeyCheck.Verify).
func (e *Envelope) Open(mk *MasterKey, ck *CustomerKey) (*Cipher, error) {
	if e.Algorithm != Algorithm {
		return nil, fmt.Errorf("%w: algorithm %q", ErrUnknownKey, e.Algorithm)
	}
	if err := e.Check.Verify(ck); err != nil {
		return nil, err
	}
	if ck == nil {
		if mk == nil || !mk.ring.Has(e.KeyID) {
			return nil, fmt.Errorf("%w: data key wrapped by %q", ErrUnknownKey, e.KeyID)
		}
		dataKey, err := mk.ring.Unwrap(e.KeyID, e.WrappedKey, e.wrapAAD())
		if err != nil {
			return nil, fmt.Errorf("%w: data key does not unwrap", ErrTampered)
		}
		return newCipher(dataKey, e.NoncePrefix, e.PackageSize)
	}
	kek, err := ck.kek(e.Check.Salt)
	if err != nil {
		return nil, err
	}
	ns := kek.NonceSize()
	if len(e.WrappedKey) != ns+KeySize+kek.Overhead() {
		return nil, fmt.Errorf("%w: wrapped key of %d bytes", ErrTampered, len(e.WrappedKey))
	}
	dataKey, err := kek.Open(nil, e.WrappedKey[:ns], e.WrappedKey[ns:], e.wrapAAD())
	if err != nil {
		return nil, fmt.Errorf("%w: data key does not unwrap", ErrTampered)
	}
	return newCipher(dataKey, e.NoncePrefix, e.PackageSize)
}

// wrapAAD binds the envelope's parameters to the wrapped key, so none of
// them can be altered without the unwrap failing.
func (e *Envelope) wrapAAD() []byte {
	return keyring.EnvelopeAAD(e.Algorithm, e.PackageSize, e.NoncePrefix, e.KeyID, e.Check.Salt)
}

// kek derives the key encryption key of SSE-C data from the customer key
// and the envelope's salt.
func (k *CustomerKey) kek(salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, k.key[:], salt, customerLabel, KeySize)
	if err != nil {
		return nil, fmt.Errorf("sse: derive key: %w", err)
	}
	return newGCM(key)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	return aead, nil
}
