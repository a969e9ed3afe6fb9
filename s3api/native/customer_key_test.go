package native

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/sse"
)

// ociKeyHeaders are the three opc-sse-customer-* headers for key.
func ociKeyHeaders(key []byte) http.Header {
	sum := sha256.Sum256(key)
	h := http.Header{}
	h.Set("opc-sse-customer-algorithm", "AES256")
	h.Set("opc-sse-customer-key", base64.StdEncoding.EncodeToString(key))
	h.Set("opc-sse-customer-key-sha256", base64.StdEncoding.EncodeToString(sum[:]))
	return h
}

func TestCustomerKeyHeaders(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	good := ociKeyHeaders(key)
	ck, err := sse.CustomerKeyFromOCIHeaders(good)
	if err != nil || ck == nil {
		t.Fatalf("good headers: %v %v", ck, err)
	}
	out := http.Header{}
	sse.SetOCIResponseHeaders(out, ck)
	if out.Get("opc-sse-customer-key-sha256") != good.Get("opc-sse-customer-key-sha256") || out.Get("opc-sse-customer-algorithm") != "AES256" {
		t.Errorf("echoed %v", out)
	}
	if ck, err := sse.CustomerKeyFromOCIHeaders(http.Header{}); ck != nil || err != nil {
		t.Errorf("no headers: %v %v", ck, err)
	}
	for name, edit := range map[string]func(h http.Header){
		"no algorithm":  func(h http.Header) { h.Del("opc-sse-customer-algorithm") },
		"other algo":    func(h http.Header) { h.Set("opc-sse-customer-algorithm", "AES128") },
		"no key":        func(h http.Header) { h.Del("opc-sse-customer-key") },
		"short key":     func(h http.Header) { h.Set("opc-sse-customer-key", base64.StdEncoding.EncodeToString(key[:16])) },
		"no sha256":     func(h http.Header) { h.Del("opc-sse-customer-key-sha256") },
		"wrong sha256":  func(h http.Header) { h.Set("opc-sse-customer-key-sha256", base64.StdEncoding.EncodeToString(key)) },
		"S3's md5 name": func(h http.Header) { h.Del("opc-sse-customer-key-sha256"); h.Set(sse.HeaderKeyMD5, ck.KeyMD5()) },
	} {
		h := good.Clone()
		edit(h)
		_, err := sse.CustomerKeyFromOCIHeaders(h)
		if e := toError(err); err == nil || e.Code != codeInvalidParameter {
			t.Errorf("%s: %v, want InvalidParameter", name, err)
		}
	}
}

func TestCustomerKeyAllowed(t *testing.T) {
	ops := opTable()
	s := &Server{cfg: Config{}}
	open := &Server{cfg: Config{SSECTransport: sse.Transport{AllowInsecure: true}}}
	r := httptest.NewRequest(http.MethodPut, "/n/ns/b/b/o/x", nil)
	r.Header = ociKeyHeaders(make([]byte, 32))
	if err := s.customerKeyAllowed(r, ops[opPutObject]); toError(err).Code != codeInvalidParameter {
		t.Errorf("SSE-C over plain HTTP: %v, want InvalidParameter", err)
	}
	for op, row := range ops {
		err := open.customerKeyAllowed(r, row)
		switch {
		case row.customerKey && err != nil:
			t.Errorf("%s refuses SSE-C: %v", row.name, err)
		case !row.customerKey && toError(err).Code != codeNotImplemented:
			t.Errorf("%s (op %d) takes SSE-C headers it ignores: %v", row.name, op, err)
		}
	}
	plain := httptest.NewRequest(http.MethodGet, "/n/ns/b/b/o/x", nil)
	for _, row := range ops {
		if err := s.customerKeyAllowed(plain, row); err != nil {
			t.Errorf("%s without SSE-C headers: %v", row.name, err)
		}
	}
}

func TestPutCondition(t *testing.T) {
	v := &cairnpb.ObjectVersion{Etag: "abc"}
	for _, tc := range []struct {
		match, noneMatch string
		want             *cairnpb.WriteCondition
		code             Code
		holdsFor         []*cairnpb.ObjectVersion
	}{
		{holdsFor: []*cairnpb.ObjectVersion{nil, v}},
		{noneMatch: "*", want: &cairnpb.WriteCondition{IfNoneMatch: true}, holdsFor: []*cairnpb.ObjectVersion{nil}},
		{match: `"ABC"`, want: &cairnpb.WriteCondition{IfMatchEtag: "abc"}, holdsFor: []*cairnpb.ObjectVersion{v}},
		{match: "*", want: &cairnpb.WriteCondition{IfMatchAny: true}, holdsFor: []*cairnpb.ObjectVersion{v}},
		{noneMatch: "abc", code: codeInvalidParameter},
		{match: "abc", noneMatch: "*", code: codeInvalidParameter},
	} {
		h := http.Header{}
		if tc.match != "" {
			h.Set("If-Match", tc.match)
		}
		if tc.noneMatch != "" {
			h.Set("If-None-Match", tc.noneMatch)
		}
		cond, err := putCondition(h)
		if tc.code != (Code{}) {
			if toError(err).Code != tc.code {
				t.Errorf("%q/%q: %v, want %s", tc.match, tc.noneMatch, err, tc.code.Name)
			}
			continue
		}
		if err != nil || !proto.Equal(cond, tc.want) {
			t.Errorf("%q/%q: %v %v, want %v", tc.match, tc.noneMatch, cond, err, tc.want)
		}
		for _, cur := range []*cairnpb.ObjectVersion{nil, v} {
			want := false
			for _, ok := range tc.holdsFor {
				want = want || ok == cur
			}
			if got := conditionHolds(cond, cur); got != want {
				t.Errorf("%q/%q on %v: holds %v, want %v", tc.match, tc.noneMatch, cur, got, want)
			}
		}
	}
}
