package sse

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cairn-store/cairn/meta/keyring"
)

func keyringFile(lines ...string) []byte {
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	return b
}

func hexOf(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, KeySize)) }

// TestMasterKeyRotationRewrap: data sealed under the old key and re-wrapped
// the way meta re-wraps (keyring.EnvelopeAAD, no data touched) opens with
// a keyring that holds the new key only; new envelopes name the active key.
func TestMasterKeyRotationRewrap(t *testing.T) {
	both, err := ParseMasterKey(keyringFile(hexOf(1), "k2 "+hexOf(2)))
	if err != nil {
		t.Fatal(err)
	}
	legacy := masterKey(t, 1)
	if both.ID() != legacy.ID() {
		t.Fatalf("a bare key line keeps the single-key ID: %s vs %s", both.ID(), legacy.ID())
	}
	// Data written by the single-key gateway opens with the keyring.
	env, c, err := NewEnvelope(legacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(4, 2*PackageSize+5)
	sealed := seal(t, c, plain)
	if _, err := env.Open(both, nil); err != nil {
		t.Fatal(err)
	}

	if err := both.SetActive("nope"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("SetActive(unknown): %v", err)
	}
	if err := both.SetActive("k2"); err != nil || both.ID() != "k2" {
		t.Fatalf("SetActive: %v (%s)", err, both.ID())
	}
	fresh, _, err := NewEnvelope(both, nil)
	if err != nil || fresh.KeyID != "k2" {
		t.Fatalf("new envelope under %q: %v", fresh.KeyID, err)
	}

	// Re-wrap as meta does, then drop the old key.
	ring := both.Keyring()
	aad := func(id string) []byte {
		return keyring.EnvelopeAAD(env.Algorithm, env.PackageSize, env.NoncePrefix, id, env.Check.Salt)
	}
	dataKey, err := ring.Unwrap(env.KeyID, env.WrappedKey, aad(env.KeyID))
	if err != nil {
		t.Fatal(err)
	}
	rewrapped := *env
	rewrapped.KeyID = "k2"
	if rewrapped.WrappedKey, err = ring.Wrap("k2", dataKey, aad("k2")); err != nil {
		t.Fatal(err)
	}
	onlyNew, err := ParseMasterKey(keyringFile("k2 " + hexOf(2)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Open(onlyNew, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old envelope without the old key: %v", err)
	}
	c2, err := rewrapped.Open(onlyNew, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open(c2, sealed, int64(len(plain)), 0, int64(len(plain))); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("re-wrapped data: %v", err)
	}
	// The key ID is bound: relabelling without re-wrapping fails.
	relabelled := *env
	relabelled.KeyID = "k2"
	if _, err := relabelled.Open(onlyNew, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("relabelled envelope: %v", err)
	}
}
