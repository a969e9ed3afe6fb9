package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func presignedGet(t *testing.T, target string, expires int, region string, at time.Time) *http.Request {
	r, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sdkPresign(t, r, expires, region, at)
}

func TestPresignedSDK(t *testing.T) {
	v := newTestVerifier(testNow)
	srv, ch := newVerifyServer(t, v, false)
	for _, method := range []string{"GET", "PUT", "DELETE", "HEAD"} {
		for _, p := range awkwardPaths {
			for _, q := range awkwardQueries {
				target := srv.URL + p.escaped
				if q != "" {
					target += "?" + q
				}
				var body []byte
				if method == "PUT" {
					body = []byte("presigned body")
				}
				r, err := http.NewRequest(method, target, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("X-Amz-Meta-Owner", "alice")
				r.Header.Set("X-Amz-Request-Payer", "requester") // hoisted to the query by the SDK
				pr := sdkPresign(t, r, 900, testRegion, testNow.Add(-10*time.Minute))
				res := send(t, srv, ch, pr)
				if res.verifyErr != nil || res.readErr != nil {
					t.Errorf("%s %s?%s: verify %v, read %v", method, p.escaped, q, res.verifyErr, res.readErr)
					continue
				}
				if !res.id.Presigned || res.id.ContentSHA256 != UnsignedPayload || !bytes.Equal(res.body, body) {
					t.Errorf("%s %s: identity %+v body %q", method, p.name, res.id, res.body)
				}
			}
		}
	}
}

func TestPresignedFailures(t *testing.T) {
	v := newTestVerifier(testNow)
	const target = "http://cairn.test/bucket/obj%20ect?versionId=1"

	// One hex digit of X-Amz-Signature changed, at several positions.
	for _, pos := range []int{0, 31, 63} {
		r := presignedGet(t, target, 60, testRegion, testNow)
		q := r.URL.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		if sig[pos] == '0' {
			sig[pos] = '1'
		} else {
			sig[pos] = '0'
		}
		q.Set("X-Amz-Signature", string(sig))
		r.URL.RawQuery = q.Encode()
		if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("signature byte %d: %v", pos, err)
		}
	}

	tamper := map[string]func(q url.Values){
		"expires":    func(q url.Values) { q.Set("X-Amz-Expires", "61") },
		"version":    func(q url.Values) { q.Set("versionId", "2") },
		"added":      func(q url.Values) { q.Set("acl", "") },
		"signed hdr": func(q url.Values) { q.Set("X-Amz-SignedHeaders", "host;x-amz-meta-a") },
	}
	for name, f := range tamper {
		r := presignedGet(t, target, 60, testRegion, testNow)
		q := r.URL.Query()
		f(q)
		r.URL.RawQuery = q.Encode()
		if name == "signed hdr" {
			r.Header.Set("X-Amz-Meta-A", "b")
		}
		if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("tampered %s: %v", name, err)
		}
	}

	// Expiry: valid until exactly X-Amz-Date + X-Amz-Expires.
	for _, c := range []struct {
		age     time.Duration
		expires int
		want    error
	}{
		{59 * time.Second, 60, nil},
		{60 * time.Second, 60, nil},
		{61 * time.Second, 60, ErrExpiredPresign},
		{7*24*time.Hour - time.Second, 604800, nil},
		{7*24*time.Hour + time.Second, 604800, ErrExpiredPresign},
		{-10 * time.Minute, 60, nil},                     // within MaxSkew of the future
		{-20 * time.Minute, 3600, ErrPresignNotYetValid}, // too far in the future
	} {
		r := presignedGet(t, target, c.expires, testRegion, testNow.Add(-c.age))
		_, _, err := roundTrip(t, v, r)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("age %v expires %d: err = %v, want %v", c.age, c.expires, err, c.want)
		}
	}

	// X-Amz-Expires bounds and required parameters.
	for name, f := range map[string]func(q url.Values){
		"expires zero":      func(q url.Values) { q.Set("X-Amz-Expires", "0") },
		"expires negative":  func(q url.Values) { q.Set("X-Amz-Expires", "-5") },
		"expires too long":  func(q url.Values) { q.Set("X-Amz-Expires", "604801") },
		"expires not num":   func(q url.Values) { q.Set("X-Amz-Expires", "1h") },
		"no expires":        func(q url.Values) { q.Del("X-Amz-Expires") },
		"no credential":     func(q url.Values) { q.Del("X-Amz-Credential") },
		"no signature":      func(q url.Values) { q.Del("X-Amz-Signature") },
		"no signed headers": func(q url.Values) { q.Del("X-Amz-SignedHeaders") },
		"no date":           func(q url.Values) { q.Del("X-Amz-Date") },
		"bad date":          func(q url.Values) { q.Set("X-Amz-Date", "20250314") },
		"bad algorithm":     func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA512") },
		"repeated param":    func(q url.Values) { q.Add("X-Amz-Date", q.Get("X-Amz-Date")) },
		"wrong region": func(q url.Values) {
			q.Set("X-Amz-Credential", strings.Replace(q.Get("X-Amz-Credential"), testRegion, "us-west-2", 1))
		},
		"bad credential": func(q url.Values) { q.Set("X-Amz-Credential", "AKIDEXAMPLE/20250314/s3/aws4_request") },
		"date mismatch": func(q url.Values) {
			q.Set("X-Amz-Credential", strings.Replace(q.Get("X-Amz-Credential"), "20250314", "20250313", 1))
		},
	} {
		r := presignedGet(t, target, 60, testRegion, testNow)
		q := r.URL.Query()
		f(q)
		r.URL.RawQuery = q.Encode()
		_, _, err := roundTrip(t, v, r)
		if !errors.Is(err, ErrAuthorizationQueryParametersError) {
			t.Errorf("%s: err = %v", name, err)
		}
		if name == "wrong region" && !strings.Contains(err.Error(), "the region 'us-west-2' is wrong; expecting '"+testRegion+"'") {
			t.Errorf("wrong region message: %v", err)
		}
	}

	// us-east-1 and empty regions are accepted, signed as written.
	for _, region := range []string{"us-east-1", ""} {
		r := presignedGet(t, target, 60, region, testNow)
		if id, _, err := roundTrip(t, v, r); err != nil || id.Region != region {
			t.Errorf("region %q: %v", region, err)
		}
	}

	// Unknown key.
	r, _ := http.NewRequest("GET", target, nil)
	creds := testCreds()
	creds.AccessKeyID = "AKIDNOPE"
	q := r.URL.Query()
	q.Set("X-Amz-Expires", "60")
	r.URL.RawQuery = q.Encode()
	u, _, _ := s3Signer().PresignHTTP(context.Background(), creds, r, UnsignedPayload, "s3", testRegion, testNow)
	r, _ = http.NewRequest("GET", u, nil)
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrUnknownAccessKey) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestPresignedHeaders: x-amz-* headers added to a presigned request by the
// URL's holder are refused; x-amz-content-sha256 is tolerated and ignored.
func TestPresignedHeaders(t *testing.T) {
	v := newTestVerifier(testNow)
	r := presignedGet(t, "http://cairn.test/bucket/k", 60, testRegion, testNow)
	r.Header.Set("X-Amz-Copy-Source", "/victim/secret")
	if _, _, err := roundTrip(t, v, r); !errors.Is(err, ErrHeadersNotSigned) {
		t.Errorf("added x-amz-copy-source: %v", err)
	}
	r = presignedGet(t, "http://cairn.test/bucket/k", 60, testRegion, testNow)
	r.Header.Set("X-Amz-Content-Sha256", sha256HexOf([]byte("ignored")))
	r.Body = http.NoBody
	id, _, err := roundTrip(t, v, r)
	if err != nil || id.ContentSHA256 != UnsignedPayload {
		t.Errorf("unsigned x-amz-content-sha256: %v %+v", err, id)
	}

	// A payload hash given in the query is signed and enforced.
	body := []byte("exact bytes")
	r, _ = http.NewRequest("PUT", "http://cairn.test/bucket/k", bytes.NewReader(body))
	q := r.URL.Query()
	q.Set("X-Amz-Content-Sha256", sha256HexOf(body))
	q.Set("X-Amz-Expires", "60")
	r.URL.RawQuery = q.Encode()
	u, _, err := s3Signer().PresignHTTP(context.Background(), testCreds(), r, sha256HexOf(body), "s3", testRegion, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body []byte
		want error
	}{{body, nil}, {[]byte("other bytes"), ErrContentSHA256Mismatch}} {
		r, _ = http.NewRequest("PUT", u, bytes.NewReader(c.body))
		_, got, err := roundTrip(t, v, r)
		if c.want == nil && (err != nil || !bytes.Equal(got, c.body)) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("query payload hash, body %q: %v", c.body, err)
		}
	}
}
