package native

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
)

func TestParse(t *testing.T) {
	cases := []struct {
		method, path string
		op           op
		ns, bucket   string
		object       string
	}{
		{"GET", "/n/", opGetNamespace, "", "", ""},
		{"GET", "/n", opGetNamespace, "", "", ""},
		{"GET", "/n/ns", opGetNamespaceMetadata, "ns", "", ""},
		{"GET", "/n/ns/", opGetNamespaceMetadata, "ns", "", ""},
		{"PUT", "/n/ns", opUpdateNamespaceMetadata, "ns", "", ""},
		{"POST", "/n/ns", opUnknown, "ns", "", ""},
		{"GET", "/n/ns/x", opUnknown, "ns", "", ""},
		{"POST", "/n/ns/b/", opCreateBucket, "ns", "", ""},
		{"GET", "/n/ns/b/", opListBuckets, "ns", "", ""},
		{"GET", "/n/ns/b/bk/", opGetBucket, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk", opGetBucket, "ns", "bk", ""},
		{"HEAD", "/n/ns/b/bk/", opHeadBucket, "ns", "bk", ""},
		{"DELETE", "/n/ns/b/bk/", opDeleteBucket, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/", opUpdateBucket, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/o", opListObjects, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/o/", opListObjects, "ns", "bk", ""},
		{"PUT", "/n/ns/b/bk/o/a/b c", opPutObject, "ns", "bk", "a/b c"},
		{"GET", "/n/ns/b/bk/o/a%2Fb%20c", opGetObject, "ns", "bk", "a/b c"},
		{"HEAD", "/n/ns/b/bk/o/x", opHeadObject, "ns", "bk", "x"},
		{"DELETE", "/n/ns/b/bk/o/x", opDeleteObject, "ns", "bk", "x"},
		{"POST", "/n/ns/b/bk/o/x", opUnknown, "ns", "bk", "x"},
		{"POST", "/n/ns/b/bk/p/", opCreatePAR, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/p/", opListPARs, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/p/ID1", opGetPAR, "ns", "bk", ""},
		{"DELETE", "/n/ns/b/bk/p/ID1", opDeletePAR, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/u", opCreateMultipartUpload, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/u/", opListMultipartUploads, "ns", "bk", ""},
		{"PUT", "/n/ns/b/bk/u/a%2Fb?uploadId=U&uploadPartNum=3", opUploadPart, "ns", "bk", "a/b"},
		{"POST", "/n/ns/b/bk/u/a/b?uploadId=U", opCommitMultipartUpload, "ns", "bk", "a/b"},
		{"DELETE", "/n/ns/b/bk/u/x?uploadId=U", opAbortMultipartUpload, "ns", "bk", "x"},
		{"GET", "/n/ns/b/bk/u/x?uploadId=U", opListMultipartUploadParts, "ns", "bk", "x"},
		{"HEAD", "/n/ns/b/bk/u/x?uploadId=U", opUnknown, "ns", "bk", "x"},
		{"POST", "/n/ns/b/bk/actions/renameObject", opRenameObject, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/actions/renameObject", opUnknown, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/actions/renameObject/x", opUnknown, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/actions/copyObject", opCopyObject, "ns", "bk", ""},
		{"GET", "/n/ns/b/bk/actions/copyObject", opUnknown, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/actions/copyObject/x", opUnknown, "ns", "bk", ""},
		{"POST", "/n/ns/b/bk/actions/moveObject", opUnknown, "ns", "bk", ""},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, "http://gw"+strings.ReplaceAll(tc.path, " ", "%20"), nil)
		req, err := parse(r)
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if req.op != tc.op || req.ns != tc.ns || req.bucket != tc.bucket || req.object != tc.object {
			t.Errorf("%s %s: op %d ns %q bucket %q object %q; want %d %q %q %q",
				tc.method, tc.path, req.op, req.ns, req.bucket, req.object, tc.op, tc.ns, tc.bucket, tc.object)
		}
	}
	if _, err := parse(httptest.NewRequest("GET", "http://gw/notn/x", nil)); err == nil {
		t.Error("a path outside /n/ parsed")
	}
	for _, path := range []string{"/n/ns/b/bk/u/x", "/n/ns/b/bk/u/x?uploadId="} {
		_, err := parse(httptest.NewRequest("PUT", "http://gw"+path, nil))
		if e := toError(err); err == nil || e.Code != codeMissingParameter {
			t.Errorf("PUT %s: %v, want MissingParameter", path, err)
		}
	}
	req, err := parse(httptest.NewRequest("PUT", "http://gw/n/ns/b/bk/u/x?uploadId=U1&uploadPartNum=2", nil))
	if err != nil || req.uploadID != "U1" {
		t.Errorf("uploadId: %+v %v", req, err)
	}
}

// TestOpTable: every operation parse can return has one row, and every
// row says what it needs.
func TestOpTable(t *testing.T) {
	rows := opTable()
	for o := opUnknown + 1; o <= opPARCommitUpload; o++ {
		row, ok := rows[o]
		if !ok || row.name == "" || row.handler == nil {
			t.Errorf("op %d has no complete row", o)
		}
		if row.objectInBody && !row.write {
			t.Errorf("%s: objectInBody without write", row.name)
		}
		if row.global && (len(row.perms) > 0 || row.write || row.objectInBody) {
			t.Errorf("%s: a global operation's handler authorizes; its row names no permission", row.name)
		}
	}
	if len(rows) != int(opPARCommitUpload) {
		t.Errorf("%d rows for %d operations", len(rows), opPARCommitUpload)
	}
	for _, o := range []op{opPutObject, opCreateMultipartUpload, opUploadPart, opCommitMultipartUpload, opPARCreateUpload, opPARCommitUpload} {
		if !rows[o].write {
			t.Errorf("%s does not need OBJECT_CREATE or OBJECT_OVERWRITE", rows[o].name)
		}
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h        string
		off, n   int64
		ranged   bool
		wantCode string
	}{
		{"", 0, 100, false, ""},
		{"bytes=0-9", 0, 10, true, ""},
		{"bytes=90-", 90, 10, true, ""},
		{"bytes=90-200", 90, 10, true, ""},
		{"bytes=-10", 90, 10, true, ""},
		{"bytes=-1000", 0, 100, true, ""},
		{"bytes=100-", 0, 0, false, "InvalidRange"},
		{"bytes=5-4", 0, 0, false, "InvalidRange"},
		{"bytes=0-1,3-4", 0, 0, false, "InvalidParameter"},
		{"items=0-1", 0, 0, false, "InvalidParameter"},
	}
	for _, tc := range cases {
		off, n, ranged, err := parseRange(tc.h, 100)
		if tc.wantCode != "" {
			if e := toError(err); err == nil || e.Code.Name != tc.wantCode {
				t.Errorf("%q: %v, want %s", tc.h, err, tc.wantCode)
			}
			continue
		}
		if err != nil || off != tc.off || n != tc.n || ranged != tc.ranged {
			t.Errorf("%q: %d %d %v %v; want %d %d %v", tc.h, off, n, ranged, err, tc.off, tc.n, tc.ranged)
		}
	}
}

func TestIs(t *testing.T) {
	for _, tc := range []struct {
		host, auth string
		want       bool
	}{
		{"gw:9000", `Signature version="1",keyId="a/b/c"`, true},
		{"objectstorage.eu-1.example.com", "", true},
		{"objectstorage.eu-1.example.com:9000", "", true},
		{"ns.compat.objectstorage.eu-1.example.com", "", false},
		{"gw:9000", "AWS4-HMAC-SHA256 Credential=x", false},
		{"gw:9000", "", false},
	} {
		r := httptest.NewRequest("GET", "http://gw/n/", nil)
		r.Host = tc.host
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := Is(r); got != tc.want {
			t.Errorf("host %q auth %q: %v, want %v", tc.host, tc.auth, got, tc.want)
		}
	}
}

// fakeKeys answers LookupAPIKey for one key.
type fakeKeys struct {
	keyID string
	pem   string
	calls int
}

func (f *fakeKeys) LookupAPIKey(_ context.Context, tenancy, user, fp string) (*cairnpb.LookupAPIKeyResponse, error) {
	f.calls++
	if tenancy+"/"+user+"/"+fp != f.keyID {
		return nil, fmt.Errorf("fake: %w", rpcerr.ErrKeyNotFound)
	}
	return &cairnpb.LookupAPIKeyResponse{Namespace: "ns", User: "alice", PublicKeyPem: f.pem}, nil
}

// sign signs r over names with priv, as the OCI SDKs do.
func sign(t *testing.T, r *http.Request, priv *rsa.PrivateKey, keyID string, names []string) {
	t.Helper()
	var lines []string
	for _, n := range names {
		switch n {
		case "(request-target)":
			lines = append(lines, n+": "+strings.ToLower(r.Method)+" "+r.RequestURI)
		case "host":
			lines = append(lines, n+": "+r.Host)
		default:
			lines = append(lines, n+": "+r.Header.Get(n))
		}
	}
	d := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", fmt.Sprintf(`Signature version="1",headers="%s",keyId="%s",algorithm="rsa-sha256",signature="%s"`,
		strings.Join(names, " "), keyID, base64.StdEncoding.EncodeToString(sig)))
}

func TestAuthenticate(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	keys := &fakeKeys{keyID: "ocid1.tenancy.oc1..t/ocid1.user.oc1..u/aa:bb", pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
	now := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	s := &Server{now: func() time.Time { return now }, skew: DefaultClockSkew,
		keys: &keyCache{index: keys, now: func() time.Time { return now }, entries: map[string]cachedPrincipal{}}}
	generic := []string{"date", "(request-target)", "host"}
	body := []string{"date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256"}
	req := func(date time.Time, dateHeader string) *http.Request {
		r := httptest.NewRequest("POST", "http://gw/n/ns/b/", strings.NewReader("{}"))
		r.Header.Set(dateHeader, date.Format(http.TimeFormat))
		r.Header.Set("content-type", "application/json")
		r.Header.Set("x-content-sha256", "x")
		r.Header.Set("content-length", "2")
		return r
	}
	cases := []struct {
		name       string
		r          *http.Request
		names      []string
		keyID      string
		bodySigned bool
		tamper     func(*http.Request)
		ok         bool
	}{
		{name: "generic headers", r: req(now, "date"), names: generic, ok: true},
		{name: "body headers", r: req(now, "date"), names: body, bodySigned: true, ok: true},
		{name: "x-date", r: req(now.Add(-time.Minute), "x-date"), names: []string{"x-date", "(request-target)", "host"}, ok: true},
		{name: "body not covered", r: req(now, "date"), names: generic, bodySigned: true},
		{name: "no host", r: req(now, "date"), names: []string{"date", "(request-target)"}},
		{name: "no date", r: req(now, "date"), names: []string{"(request-target)", "host"}},
		{name: "skewed", r: req(now.Add(-6*time.Minute), "date"), names: generic},
		{name: "unknown key", r: req(now, "date"), names: generic, keyID: "ocid1.tenancy.oc1..t/ocid1.user.oc1..u/cc:dd"},
		{name: "malformed keyId", r: req(now, "date"), names: generic, keyID: "just-one-part"},
		{name: "other path", r: req(now, "date"), names: generic, tamper: func(r *http.Request) { r.RequestURI = "/n/ns/b/x/" }},
		{name: "other host", r: req(now, "date"), names: generic, tamper: func(r *http.Request) { r.Host = "evil" }},
	}
	for _, tc := range cases {
		keyID := tc.keyID
		if keyID == "" {
			keyID = keys.keyID
		}
		sign(t, tc.r, priv, keyID, tc.names)
		if tc.tamper != nil {
			tc.tamper(tc.r)
		}
		who, err := s.authenticate(context.Background(), tc.r, tc.bodySigned)
		switch {
		case tc.ok && (err != nil || who.user != "alice"):
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && toError(err).Code != codeNotAuthenticated:
			t.Errorf("%s: %v, want NotAuthenticated", tc.name, err)
		}
	}
	// Lookups are cached, refusals too.
	calls := keys.calls
	r := req(now, "date")
	sign(t, r, priv, keys.keyID, generic)
	if _, err := s.authenticate(context.Background(), r, false); err != nil || keys.calls != calls {
		t.Fatalf("cached lookup: %v, %d calls (was %d)", err, keys.calls, calls)
	}
}

func TestCheckSHA256(t *testing.T) {
	r := httptest.NewRequest("POST", "http://gw/n/ns/b/", nil)
	if err := checkSHA256(r, sha256Of([]byte("a"))); err != nil {
		t.Fatalf("no header: %v", err)
	}
	r.Header.Set("x-content-sha256", base64.StdEncoding.EncodeToString(sha256Of([]byte("a"))))
	if err := checkSHA256(r, sha256Of([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := checkSHA256(r, sha256Of([]byte("b"))); !errors.As(err, &e) || e.Code != codeNotAuthenticated {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("ETag", "dropped")
	writeError(w, httptest.NewRequest("GET", "http://gw/n/", nil), "RID", toError(fmt.Errorf("x: %w", rpcerr.ErrBucketNotFound)))
	if w.Code != 404 || w.Header().Get("opc-request-id") != "RID" || w.Header().Get("ETag") != "" ||
		!strings.Contains(w.Body.String(), `"code":"BucketNotFound"`) || !strings.Contains(w.Body.String(), `"message":`) {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "My_Bucket-1.x": true, strings.Repeat("b", 256): true,
		"": false, strings.Repeat("b", 257): false, "a/b": false, "a b": false, "é": false,
	} {
		if got := model.ValidBucketName(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
}
