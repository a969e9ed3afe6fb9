package sigv2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The key pair of the AWS documentation examples. The expected signatures
// below were computed from the spec's string to sign with an independent
// HMAC-SHA1 implementation (the first is also the one AWS publishes).
const (
	testAccess = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func lookup(_ context.Context, access string) (string, error) {
	if access == testAccess {
		return testSecret, nil
	}
	return "", fmt.Errorf("%q: %w", access, ErrInvalidAccessKeyID)
}

func at(s string) func() time.Time {
	t, err := http.ParseTime(s)
	if err != nil {
		t, err = time.Parse(time.RFC1123Z, s)
	}
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

func unix(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

type vector struct {
	name       string
	method     string
	target     string
	hostBucket string
	headers    [][2]string
	now        func() time.Time
}

func (v vector) request() *http.Request {
	r := httptest.NewRequest(v.method, v.target, nil)
	for _, h := range v.headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func TestKnownAnswers(t *testing.T) {
	getDate := "Tue, 27 Mar 2007 19:36:42 +0000"
	putDate := "Tue, 27 Mar 2007 21:15:45 +0000"
	for _, v := range []vector{
		{name: "header GET", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess + ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="}}},
		{name: "virtual-hosted GET", method: "GET", target: "/photos/puppy.jpg", hostBucket: "johnsmith", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess + ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="}}},
		{name: "unsigned query parameters are ignored", method: "GET", target: "/johnsmith/photos/puppy.jpg?x-id=GetObject", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess + ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="}}},
		{name: "PUT acl with amz headers", method: "PUT", target: "/johnsmith/photos/puppy.jpg?acl", now: at(putDate),
			headers: [][2]string{
				{"Date", putDate}, {"Content-Type", "image/jpeg"}, {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
				{"X-Amz-Acl", "public-read"}, {"X-Amz-Meta-ReviewedBy", "joe@example.com"}, {"X-Amz-Meta-ReviewedBy", " jane@example.com"},
				{"X-Amz-Meta-ChecksumAlgorithm", "crc32"},
				{"Authorization", "AWS " + testAccess + ":PxoqZgpQldbHiyWirit5+lrUbYQ="}}},
		{name: "x-amz-date empties the Date line", method: "DELETE", target: "/johnsmith/photos/puppy.jpg", now: at("Tue, 27 Mar 2007 21:20:26 +0000"),
			headers: [][2]string{{"X-Amz-Date", "Tue, 27 Mar 2007 21:20:26 +0000"}, {"Authorization", "AWS " + testAccess + ":R4dJ53KECjStyBO5iTBJZ4XVOaI="}}},
		{name: "virtual-hosted bucket root", method: "GET", target: "/", hostBucket: "johnsmith", now: at("Tue, 27 Mar 2007 19:42:41 +0000"),
			headers: [][2]string{{"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}, {"Authorization", "AWS " + testAccess + ":htDYFYduRNen8P9ZfE/s9SuKy0U="}}},
		{name: "bucket POST signed as /bucket/ (botocore)", method: "POST", target: "/johnsmith?delete", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"X-Amz-Checksum-Crc32", "CEaAGw=="}, {"Authorization", "AWS " + testAccess + ":GbSwq7Ui605qfmb/iWqXUAmdkhg="}}},
		{name: "presigned GET", method: "GET", now: unix(1175139000),
			target: "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=" + testAccess + "&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"},
		{name: "presigned GET, '+' left raw", method: "GET", now: unix(1175139000),
			target: "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=" + testAccess + "&Expires=1175139620&Signature=NpgCjnDzrM+WFzoENXmpNDUsSn8="},
		{name: "presigned GET with overrides, sorted and decoded", method: "GET", now: unix(1175139000),
			target: "/johnsmith/a%20b.txt?versionId=null&response-content-type=text%2Fplain&x-id=GetObject" +
				"&response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22" +
				"&AWSAccessKeyId=" + testAccess + "&Expires=1175139620&Signature=Pgt6J6IUgxUy8Aul1Oj8o2Eg254%3D"},
		{name: "presigned PUT with headers in the query", method: "PUT", now: unix(1175139000),
			target: "/johnsmith/k?AWSAccessKeyId=" + testAccess + "&Expires=1175139620&content-type=text%2Fplain" +
				"&x-amz-meta-color=blue&Signature=gm1SWHA1ZtExfex2%2FhuppMFsmiE%3D"},
	} {
		t.Run(v.name, func(t *testing.T) {
			r := v.request()
			if !Applies(r) {
				t.Fatal("Applies is false")
			}
			id, err := (&Verifier{Now: v.now}).Verify(context.Background(), r, v.hostBucket, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if id.AccessKey != testAccess || id.Presigned != strings.Contains(v.target, "Signature=") {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

func TestPresignedHeadersArePromoted(t *testing.T) {
	r := httptest.NewRequest("PUT", "/johnsmith/k?AWSAccessKeyId="+testAccess+"&Expires=1175139620&content-type=text%2Fplain"+
		"&x-amz-meta-color=blue&Signature=gm1SWHA1ZtExfex2%2FhuppMFsmiE%3D", nil)
	id, err := (&Verifier{Now: unix(1175139000)}).Verify(context.Background(), r, "", lookup)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-Amz-Meta-Color") != "blue" {
		t.Fatalf("headers not promoted: %v", r.Header)
	}
	if !id.Expires.Equal(time.Unix(1175139620, 0)) {
		t.Fatalf("expires %v", id.Expires)
	}
	// Sending the signed value as a header works too; a different value
	// does not.
	r = httptest.NewRequest("PUT", "/johnsmith/k?AWSAccessKeyId="+testAccess+"&Expires=1175139620&content-type=text%2Fplain"+
		"&x-amz-meta-color=blue&Signature=gm1SWHA1ZtExfex2%2FhuppMFsmiE%3D", nil)
	r.Header.Set("Content-Type", "text/html")
	if _, err := (&Verifier{Now: unix(1175139000)}).Verify(context.Background(), r, "", lookup); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("changed Content-Type: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	getDate := "Tue, 27 Mar 2007 19:36:42 +0000"
	good := "AWS " + testAccess + ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="
	presign := "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=" + testAccess + "&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
	for _, c := range []struct {
		vector
		want error
	}{
		{vector{name: "one signature byte changed", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess + ":cWq2s1WEIj+Ydj0vQ697zp+IXMU="}}}, ErrSignatureDoesNotMatch},
		{vector{name: "other key", method: "GET", target: "/johnsmith/photos/puppy.jp", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrSignatureDoesNotMatch},
		{vector{name: "other method", method: "DELETE", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrSignatureDoesNotMatch},
		{vector{name: "other bucket in the Host", method: "GET", target: "/photos/puppy.jpg", hostBucket: "janesmith", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrSignatureDoesNotMatch},
		{vector{name: "added x-amz header", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"X-Amz-Copy-Source", "/other/key"}, {"Authorization", good}}}, ErrSignatureDoesNotMatch},
		{vector{name: "added sub-resource", method: "GET", target: "/johnsmith/photos/puppy.jpg?acl", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrSignatureDoesNotMatch},
		{vector{name: "not base64", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess + ":!!!"}}}, ErrSignatureDoesNotMatch},
		{vector{name: "skewed", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: func() time.Time { return at(getDate)().Add(16 * time.Minute) },
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrRequestTimeTooSkewed},
		{vector{name: "no date", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Authorization", good}}}, ErrMissingDate},
		{vector{name: "bad date", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", "yesterday"}, {"Authorization", good}}}, ErrMissingDate},
		{vector{name: "no colon", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS " + testAccess}}}, ErrInvalidArgument},
		{vector{name: "unknown key", method: "GET", target: "/johnsmith/photos/puppy.jpg", now: at(getDate),
			headers: [][2]string{{"Date", getDate}, {"Authorization", "AWS NOSUCHKEY:bWq2s1WEIj+Ydj0vQ697zp+IXMU="}}}, ErrInvalidAccessKeyID},
		{vector{name: "header and query", method: "GET", target: presign, now: unix(1175139000),
			headers: [][2]string{{"Date", getDate}, {"Authorization", good}}}, ErrMultipleAuthMechanisms},
		{vector{name: "presign expired", method: "GET", target: presign, now: unix(1175139621)}, ErrRequestExpired},
		{vector{name: "presign tampered", method: "GET", target: strings.Replace(presign, "NpgC", "NpgD", 1), now: unix(1175139000)}, ErrSignatureDoesNotMatch},
		{vector{name: "presign with later Expires", method: "GET", target: strings.Replace(presign, "1175139620", "1175139999", 1), now: unix(1175139000)}, ErrSignatureDoesNotMatch},
		{vector{name: "presign other path", method: "GET", target: strings.Replace(presign, "puppy", "kitty", 1), now: unix(1175139000)}, ErrSignatureDoesNotMatch},
		{vector{name: "presign with unsigned x-amz header", method: "GET", target: presign, now: unix(1175139000),
			headers: [][2]string{{"X-Amz-Meta-Evil", "1"}}}, ErrSignatureDoesNotMatch},
		{vector{name: "presign without Signature", method: "GET", target: "/johnsmith/photos/puppy.jpg?AWSAccessKeyId=" + testAccess + "&Expires=1175139620",
			now: unix(1175139000)}, ErrMissingQueryParameters},
		{vector{name: "presign bad Expires", method: "GET", target: strings.Replace(presign, "1175139620", "soon", 1), now: unix(1175139000)}, ErrInvalidExpires},
		{vector{name: "presign repeated Signature", method: "GET", target: presign + "&Signature=x", now: unix(1175139000)}, ErrMissingQueryParameters},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := (&Verifier{Now: c.now}).Verify(context.Background(), c.request(), c.hostBucket, lookup)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatal("secret in error")
			}
		})
	}
}

func TestApplies(t *testing.T) {
	for target, want := range map[string]bool{
		"/b/k?AWSAccessKeyId=x&Expires=1&Signature=s": true,
		"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256":       false,
		"/b/k":                                        false,
	} {
		if got := Applies(httptest.NewRequest("GET", target, nil)); got != want {
			t.Errorf("%s: %v", target, got)
		}
	}
	for authz, want := range map[string]bool{
		"AWS AK:sig":                            true,
		"AWS4-HMAC-SHA256 Credential=AK/...":    false,
		"AWS4-ECDSA-P256-SHA256 Credential=...": false,
	} {
		r := httptest.NewRequest("GET", "/b/k", nil)
		r.Header.Set("Authorization", authz)
		if got := Applies(r); got != want {
			t.Errorf("%s: %v", authz, got)
		}
	}
}

func TestSignMatchesStringToSign(t *testing.T) {
	sts := StringToSign("GET", "", "", "Tue, 27 Mar 2007 19:36:42 +0000", "", "/johnsmith/photos/puppy.jpg")
	if got := Sign(testSecret, sts); got != "bWq2s1WEIj+Ydj0vQ697zp+IXMU=" {
		t.Fatal(got)
	}
}
