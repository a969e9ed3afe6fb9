package keyring

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

// maxIDLen bounds an operator-chosen key ID.
const maxIDLen = 64

const (
	idLabel     = "cairn-master-key-id-v1"
	wrapLabel   = "cairn-sse-wrap-v1"
	secretLabel = "cairn-access-key-secret-v1"
)

var (
	// ErrInvalidKeyring: a keyring file or key that cannot be read (wrong
	// size, not hex, a bad or repeated ID, no key at all).
	ErrInvalidKeyring = errors.New("keyring: invalid master key")
	// ErrUnknownKey: a key ID that is not in the keyring.
	ErrUnknownKey = errors.New("keyring: master key not in the keyring")
	// ErrUnwrap: wrapped bytes that do not authenticate under the named key
	// and additional data (tampered, or bound to something else).
	ErrUnwrap = errors.New("keyring: wrapped secret does not unwrap")
)

// key is one master key.
type key struct {
	id      string // as configured, or the derived ID
	derived string // always the derived ID
	aead    cipher.AEAD
}

// Keyring is a set of master keys by ID. It is immutable and safe for
// concurrent use.
type Keyring struct {
	keys []*key          // in configuration order; keys[0] is the default
	byID map[string]*key // configured and derived IDs
}

// Single returns the keyring of one key, raw (32 bytes), under its derived
// ID.
func Single(raw []byte) (*Keyring, error) {
	r := &Keyring{byID: map[string]*key{}}
	if err := r.add("", raw); err != nil {
		return nil, err
	}
	return r, nil
}

// Parse reads a keyring in either form the package doc describes.
func Parse(b []byte) (*Keyring, error) {
	if len(b) == KeySize {
		return Single(b)
	}
	r := &Keyring{byID: map[string]*key{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		var id, hx string
		switch len(f) {
		case 1:
			hx = f[0]
		case 2:
			id, hx = f[0], f[1]
			if err := validID(id); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		default:
			return nil, fmt.Errorf("%w: line %d: want \"ID HEX\" or \"HEX\"", ErrInvalidKeyring, line)
		}
		if len(hx) != 2*KeySize {
			return nil, fmt.Errorf("%w: line %d: a key is %d hex digits, got %d characters", ErrInvalidKeyring, line, 2*KeySize, len(hx))
		}
		raw := make([]byte, KeySize)
		if _, err := hex.Decode(raw, []byte(hx)); err != nil {
			return nil, fmt.Errorf("%w: line %d: not hex", ErrInvalidKeyring, line)
		}
		err := r.add(id, raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
	}
	if len(r.keys) == 0 {
		return nil, fmt.Errorf("%w: no key found (want 32 raw bytes, 64 hex digits, or \"ID HEX\" lines)", ErrInvalidKeyring)
	}
	return r, nil
}

func validID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: key ID %q must be 1 to %d characters", ErrInvalidKeyring, id, maxIDLen)
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("%w: key ID %q: use letters, digits, '-', '_' and '.'", ErrInvalidKeyring, id)
		}
	}
	return nil
}

// add adds raw under id ("" for its derived ID).
func (r *Keyring) add(id string, raw []byte) error {
	if len(raw) != KeySize {
		return fmt.Errorf("%w: a key is %d bytes, got %d", ErrInvalidKeyring, KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(idLabel))
	k := &key{derived: "mk-" + hex.EncodeToString(m.Sum(nil)[:8]), aead: aead}
	k.id = id
	if id == "" {
		k.id = k.derived
	}
	for _, name := range []string{k.id, k.derived} {
		if other, ok := r.byID[name]; ok {
			if other.derived == k.derived {
				return fmt.Errorf("%w: the key of %q is listed twice", ErrInvalidKeyring, k.id)
			}
			return fmt.Errorf("%w: key ID %q is used twice", ErrInvalidKeyring, name)
		}
	}
	r.keys = append(r.keys, k)
	r.byID[k.id] = k
	r.byID[k.derived] = k
	return nil
}

// Generate returns a fresh master key as 64 hex digits and a newline: a
// keyring file of one key.
func Generate() []byte {
	raw := make([]byte, KeySize)
	_, _ = rand.Read(raw)
	out := append([]byte(hex.EncodeToString(raw)), '\n')
	clear(raw)
	return out
}

// Default returns the ID of the first key listed.
func (r *Keyring) Default() string { return r.keys[0].id }

// IDs returns the keys' IDs in configuration order (derived IDs of keys
// with an explicit ID are not listed).
func (r *Keyring) IDs() []string {
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.id
	}
	return out
}

// Canonical returns the ID a key is listed under, given that ID or its
// derived ID; ok is false when no key answers to id.
func (r *Keyring) Canonical(id string) (string, bool) {
	k, ok := r.byID[id]
	if !ok {
		return "", false
	}
	return k.id, true
}

// Has reports whether a key answers to id.
func (r *Keyring) Has(id string) bool {
	_, ok := r.byID[id]
	return ok
}

// String names the keyring by its key IDs.
func (r *Keyring) String() string { return "keyring [" + strings.Join(r.IDs(), " ") + "]" }

func (r *Keyring) get(id string) (*key, error) {
	k, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q (have %s)", ErrUnknownKey, id, strings.Join(r.IDs(), ", "))
	}
	return k, nil
}

// Wrap seals secret under the key id, bound to aad: nonce || ciphertext.
func (r *Keyring) Wrap(id string, secret, aad []byte) ([]byte, error) {
	k, err := r.get(id)
	if err != nil {
		return nil, err
	}
	ns := k.aead.NonceSize()
	nonce := make([]byte, ns, ns+len(secret)+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, secret, aad), nil
}

// Unwrap opens what Wrap sealed under the key id with the same aad.
func (r *Keyring) Unwrap(id string, wrapped, aad []byte) ([]byte, error) {
	k, err := r.get(id)
	if err != nil {
		return nil, err
	}
	ns := k.aead.NonceSize()
	if len(wrapped) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes are too short", ErrUnwrap, len(wrapped))
	}
	out, err := k.aead.Open(nil, wrapped[:ns], wrapped[ns:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: under %q", ErrUnwrap, id)
	}
	return out, nil
}

// EnvelopeAAD is the additional data that binds a wrapped data key to its
// envelope: the algorithm, package size, nonce prefix, the ID of the key
// that wraps it ("" for SSE-C) and the SSE-C salt.
func EnvelopeAAD(algorithm string, packageSize int, noncePrefix []byte, keyID string, salt []byte) []byte {
	b := make([]byte, 0, len(wrapLabel)+len(algorithm)+len(noncePrefix)+len(keyID)+len(salt)+8)
	b = append(b, wrapLabel...)
	b = append(b, 0)
	b = append(b, algorithm...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(packageSize))
	b = append(b, noncePrefix...)
	b = append(b, keyID...)
	b = append(b, 0)
	return append(b, salt...)
}

// SecretAAD is the additional data that binds a sealed access key secret
// to its access key ID and the master key that seals it.
func SecretAAD(accessKeyID, keyID string) []byte {
	b := make([]byte, 0, len(secretLabel)+len(accessKeyID)+len(keyID)+2)
	b = append(b, secretLabel...)
	b = append(b, 0)
	b = append(b, accessKeyID...)
	b = append(b, 0)
	return append(b, keyID...)
}
