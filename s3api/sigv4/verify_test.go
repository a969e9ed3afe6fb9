package sigv4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// awkwardPaths are escaped request paths (as an S3 client puts them on the
// wire) for keys that stress the canonical URI.
var awkwardPaths = []struct{ name, escaped, decoded string }{
	{"plain", "/bucket/simple.txt", "/bucket/simple.txt"},
	{"spaces", "/bucket/a%20b/c%20%20d", "/bucket/a b/c  d"},
	{"unicode", "/bucket/%C3%BCn%C3%AFc%C3%B6d%C3%A9/%E6%97%A5%E6%9C%AC.txt", "/bucket/ünïcödé/日本.txt"},
	{"plus equals encoded", "/bucket/a%2Bb%3Dc%26d", "/bucket/a+b=c&d"},
	{"plus equals raw", "/bucket/a+b=c", "/bucket/a+b=c"},
	{"tilde", "/bucket/~user/x~y", "/bucket/~user/x~y"},
	{"encoded slash", "/bucket/a%2Fb%2F", "/bucket/a/b/"},
	{"literal percent", "/bucket/100%25%252F", "/bucket/100%%2F"},
	{"reserved", "/bucket/%21%24%27%28%29%2A%2C%3B%3A%40%5B%5D", "/bucket/!$'()*,;:@[]"},
	{"raw sub-delims", "/bucket/!$'()*,;:@", "/bucket/!$'()*,;:@"},
	{"question and hash", "/bucket/what%3F%23frag", "/bucket/what?#frag"},
	{"dot segments kept", "/bucket/a/./b/../c//d", "/bucket/a/./b/../c//d"},
	{"bucket only", "/bucket", "/bucket"},
	{"root", "/", "/"},
}

var awkwardQueries = []string{
	"",
	"uploads",
	"list-type=2&prefix=a%20b&delimiter=%2F&max-keys=10",
	"versionId=3%2FL4kqtJl40Nr8X8gdRQBpUMLUo&partNumber=7",
	"prefix=%E6%97%A5%E6%9C%AC&encoding-type=url",
	"tagging=&x-id=PutObjectTagging",
	"b=2&a=3&a=1&a=2",
	"weird%21key=%2A%28%29&tilde=~",
}

// TestSDKSignedRequests signs requests with aws-sdk-go-v2's signer, sends
// them over real HTTP and verifies them server-side.
func TestSDKSignedRequests(t *testing.T) {
	v := newTestVerifier(testNow)
	srv, ch := newVerifyServer(t, v, false)
	for _, method := range []string{"GET", "PUT", "DELETE", "HEAD", "POST"} {
		for _, p := range awkwardPaths {
			for _, q := range awkwardQueries {
				target := srv.URL + p.escaped
				if q != "" {
					target += "?" + q
				}
				var body []byte
				if method == "PUT" || method == "POST" {
					body = []byte("payload for " + p.name)
				}
				r, err := http.NewRequest(method, target, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("X-Amz-Meta-Note", "  several   spaces  here ")
				r.Header.Add("X-Amz-Meta-Multi", "one")
				r.Header.Add("X-Amz-Meta-Multi", "two")
				r.Header.Set("Content-Type", "text/plain")
				sdkSign(t, r, sha256HexOf(body), testRegion, testNow)
				res := send(t, srv, ch, r)
				if res.verifyErr != nil || res.readErr != nil {
					t.Errorf("%s %s?%s: verify %v, read %v", method, p.escaped, q, res.verifyErr, res.readErr)
					continue
				}
				if res.path != p.decoded {
					t.Errorf("%s: server path %q, want %q", p.name, res.path, p.decoded)
				}
				if method != "HEAD" && !bytes.Equal(res.body, body) {
					t.Errorf("%s %s: body %q", method, p.name, res.body)
				}
				if res.id.AccessKey != testAccessKey || res.id.Region != testRegion || res.id.Presigned || !res.id.SignedAt.Equal(testNow) {
					t.Errorf("identity %+v", res.id)
				}
			}
		}
	}
}

// TestEquivalentQueryEncodings re-encodes the wire query of SDK-signed
// requests in equivalent ways; canonicalisation must undo them.
func TestEquivalentQueryEncodings(t *testing.T) {
	v := newTestVerifier(testNow)
	for _, c := range []struct{ signed, wire string }{
		{"prefix=a%20b&delimiter=%2F", "delimiter=/&prefix=a+b"},
		{"prefix=%E6%97%A5", "prefix=%e6%97%a5"},
		{"a=1&b=2", "b=2&&a=1"},
		{"tilde=~x", "tilde=%7Ex"},
	} {
		r, _ := http.NewRequest("GET", "http://cairn.test/bucket?"+c.signed, nil)
		sdkSign(t, r, emptyHash, testRegion, testNow)
		r.URL.RawQuery = c.wire
		if _, _, err := roundTrip(t, v, r); err != nil {
			t.Errorf("%q signed, %q sent: %v", c.signed, c.wire, err)
		}
	}
}

// TestAlternateURI: a client that signs the canonical encoding of a key but
// whose HTTP stack sends a different (equivalent) escaping still verifies.
func TestAlternateURI(t *testing.T) {
	v := newTestVerifier(testNow)
	for _, c := range []struct{ signed, wire string }{
		{"/bucket/a%2Bb%3Dc", "/bucket/a+b=c"},
		{"/bucket/x~y", "/bucket/x%7Ey"},
		{"/bucket/%C3%BC", "/bucket/%c3%bc"},
	} {
		r, _ := http.NewRequest("GET", "http://cairn.test"+c.signed, nil)
		sdkSign(t, r, emptyHash, testRegion, testNow)
		r.RequestURI = c.wire
		if _, _, err := roundTrip(t, v, r); err != nil {
			t.Errorf("%q signed, %q sent: %v", c.signed, c.wire, err)
		}
	}
	// A different key must still fail.
	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/a%2Bb", nil)
	sdkSign(t, r, emptyHash, testRegion, testNow)
	r.RequestURI = "/bucket/a%2Bc"
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("different key: %v", err)
	}
}

// TestWireTarget: the signature covers the request-target as sent, even if
// a router rewrote r.URL afterwards, and absolute-form targets work.
func TestWireTarget(t *testing.T) {
	v := newTestVerifier(testNow)
	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/a%20b?list-type=2&prefix=x", nil)
	sdkSign(t, r, emptyHash, testRegion, testNow)
	r.RequestURI = "/bucket/a%20b?list-type=2&prefix=x"
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = "/rewritten", "", "other=1"
	if _, _, err := roundTrip(t, v, r); err != nil {
		t.Errorf("rewritten r.URL: %v", err)
	}
	r.RequestURI = "http://cairn.test/bucket/a%20b?list-type=2&prefix=x"
	if _, _, err := roundTrip(t, v, r); err != nil {
		t.Errorf("absolute-form target: %v", err)
	}
	r.RequestURI = "/bucket/a%20b?list-type=2&prefix=y"
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("different wire query: %v", err)
	}
}

// signedGet returns an SDK-signed request, ready to tamper with.
func signedGet(t *testing.T, mutateBefore func(*http.Request)) *http.Request {
	r, _ := http.NewRequest("GET", "http://cairn.test:9000/bucket/key%20one?versionId=7&x-id=GetObject", nil)
	r.Header.Set("Range", "bytes=0-99")
	r.Header.Set("X-Amz-Meta-A", "b")
	if mutateBefore != nil {
		mutateBefore(r)
	}
	sdkSign(t, r, emptyHash, testRegion, testNow)
	return r
}

func TestTampering(t *testing.T) {
	v := newTestVerifier(testNow)
	if _, _, err := roundTrip(t, v, signedGet(t, nil)); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	cases := map[string]func(r *http.Request){
		"signed header value": func(r *http.Request) { r.Header.Set("Range", "bytes=0-100") },
		"x-amz header value":  func(r *http.Request) { r.Header.Set("X-Amz-Meta-A", "c") },
		"header value added":  func(r *http.Request) { r.Header.Add("Range", "bytes=1-2") },
		"query value": func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "versionId=7", "versionId=8", 1)
		},
		"query param added":    func(r *http.Request) { r.URL.RawQuery += "&acl" },
		"query param removed":  func(r *http.Request) { r.URL.RawQuery = "versionId=7" },
		"path":                 func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/bucket/key two", "" },
		"path case":            func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/Bucket/key one", "" },
		"method":               func(r *http.Request) { r.Method = "DELETE" },
		"host":                 func(r *http.Request) { r.Host = "other.test:9000" },
		"payload hash":         func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) },
		"date":                 func(r *http.Request) { r.Header.Set("X-Amz-Date", "20250314T150927Z") },
		"signature byte":       func(r *http.Request) { tamperAuth(r, "Signature=", 5) },
		"signature truncated":  func(r *http.Request) { a := r.Header.Get("Authorization"); r.Header.Set("Authorization", a[:len(a)-2]) },
		"signed headers list":  func(r *http.Request) { replaceAuth(r, "range;", "") },
		"credential other key": func(r *http.Request) { replaceAuth(r, testAccessKey, "AKIDOTHER") },
		"scope region empty":   func(r *http.Request) { replaceAuth(r, "/"+testRegion+"/", "//") },
		"scope region us-east-1": func(r *http.Request) {
			replaceAuth(r, "/"+testRegion+"/", "/us-east-1/")
		},
	}
	for name, tamper := range cases {
		r := signedGet(t, nil)
		tamper(r)
		_, _, err := roundTrip(t, v, r)
		if !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("%s: err = %v, want ErrSignatureMismatch", name, err)
		}
	}
}

func tamperAuth(r *http.Request, field string, offset int) {
	a := r.Header.Get("Authorization")
	i := strings.Index(a, field) + len(field) + offset
	c := byte('0')
	if a[i] == '0' {
		c = '1'
	}
	r.Header.Set("Authorization", a[:i]+string(c)+a[i+1:])
}

func replaceAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func TestCredentials(t *testing.T) {
	v := newTestVerifier(testNow)

	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	r.Header.Set("X-Amz-Content-Sha256", emptyHash)
	creds := testCreds()
	creds.SecretAccessKey = "not-the-secret"
	if err := s3Signer().SignHTTP(context.Background(), creds, r, emptyHash, "s3", testRegion, testNow); err != nil {
		t.Fatal(err)
	}
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("wrong secret: %v", err)
	}

	for ak, want := range map[string]error{"AKIDUNKNOWN": ErrUnknownAccessKey, "AKIDBROKEN": nil} {
		r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
		creds := testCreds()
		creds.AccessKeyID = ak
		r.Header.Set("X-Amz-Content-Sha256", emptyHash)
		s3Signer().SignHTTP(context.Background(), creds, r, emptyHash, "s3", testRegion, testNow)
		_, _, err := roundTrip(t, v, r)
		if err == nil {
			t.Errorf("%s: accepted", ak)
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", ak, err, want)
		}
		if want == nil && (errors.Is(err, ErrUnknownAccessKey) || !strings.Contains(err.Error(), "unavailable")) {
			t.Errorf("%s: store failure must pass through, got %v", ak, err)
		}
	}

	// A lookup that returns no secret and no error is treated as unknown.
	r, _ = http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	sdkSign(t, r, emptyHash, testRegion, testNow)
	empty := func(context.Context, string) (string, error) { return "", nil }
	if _, err := v.Verify(context.Background(), r, empty); !errors.Is(err, ErrUnknownAccessKey) {
		t.Errorf("empty secret: %v", err)
	}
}

func TestRegions(t *testing.T) {
	v := newTestVerifier(testNow)
	for _, c := range []struct {
		region string
		ok     bool
	}{
		{testRegion, true},
		{"us-east-1", true},
		{"", true},
		{"ap-south-1", false},
		{"EU-WEST-3", false},
	} {
		r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
		sdkSign(t, r, emptyHash, c.region, testNow)
		id, _, err := roundTrip(t, v, r)
		if c.ok {
			if err != nil {
				t.Errorf("region %q: %v", c.region, err)
			} else if id.Region != c.region {
				t.Errorf("region %q: identity region %q", c.region, id.Region)
			}
			continue
		}
		if !errors.Is(err, ErrAuthorizationHeaderMalformed) {
			t.Errorf("region %q: err = %v", c.region, err)
			continue
		}
		want := fmt.Sprintf("the region '%s' is wrong; expecting '%s'", c.region, testRegion)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}

	// A Verifier for us-east-1 (the zero value) accepts only it and "".
	zero := &Verifier{Now: func() time.Time { return testNow }}
	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	sdkSign(t, r, emptyHash, "us-east-1", testNow)
	if _, _, err := roundTrip(t, zero, r); err != nil {
		t.Errorf("zero Verifier: %v", err)
	}
	r, _ = http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	sdkSign(t, r, emptyHash, testRegion, testNow)
	if _, _, err := roundTrip(t, zero, r); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
		t.Errorf("zero Verifier, other region: %v", err)
	}
}

func TestClockSkew(t *testing.T) {
	v := newTestVerifier(testNow)
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true},
		{-14 * time.Minute, true},
		{14 * time.Minute, true},
		{-16 * time.Minute, false},
		{16 * time.Minute, false},
		{-24 * time.Hour, false},
	} {
		r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
		sdkSign(t, r, emptyHash, testRegion, testNow.Add(c.offset))
		_, _, err := roundTrip(t, v, r)
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrRequestTimeTooSkewed) {
			t.Errorf("offset %v: err = %v", c.offset, err)
		}
	}
}

func TestContentSHA256Header(t *testing.T) {
	v := newTestVerifier(testNow)
	body := []byte("hello, cairn")

	// Missing x-amz-content-sha256 on header auth.
	r, _ := http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(body))
	sdkSign(t, r, "", testRegion, testNow)
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrMissingContentSHA256) {
		t.Errorf("missing header: %v", err)
	}

	// Not a known value.
	for _, bad := range []string{"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "unsigned-payload", strings.Repeat("g", 64), "abc"} {
		r, _ := http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(body))
		sdkSign(t, r, bad, testRegion, testNow)
		if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrInvalidContentSHA256) {
			t.Errorf("%q: %v", bad, err)
		}
	}

	// Correct hash: body intact. Upper-case hex is accepted.
	for _, h := range []string{sha256HexOf(body), strings.ToUpper(sha256HexOf(body))} {
		r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(body))
		sdkSign(t, r, h, testRegion, testNow)
		id, got, err := roundTrip(t, v, r)
		if err != nil || !bytes.Equal(got, body) || id.ContentSHA256 != h {
			t.Errorf("good hash %s: %v %q", h, err, got)
		}
	}

	// Signed hash of other bytes: Verify succeeds (the signature is right),
	// the mismatch surfaces at EOF.
	r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(body))
	sdkSign(t, r, sha256HexOf([]byte("other bytes")), testRegion, testNow)
	if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	if !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Errorf("mismatch: err = %v", err)
	}
	if len(got) != len(body) {
		t.Errorf("read %d bytes before the error", len(got))
	}
	if _, err := r.Body.Read(make([]byte, 1)); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Errorf("error not sticky: %v", err)
	}

	// UNSIGNED-PAYLOAD passes the body through untouched.
	orig := io.NopCloser(bytes.NewReader(body))
	r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", nil)
	r.Body = orig
	sdkSign(t, r, UnsignedPayload, testRegion, testNow)
	if _, err := v.Verify(context.Background(), r, testLookup); err != nil || r.Body != orig {
		t.Errorf("unsigned payload: %v, body replaced: %v", err, r.Body != orig)
	}
}

func TestAuthMechanisms(t *testing.T) {
	v := newTestVerifier(testNow)
	r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrMissingAuth) {
		t.Errorf("anonymous: %v", err)
	}
	r.Header.Set("Authorization", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrUnsupportedAuthorization) {
		t.Errorf("sigv2 header: %v", err)
	}
	r.Header.Set("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20250314/s3/aws4_request, SignedHeaders=host, Signature=00")
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrUnsupportedAuthorization) {
		t.Errorf("sigv4a: %v", err)
	}
	r, _ = http.NewRequest("GET", "http://cairn.test/bucket/k?AWSAccessKeyId=AKIDEXAMPLE&Expires=1&Signature=x", nil)
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrUnsupportedAuthorization) {
		t.Errorf("sigv2 query: %v", err)
	}
	r = signedGet(t, nil)
	r.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrMultipleAuthMechanisms) {
		t.Errorf("header and query: %v", err)
	}
}

func TestMalformedAuthorization(t *testing.T) {
	v := newTestVerifier(testNow)
	good := signedGet(t, nil).Header.Get("Authorization")
	cred := "AKIDEXAMPLE/20250314/" + testRegion + "/s3/aws4_request"
	sig := "Signature=" + strings.Repeat("a", 64)
	cases := map[string]string{
		"no components":       "AWS4-HMAC-SHA256",
		"missing signature":   "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host",
		"missing credential":  "AWS4-HMAC-SHA256 SignedHeaders=host, " + sig,
		"empty signed hdrs":   "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=, " + sig,
		"unknown component":   "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host, " + sig + ", Foo=bar",
		"repeated component":  "AWS4-HMAC-SHA256 Credential=" + cred + ", Credential=" + cred + ", SignedHeaders=host, " + sig,
		"short credential":    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250314/s3/aws4_request, SignedHeaders=host, " + sig,
		"long credential":     "AWS4-HMAC-SHA256 Credential=AK/ID/20250314/" + testRegion + "/s3/aws4_request, SignedHeaders=host, " + sig,
		"empty access key":    "AWS4-HMAC-SHA256 Credential=/20250314/" + testRegion + "/s3/aws4_request, SignedHeaders=host, " + sig,
		"bad scope date":      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2025-03-14/" + testRegion + "/s3/aws4_request, SignedHeaders=host, " + sig,
		"scope date mismatch": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250313/" + testRegion + "/s3/aws4_request, SignedHeaders=host, " + sig,
		"wrong service":       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250314/" + testRegion + "/iam/aws4_request, SignedHeaders=host, " + sig,
		"wrong terminal":      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250314/" + testRegion + "/s3/aws5_request, SignedHeaders=host, " + sig,
		"dup signed header":   "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host;host, " + sig,
	}
	for name, authz := range cases {
		r := signedGet(t, nil)
		r.Header.Set("Authorization", authz)
		if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	r := signedGet(t, nil)
	r.Header.Add("Authorization", good)
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
		t.Errorf("two Authorization headers: %v", err)
	}
	// Compact spacing (no space after commas) is accepted.
	r = signedGet(t, nil)
	r.Header.Set("Authorization", strings.ReplaceAll(good, ", ", ","))
	if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
		t.Errorf("compact header: %v", err)
	}
}

func TestDates(t *testing.T) {
	v := newTestVerifier(testNow)
	r := signedGet(t, nil)
	r.Header.Del("X-Amz-Date")
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrMissingDate) {
		t.Errorf("no date: %v", err)
	}
	r = signedGet(t, nil)
	r.Header.Set("X-Amz-Date", "2025-03-14T15:09:26Z")
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrMissingDate) {
		t.Errorf("bad X-Amz-Date: %v", err)
	}

	// Signing with the Date header instead of X-Amz-Date: the SDK cannot do
	// this, so sign by hand (the string to sign uses the ISO 8601 form).
	r, _ = http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptyHash)
	creq := "GET\n/bucket/k\n\ndate:" + testNow.Format(http.TimeFormat) + "\nhost:cairn.test\nx-amz-content-sha256:" + emptyHash +
		"\n\ndate;host;x-amz-content-sha256\n" + emptyHash
	scope := "20250314/" + testRegion + "/s3/aws4_request"
	sts := "AWS4-HMAC-SHA256\n20250314T150926Z\n" + scope + "\n" + sha256HexOf([]byte(creq))
	sig := fmt.Sprintf("%x", testHMAC(testSigningKey(testSecret, "20250314", testRegion), sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/"+scope+", SignedHeaders=date;host;x-amz-content-sha256, Signature="+sig)
	id, err := v.Verify(context.Background(), r, testLookup)
	if err != nil {
		t.Fatalf("Date header: %v", err)
	}
	if !id.SignedAt.Equal(testNow) {
		t.Errorf("SignedAt %v", id.SignedAt)
	}
}

func TestUnsignedAmzHeaders(t *testing.T) {
	v := newTestVerifier(testNow)
	r := signedGet(t, nil)
	r.Header.Set("X-Amz-Copy-Source", "/other/secret")
	r.Header.Set("x-amz-acl", "public-read")
	_, err := v.Verify(context.Background(), r, testLookup)
	if !errors.Is(err, ErrHeadersNotSigned) || !strings.Contains(err.Error(), "x-amz-acl, x-amz-copy-source") {
		t.Errorf("unsigned x-amz headers: %v", err)
	}
	// Headers that are not x-amz-* may be unsigned; so may
	// x-amz-content-sha256 (S3 tolerates it) and x-amzn-trace-id.
	r = signedGet(t, nil)
	r.Header.Set("User-Agent", "test")
	r.Header.Set("X-Amzn-Trace-Id", "Root=1")
	r.Header.Set("Accept-Encoding", "gzip")
	if _, err := v.Verify(context.Background(), r, testLookup); err != nil {
		t.Errorf("unsigned ordinary headers: %v", err)
	}
	r = signedGet(t, nil)
	replaceAuth(r, "SignedHeaders=host;", "SignedHeaders=")
	if _, err := v.Verify(context.Background(), r, testLookup); !errors.Is(err, ErrHeadersNotSigned) {
		t.Errorf("host not signed: %v", err)
	}
}

// TestKeyCacheConcurrent verifies from many goroutines with more distinct
// secrets than the cache holds, and checks the cache stays bounded.
func TestKeyCacheConcurrent(t *testing.T) {
	v := newTestVerifier(testNow)
	lookup := func(_ context.Context, ak string) (string, error) { return "secret-" + ak, nil }
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * keyCacheSize / 8 {
				for range 2 { // the second round hits the cache (usually)
					ak := fmt.Sprintf("AKID%d", (g*1000+i)%(3*keyCacheSize/2))
					r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
					r.Header.Set("X-Amz-Content-Sha256", emptyHash)
					creds := testCreds()
					creds.AccessKeyID, creds.SecretAccessKey = ak, "secret-"+ak
					if err := s3Signer().SignHTTP(context.Background(), creds, r, emptyHash, "s3", testRegion, testNow); err != nil {
						errs <- err
						return
					}
					if _, err := v.Verify(context.Background(), r, lookup); err != nil {
						errs <- fmt.Errorf("%s: %w", ak, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	v.keys.mu.Lock()
	n := len(v.keys.m)
	v.keys.mu.Unlock()
	if n == 0 || n > keyCacheSize {
		t.Errorf("cache holds %d keys, bound %d", n, keyCacheSize)
	}
}

// TestKeyCacheRotation: a secret change for the same access key and day
// must not reuse the old derived key.
func TestKeyCacheRotation(t *testing.T) {
	v := newTestVerifier(testNow)
	secret := "first"
	lookup := func(context.Context, string) (string, error) { return secret, nil }
	sign := func(s string) *http.Request {
		r, _ := http.NewRequest("GET", "http://cairn.test/bucket/k", nil)
		r.Header.Set("X-Amz-Content-Sha256", emptyHash)
		creds := testCreds()
		creds.SecretAccessKey = s
		s3Signer().SignHTTP(context.Background(), creds, r, emptyHash, "s3", testRegion, testNow)
		return r
	}
	if _, err := v.Verify(context.Background(), sign("first"), lookup); err != nil {
		t.Fatal(err)
	}
	secret = "second"
	if _, err := v.Verify(context.Background(), sign("first"), lookup); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("old secret after rotation: %v", err)
	}
	if _, err := v.Verify(context.Background(), sign("second"), lookup); err != nil {
		t.Errorf("new secret: %v", err)
	}
}
