package native

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func TestUploadOf(t *testing.T) {
	var in createUploadJSON
	body := `{"object":"dir/big.bin","contentType":"application/x-test","contentLanguage":"fr","cacheControl":"max-age=5",
		"storageTier":"Standard","metadata":{"opc-meta-Color":"blue","OPC-META-size":"L"}}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	u, err := uploadOf(&in)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetKey() != "dir/big.bin" || u.GetContentType() != "application/x-test" ||
		u.GetUserMetadata()["color"] != "blue" || u.GetUserMetadata()["size"] != "L" || len(u.GetUserMetadata()) != 2 ||
		u.GetHeaders()["Content-Language"] != "fr" || u.GetHeaders()["Cache-Control"] != "max-age=5" || len(u.GetHeaders()) != 2 {
		t.Fatalf("upload %+v", u)
	}
	for body, code := range map[string]Code{
		`{}`: codeMissingParameter,
		`{"object":"` + strings.Repeat("x", maxObjectName+1) + `"}`: codeInvalidParameter,
		`{"object":"o","metadata":{"color":"blue"}}`:                codeInvalidParameter,
		`{"object":"o","storageTier":"Archive"}`:                    codeNotImplemented,
		`{"object":"o","metadata":{"opc-meta-":"x"}}`:               codeInvalidParameter,
	} {
		var in createUploadJSON
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		if _, err := uploadOf(&in); toError(err).Code != code {
			t.Errorf("%s: %v, want %s", body, err, code.Name)
		}
	}
}

func TestPartsToComplete(t *testing.T) {
	var in commitJSON
	body := `{"partsToCommit":[{"partNum":3,"etag":"CC"},{"partNum":1,"etag":"\"aa\""}],"partsToExclude":[2]}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	parts, err := partsToComplete(&in)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].GetNumber() != 1 || parts[0].GetEtag() != "aa" || parts[1].GetNumber() != 3 || parts[1].GetEtag() != "cc" {
		t.Fatalf("parts %v", parts)
	}
	for body, code := range map[string]Code{
		`{}`:                   codeMissingParameter,
		`{"partsToCommit":[]}`: codeMissingParameter,
		`{"partsToCommit":[{"partNum":0,"etag":"a"}]}`:                          codeInvalidParameter,
		`{"partsToCommit":[{"partNum":10001,"etag":"a"}]}`:                      codeInvalidParameter,
		`{"partsToCommit":[{"partNum":1}]}`:                                     codeMissingParameter,
		`{"partsToCommit":[{"partNum":1,"etag":"a"},{"partNum":1,"etag":"a"}]}`: codeInvalidParameter,
		`{"partsToCommit":[{"partNum":1,"etag":"a"}],"partsToExclude":[1]}`:     codeInvalidParameter,
		`{"partsToCommit":[{"partNum":1,"etag":"a"}],"partsToExclude":[0]}`:     codeInvalidParameter,
	} {
		var in commitJSON
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		if _, err := partsToComplete(&in); toError(err).Code != code {
			t.Errorf("%s: %v, want %s", body, err, code.Name)
		}
	}
}

func TestPartNumber(t *testing.T) {
	for v, ok := range map[string]bool{"1": true, "10000": true, "0": false, "10001": false, "": false, "x": false, "-1": false} {
		if _, err := partNumber(v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}

func TestUploadsPage(t *testing.T) {
	for _, key := range []string{"a", "dir/with/slashes", "ünï"} {
		k, id, err := parseUploadsPage(uploadsPage(key, "0123abcd"))
		if err != nil || k != key || id != "0123abcd" {
			t.Errorf("%q: %q %q %v", key, k, id, err)
		}
	}
	for _, page := range []string{"!!", "", uploadsPage("k", "")} {
		if _, _, err := parseUploadsPage(page); toError(err).Code != codeInvalidParameter {
			t.Errorf("page %q: %v", page, err)
		}
	}
}

// TestMultipartJSON: the shapes the SDKs parse, with OCI's field names.
func TestMultipartJSON(t *testing.T) {
	s := &Server{}
	req := &request{ns: "ns", bucket: "bk"}
	created := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).UnixNano()
	u, _ := json.Marshal(s.uploadJSON(req, &cairnpb.MultipartUpload{Key: "o", UploadId: "U", InitiatedUnixNano: created}))
	if want := `{"namespace":"ns","bucket":"bk","object":"o","uploadId":"U","timeCreated":"2026-12-07T09:00:00.000Z","storageTier":"Standard"}`; string(u) != want {
		t.Errorf("upload JSON %s, want %s", u, want)
	}
	p, _ := json.Marshal(partJSON{PartNumber: 2, ETag: "00112233445566778899aabbccddeeff", MD5: partMD5("00112233445566778899aabbccddeeff"), Size: 5})
	if want := `{"partNumber":2,"etag":"00112233445566778899aabbccddeeff","md5":"ABEiM0RVZneImaq7zN3u/w==","size":5}`; string(p) != want {
		t.Errorf("part JSON %s, want %s", p, want)
	}
}
