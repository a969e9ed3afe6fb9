package sse

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func masterKey(t *testing.T, b byte) *MasterKey {
	t.Helper()
	mk, err := NewMasterKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func customerKey(t *testing.T, b byte) *CustomerKey {
	t.Helper()
	ck, err := NewCustomerKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func TestParseMasterKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	a, err := ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseMasterKey([]byte("  " + hex.EncodeToString(raw) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != b.ID() || !strings.HasPrefix(a.ID(), "mk-") {
		t.Fatalf("IDs %q %q", a.ID(), b.ID())
	}
	if masterKey(t, 1).ID() == masterKey(t, 2).ID() {
		t.Fatal("different keys, same ID")
	}
	for _, bad := range [][]byte{nil, raw[:31], []byte(strings.Repeat("zz", 32)), []byte(hex.EncodeToString(raw[:31]))} {
		if _, err := ParseMasterKey(bad); !errors.Is(err, ErrInvalidMasterKey) {
			t.Errorf("ParseMasterKey(%d bytes): %v", len(bad), err)
		}
	}
	gen := GenerateMasterKey()
	if _, err := ParseMasterKey(gen); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if fmt.Sprint(a) != "master key "+a.ID() {
		t.Fatalf("String: %v", a)
	}
}

func TestEnvelopeMasterKey(t *testing.T) {
	mk := masterKey(t, 1)
	env, c, err := NewEnvelope(mk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.KeyID != mk.ID() || !env.Check.Empty() || env.PackageSize != PackageSize || env.Algorithm != Algorithm {
		t.Fatalf("envelope %+v", env)
	}
	plain := randomBytes(9, 3*PackageSize+1)
	sealed := seal(t, c, plain)
	c2, err := env.Open(mk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open(c2, sealed, int64(len(plain)), 0, int64(len(plain))); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("reopened: %v", err)
	}
	if _, err := env.Open(masterKey(t, 2), nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("other master key: %v", err)
	}
	if _, err := env.Open(mk, customerKey(t, 3)); !errors.Is(err, ErrInvalidEncryptionParameters) {
		t.Fatalf("customer key for master-key data: %v", err)
	}
	// Every parameter is bound to the wrapped key.
	for name, mutate := range map[string]func(e *Envelope){
		"wrapped key":  func(e *Envelope) { e.WrappedKey[20] ^= 1 },
		"nonce prefix": func(e *Envelope) { e.NoncePrefix[0] ^= 1 },
		"package size": func(e *Envelope) { e.PackageSize = 1024 },
		"short key":    func(e *Envelope) { e.WrappedKey = e.WrappedKey[:10] },
	} {
		e := *env
		e.WrappedKey, e.NoncePrefix = bytes.Clone(env.WrappedKey), bytes.Clone(env.NoncePrefix)
		mutate(&e)
		if _, err := e.Open(mk, nil); !errors.Is(err, ErrTampered) {
			t.Errorf("%s altered: %v", name, err)
		}
	}
	e := *env
	e.Algorithm = "rot13"
	if _, err := e.Open(mk, nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown algorithm: %v", err)
	}
}

func TestEnvelopeCustomerKey(t *testing.T) {
	mk, ck := masterKey(t, 1), customerKey(t, 5)
	env, c, err := NewEnvelope(mk, ck)
	if err != nil {
		t.Fatal(err)
	}
	if env.KeyID != "" || env.Check.Empty() || len(env.Check.Salt) != saltSize {
		t.Fatalf("envelope %+v", env)
	}
	ct, tags := c.SealDetached([]byte("hello, customer"))
	// The master key alone opens nothing.
	if _, err := env.Open(mk, nil); !errors.Is(err, ErrSSEEncryptedObject) {
		t.Fatalf("no customer key: %v", err)
	}
	if _, err := env.Open(mk, customerKey(t, 6)); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("wrong customer key: %v", err)
	}
	c2, err := env.Open(nil, customerKey(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c2.OpenDetached(&out, ct, tags, 0, int64(len(ct))); err != nil || out.String() != "hello, customer" {
		t.Fatalf("reopened: %q %v", out.String(), err)
	}
	etag := ck.ETag(env.Check.Salt, []byte("md5"))
	if etag != customerKey(t, 5).ETag(env.Check.Salt, []byte("md5")) || len(etag) != 32 {
		t.Fatal("ETag is not stable for a version")
	}
	env2, _, _ := NewEnvelope(mk, ck)
	if etag == ck.ETag(env2.Check.Salt, []byte("md5")) || etag == customerKey(t, 6).ETag(env.Check.Salt, []byte("md5")) {
		t.Fatal("ETags of two versions, or two keys, agree")
	}
	// A salt swapped in from elsewhere breaks both the check and the wrap.
	e := *env
	e.Check = NewKeyCheck(ck)
	if _, err := e.Open(nil, ck); !errors.Is(err, ErrTampered) {
		t.Fatalf("other salt: %v", err)
	}
}

func TestCustomerKeyIsNeverPrinted(t *testing.T) {
	raw := bytes.Repeat([]byte{0x5a}, KeySize)
	ck, _ := NewCustomerKey(raw)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", ck)
	for _, s := range []string{fmt.Sprint(ck), fmt.Sprintf("%v %+v %s", ck, ck, ck), logs.String()} {
		if strings.Contains(s, "Wlpa") || strings.Contains(s, hex.EncodeToString(raw[:4])) || !strings.Contains(s, "redacted") {
			t.Fatalf("key leaks into %q", s)
		}
	}
	if !ck.Equal(customerKey(t, 0x5a)) || ck.Equal(customerKey(t, 1)) || ck.Equal(nil) {
		t.Fatal("Equal")
	}
}
