package sse

import (
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sseHeaders(prefix, alg string, key []byte, keyMD5 string) http.Header {
	h := http.Header{}
	if alg != "" {
		h.Set(prefix+"server-side-encryption-customer-algorithm", alg)
	}
	if key != nil {
		h.Set(prefix+"server-side-encryption-customer-key", base64.StdEncoding.EncodeToString(key))
	}
	if keyMD5 != "" {
		h.Set(prefix+"server-side-encryption-customer-key-MD5", keyMD5)
	}
	return h
}

func md5b64(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }

func TestCustomerKeyFromHeaders(t *testing.T) {
	key := bytes.Repeat([]byte{9}, KeySize)
	good := md5b64(key)
	for _, tc := range []struct {
		name   string
		h      http.Header
		want   error
		hasKey bool
	}{
		{"none", http.Header{}, nil, false},
		{"valid", sseHeaders("x-amz-", "AES256", key, good), nil, true},
		{"no algorithm", sseHeaders("x-amz-", "", key, good), ErrMissingAlgorithm, false},
		{"other algorithm", sseHeaders("x-amz-", "AES128", key, good), ErrInvalidEncryptionAlgorithm, false},
		{"no key", sseHeaders("x-amz-", "AES256", nil, good), ErrMissingCustomerKey, false},
		{"short key", sseHeaders("x-amz-", "AES256", key[:16], md5b64(key[:16])), ErrInvalidCustomerKey, false},
		{"no md5", sseHeaders("x-amz-", "AES256", key, ""), ErrMissingCustomerKeyMD5, false},
		{"bad md5", sseHeaders("x-amz-", "AES256", key, md5b64([]byte("x"))), ErrCustomerKeyMD5Mismatch, false},
	} {
		k, err := CustomerKeyFromHeaders(tc.h)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) || (k != nil) != tc.hasKey {
			t.Errorf("%s: key %v, err %v; want %v", tc.name, k, err, tc.want)
		}
		// The copy-source twins parse the same way, and only them.
		src := http.Header{}
		for name, v := range tc.h {
			src.Set("x-amz-copy-source-"+strings.TrimPrefix(name, "X-Amz-"), v[0])
		}
		k2, err2 := SourceKeyFromCopyHeaders(src)
		if !errors.Is(err2, tc.want) || (k2 != nil) != tc.hasKey {
			t.Errorf("%s (copy source): key %v, err %v", tc.name, k2, err2)
		}
		if k3, err3 := CustomerKeyFromHeaders(src); k3 != nil || err3 != nil {
			t.Errorf("%s: copy-source headers read as the object's", tc.name)
		}
	}
	k, _ := CustomerKeyFromHeaders(sseHeaders("x-amz-", "AES256", key, good))
	h := http.Header{}
	SetResponseHeaders(h, k)
	if h.Get("x-amz-server-side-encryption-customer-algorithm") != "AES256" || h.Get("x-amz-server-side-encryption-customer-key-MD5") != good || h.Get(HeaderKey) != "" {
		t.Fatalf("response headers %v", h)
	}
}

func TestCheckServerSide(t *testing.T) {
	ck, _ := NewCustomerKey(bytes.Repeat([]byte{1}, KeySize))
	for _, tc := range []struct {
		v    string
		ck   *CustomerKey
		want error
	}{
		{"", nil, nil}, {"AES256", nil, nil}, {"aws:kms", nil, ErrServerSideNotImplemented},
		{"AES256", ck, ErrServerSideWithCustomerKey}, {"", ck, nil},
	} {
		h := http.Header{}
		if tc.v != "" {
			h.Set(HeaderServerSide, tc.v)
		}
		if err := CheckServerSide(h, tc.ck); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%q with key %v: %v, want %v", tc.v, tc.ck != nil, err, tc.want)
		}
	}
}

func TestTransport(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.7 ,::1")
	if err != nil || len(proxies) != 3 {
		t.Fatalf("%v %v", proxies, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/99"); err == nil {
		t.Fatal("bad prefix accepted")
	}
	req := func(remote, proto string, ssec, copySource bool) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/b/k", nil)
		r.RemoteAddr = remote
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		if ssec {
			r.Header.Set(HeaderAlgorithm, "AES256")
		}
		if copySource {
			r.Header.Set("x-amz-copy-source-server-side-encryption-customer-key-MD5", "x")
		}
		return r
	}
	strict := Transport{TrustedProxies: proxies}
	for _, tc := range []struct {
		name string
		tr   Transport
		r    *http.Request
		ok   bool
	}{
		{"no SSE-C", strict, req("1.2.3.4:5", "", false, false), true},
		{"plain HTTP", strict, req("1.2.3.4:5", "", true, false), false},
		{"copy source over plain HTTP", strict, req("1.2.3.4:5", "", false, true), false},
		{"allowed insecure", Transport{AllowInsecure: true}, req("1.2.3.4:5", "", true, false), true},
		{"trusted proxy https", strict, req("10.1.2.3:5", "https", true, false), true},
		{"trusted proxy list", strict, req("192.168.1.7:5", "HTTPS, http", true, false), true},
		{"trusted proxy v6", strict, req("[::1]:5", "https", true, false), true},
		{"trusted proxy http", strict, req("10.1.2.3:5", "http", true, false), false},
		{"untrusted peer https", strict, req("11.1.2.3:5", "https", true, false), false},
	} {
		err := tc.tr.Check(tc.r)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInsecureSSECustomerRequest)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	r := req("1.2.3.4:5", "", true, false)
	r.TLS = &tls.ConnectionState{}
	if err := strict.Check(r); err != nil {
		t.Errorf("TLS: %v", err)
	}
}
