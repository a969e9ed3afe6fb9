package keyring

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func hexKey(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, KeySize)) }

func TestParseForms(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, KeySize)
	single, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	fromHex, err := Parse([]byte("  " + hexKey(7) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if single.Default() != fromHex.Default() || !strings.HasPrefix(single.Default(), "mk-") || len(single.IDs()) != 1 {
		t.Fatalf("raw %s, hex %s", single.Default(), fromHex.Default())
	}
	multi, err := Parse([]byte(fmt.Sprintf("# keys\n\nold %s\nnew %s\n%s\n", hexKey(7), hexKey(8), hexKey(9))))
	if err != nil {
		t.Fatal(err)
	}
	ids := multi.IDs()
	if len(ids) != 3 || ids[0] != "old" || ids[1] != "new" || !strings.HasPrefix(ids[2], "mk-") || multi.Default() != "old" {
		t.Fatalf("ids %v default %s", ids, multi.Default())
	}
	// A key keeps answering to its derived ID under an explicit one.
	if c, ok := multi.Canonical(single.Default()); !ok || c != "old" {
		t.Fatalf("derived ID of old resolves to %q %v", c, ok)
	}
	if _, ok := multi.Canonical("nope"); ok || multi.Has("nope") {
		t.Fatal("unknown ID resolved")
	}
	if strings.Contains(multi.String(), hexKey(7)) {
		t.Fatal("String shows key material")
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"comments only":  "# nothing\n",
		"short":          hexKey(1)[:62],
		"not hex":        strings.Repeat("zz", KeySize),
		"three fields":   "a b " + hexKey(1),
		"bad id":         "a/b " + hexKey(1),
		"duplicate id":   "a " + hexKey(1) + "\na " + hexKey(2),
		"duplicate key":  "a " + hexKey(1) + "\nb " + hexKey(1),
		"id of derived":  "x " + hexKey(1) + "\n" + hexKey(1),
		"31 raw bytes":   string(bytes.Repeat([]byte{1}, KeySize-1)),
		"too long an id": strings.Repeat("i", maxIDLen+1) + " " + hexKey(1),
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalidKeyring) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWrapUnwrap(t *testing.T) {
	r, err := Parse([]byte("k1 " + hexKey(1) + "\nk2 " + hexKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	aad := EnvelopeAAD("alg", 65536, []byte{1, 2, 3, 4}, "k1", nil)
	w, err := r.Wrap("k1", secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, secret) {
		t.Fatal("wrapped bytes contain the secret")
	}
	got, err := r.Unwrap("k1", w, aad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unwrap: %v", err)
	}
	w2, _ := r.Wrap("k1", secret, aad)
	if bytes.Equal(w, w2) {
		t.Fatal("two wraps are identical: nonce reused")
	}
	// Another key, other additional data, or altered bytes do not unwrap.
	if _, err := r.Unwrap("k2", w, aad); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("other key: %v", err)
	}
	if _, err := r.Unwrap("k1", w, EnvelopeAAD("alg", 65536, []byte{1, 2, 3, 5}, "k1", nil)); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("other aad: %v", err)
	}
	bad := bytes.Clone(w)
	bad[len(bad)-1] ^= 1
	if _, err := r.Unwrap("k1", bad, aad); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := r.Unwrap("k1", w[:5], aad); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("short: %v", err)
	}
	if _, err := r.Wrap("k3", secret, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := r.Unwrap("k3", w, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestRewrapAcrossKeyrings: what a keyring of old and new key re-wraps
// opens with a keyring of the new key alone, the old one removed.
func TestRewrapAcrossKeyrings(t *testing.T) {
	both, err := Parse([]byte(hexKey(1) + "\nnew " + hexKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := Parse([]byte("new " + hexKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	old := both.Default()
	secret := []byte("secret of an access key")
	w, err := both.Wrap(old, secret, SecretAAD("AK1", old))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onlyNew.Unwrap(old, w, SecretAAD("AK1", old)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old key removed: %v", err)
	}
	plain, err := both.Unwrap(old, w, SecretAAD("AK1", old))
	if err != nil {
		t.Fatal(err)
	}
	w2, err := both.Wrap("new", plain, SecretAAD("AK1", "new"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := onlyNew.Unwrap("new", w2, SecretAAD("AK1", "new"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("re-wrapped: %v", err)
	}
	// A sealed secret is bound to its access key ID.
	if _, err := onlyNew.Unwrap("new", w2, SecretAAD("AK2", "new")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("other access key: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	a, b := Generate(), Generate()
	if bytes.Equal(a, b) {
		t.Fatal("two generated keys are equal")
	}
	r, err := Parse(a)
	if err != nil || len(r.IDs()) != 1 {
		t.Fatalf("generated key: %v", err)
	}
}
