package s3api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// v2Sign signs per the SigV2 spec, independently of package sigv2:
// method, Content-MD5, Content-Type, date (or Expires), sorted x-amz-*
// headers, then the resource.
func v2Sign(secret, method, md5, ctype, date string, amz map[string]string, resource string) string {
	var names []string
	for k := range amz {
		names = append(names, k)
	}
	sort.Strings(names)
	sts := method + "\n" + md5 + "\n" + ctype + "\n" + date + "\n"
	for _, k := range names {
		sts += k + ":" + amz[k] + "\n"
	}
	sts += resource
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSigV2ThroughTheGateway(t *testing.T) {
	_, _, _, base := surfGateway(t, func(c *Config) { c.Domains = []string{"s3.cairn.test"} })
	addr := strings.TrimPrefix(base, "http://")
	date := time.Now().UTC().Format(http.TimeFormat)
	send := func(method, host, path string, body []byte, hdr map[string]string, resource, secret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		if host != "" {
			req.Host = host
		}
		amz := map[string]string{}
		for k, v := range hdr {
			req.Header.Set(k, v)
			if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
				amz[strings.ToLower(k)] = v
			}
		}
		req.Header.Set("Date", date)
		sig := v2Sign(secret, method, hdr["Content-MD5"], hdr["Content-Type"], date, amz, resource)
		req.Header.Set("Authorization", "AWS AK:"+sig)
		st, _, b := surfSend(t, req)
		return st, b
	}
	if st, b := send("PUT", "", "/v2bkt", nil, nil, "/v2bkt", "SK"); st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	body := []byte("signed with version 2")
	hdr := map[string]string{"Content-Type": "text/plain", "Content-MD5": surfMD5(body), "x-amz-meta-color": "green"}
	if st, b := send("PUT", "", "/v2bkt/a%20key", body, hdr, "/v2bkt/a%20key", "SK"); st != 200 {
		t.Fatalf("put: %d %s", st, b)
	}
	if st, b := send("GET", "", "/v2bkt/a%20key", nil, nil, "/v2bkt/a%20key", "SK"); st != 200 || b != string(body) {
		t.Fatalf("get: %d %s", st, b)
	}
	if st, b := send("GET", "", "/v2bkt/a%20key", nil, nil, "/v2bkt/a%20key", "wrong"); st != 403 || !strings.Contains(b, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: %d %s", st, b)
	}
	// Virtual-hosted style signs the path-style resource.
	if st, b := send("GET", "v2bkt.s3.cairn.test:"+addr[strings.LastIndexByte(addr, ':')+1:], "/a%20key", nil, nil, "/v2bkt/a%20key", "SK"); st != 200 || b != string(body) {
		t.Fatalf("virtual-hosted get: %d %s", st, b)
	}
	// DeleteObjects signs its ?delete sub-resource.
	del := surfDeleteBody("a key")
	if st, b := send("POST", "", "/v2bkt?delete", del, map[string]string{"Content-MD5": surfMD5(del)}, "/v2bkt?delete", "SK"); st != 200 || !strings.Contains(b, "<Deleted><Key>a key</Key>") {
		t.Fatalf("delete: %d %s", st, b)
	}
	if st, b := send("GET", "", "/v2bkt/a%20key", nil, nil, "/v2bkt/a%20key", "SK"); st != 404 {
		t.Fatalf("after delete: %d %s", st, b)
	}

	// Presigned URLs.
	if st, b := send("PUT", "", "/v2bkt/p", body, nil, "/v2bkt/p", "SK"); st != 200 {
		t.Fatalf("put: %d %s", st, b)
	}
	presign := func(expires int64, extra string, resource string) string {
		sig := v2Sign("SK", "GET", "", "", fmt.Sprint(expires), nil, resource)
		return fmt.Sprintf("%s/v2bkt/p?%sAWSAccessKeyId=AK&Expires=%d&Signature=%s", base, extra, expires, url.QueryEscape(sig))
	}
	get := func(u string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", u, nil)
		return surfSend(t, req)
	}
	later := time.Now().Add(time.Minute).Unix()
	if st, _, b := get(presign(later, "", "/v2bkt/p")); st != 200 || b != string(body) {
		t.Fatalf("presigned: %d %s", st, b)
	}
	st, h, b := get(presign(later, "response-content-type=image%2Fpng&", "/v2bkt/p?response-content-type=image/png"))
	if st != 200 || h.Get("Content-Type") != "image/png" {
		t.Fatalf("presigned with override: %d %v %s", st, h, b)
	}
	if st, _, b := get(presign(time.Now().Add(-time.Second).Unix(), "", "/v2bkt/p")); st != 403 || !strings.Contains(b, "<Code>AccessDenied</Code><Message>Request has expired</Message>") {
		t.Fatalf("expired: %d %s", st, b)
	}
	if st, _, b := get(strings.Replace(presign(later, "", "/v2bkt/p"), "/v2bkt/p?", "/v2bkt/q?", 1)); st != 403 || !strings.Contains(b, "SignatureDoesNotMatch") {
		t.Fatalf("other key: %d %s", st, b)
	}
	if st, _, b := get(base + "/v2bkt/p?AWSAccessKeyId=AK&Expires=soon&Signature=x"); st != 403 || !strings.Contains(b, "Invalid date") {
		t.Fatalf("bad Expires: %d %s", st, b)
	}
	req, _ := http.NewRequest("GET", base+"/v2bkt/p", nil)
	req.Header.Set("Authorization", "AWS AK")
	if st, _, b := surfSend(t, req); st != 400 || !strings.Contains(b, "<Code>InvalidArgument</Code>") {
		t.Fatalf("malformed header: %d %s", st, b)
	}
	req, _ = http.NewRequest("GET", base+"/v2bkt/p", nil)
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", "AWS NOPE:"+v2Sign("SK", "GET", "", "", date, nil, "/v2bkt/p"))
	if st, _, b := surfSend(t, req); st != 403 || !strings.Contains(b, "<Code>InvalidAccessKeyId</Code>") {
		t.Fatalf("unknown key: %d %s", st, b)
	}
}
