package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestPARSecret: tokens are 256 random bits, URL-safe, and kept only as
// their SHA-256.
func TestPARSecret(t *testing.T) {
	id1, tok1, err := newPARSecret()
	if err != nil {
		t.Fatal(err)
	}
	id2, tok2, _ := newPARSecret()
	if id1 == id2 || tok1 == tok2 {
		t.Fatal("two draws gave the same ID or token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok1)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", tok1, len(raw), err)
	}
	want := sha256.Sum256([]byte(tok1))
	if !bytes.Equal(hashToken(tok1), want[:]) || bytes.Equal(hashToken(tok1), hashToken(tok2)) {
		t.Fatal("hashToken is not the token's SHA-256")
	}
}

func TestRedactToken(t *testing.T) {
	for in, want := range map[string]string{
		"/p/SeCrEt/n/ns/b/bk/o/x": "/p/<token>/n/ns/b/bk/o/x",
		"/p/SeCrEt":               "/p/<token>",
		"/n/ns/b/bk/o/p/x":        "/n/ns/b/bk/o/p/x",
	} {
		if got := redactToken(in); got != want {
			t.Errorf("redactToken(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParsePAR: what a PAR path names, and the shapes that are not one.
func TestParsePAR(t *testing.T) {
	for _, tc := range []struct {
		method, path                      string
		ok                                bool
		token, ns, bucket, object, prefix string
		op                                op
	}{
		{"GET", "/p/T0k/n/ns/b/bk/o/a/b.txt", true, "T0k", "ns", "bk", "a/b.txt", "", opGetObject},
		{"HEAD", "/p/T0k/n/ns/b/bk/o/x", true, "T0k", "ns", "bk", "x", "", opHeadObject},
		{"PUT", "/p/T0k/n/ns/b/bk/o/x%2Fy", true, "T0k", "ns", "bk", "x/y", "", opPutObject},
		{"GET", "/p/T0k/n/ns/b/bk/o/", true, "T0k", "ns", "bk", "", "", opListObjects},
		{"GET", "/p/T0k/n/ns/b/bk/o/?prefix=a%2F", true, "T0k", "ns", "bk", "", "a/", opListObjects},
		{"GET", "/p/T0k/n/ns/b/bk%2Fother/o/x", true, "T0k", "ns", "bk/other", "x", "", opGetObject},
		{"GET", "/p/T0k/n/ns/b/bk/o/../../other/o/x", true, "T0k", "ns", "bk", "../../other/o/x", "", opGetObject},
		{"DELETE", "/p/T0k/n/ns/b/bk/o/x", true, "T0k", "ns", "bk", "x", "", opDeleteObject},
		{"GET", "/p/T0k//n/ns/b/bk/o/x", false, "", "", "", "", "", 0},
		{"GET", "/p//n/ns/b/bk/o/x", false, "", "", "", "", "", 0},
		{"GET", "/p/T0k/n/ns/b/bk/u/x", false, "", "", "", "", "", 0},
		{"GET", "/p/T0k/n/ns/b/bk", false, "", "", "", "", "", 0},
		{"GET", "/p/T0k/n//b/bk/o/x", false, "", "", "", "", "", 0},
		// Multipart uploads through the PAR.
		{"PUT+mp", "/p/T0k/n/ns/b/bk/o/big.bin", true, "T0k", "ns", "bk", "big.bin", "", opPARCreateUpload},
		{"PUT+mp", "/p/T0k/n/ns/b/bk/o/", true, "T0k", "ns", "bk", "", "", opUnknown},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/3", true, "T0k", "ns", "bk", "big.bin", "", opUploadPart},
		{"PUT", "/p/T0k/n/ns/b/bk/u/a%2Fb.bin/id/UP1/10000", true, "T0k", "ns", "bk", "a/b.bin", "", opUploadPart},
		{"PUT", "/p/T0k/n/ns/b/bk/u/a/id/b.bin/id/UP1/1", true, "T0k", "ns", "bk", "a/id/b.bin", "", opUploadPart},
		{"POST", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/", true, "T0k", "ns", "bk", "big.bin", "", opPARCommitUpload},
		{"DELETE", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/", true, "T0k", "ns", "bk", "big.bin", "", opAbortMultipartUpload},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/", true, "T0k", "ns", "bk", "big.bin", "", opUnknown},
		{"POST", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/2", true, "T0k", "ns", "bk", "big.bin", "", opUnknown},
		{"GET", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/", true, "T0k", "ns", "bk", "big.bin", "", opUnknown},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/x", false, "", "", "", "", "", 0},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1/123456", false, "", "", "", "", "", 0},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id/UP1", false, "", "", "", "", "", 0},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/id//1", false, "", "", "", "", "", 0},
		{"PUT", "/p/T0k/n/ns/b/bk/u/id/UP1/1", false, "", "", "", "", "", 0},
		{"PUT", "/p/T0k/n/ns/b/bk/u/big.bin/UP1/1", false, "", "", "", "", "", 0},
	} {
		method, multipart := strings.CutSuffix(tc.method, "+mp")
		hr := httptest.NewRequest(method, "http://gw"+tc.path, nil)
		if multipart {
			hr.Header.Set("opc-multipart", "true")
		}
		pp, err := parsePAR(hr)
		if !tc.ok {
			if err == nil {
				t.Errorf("%s %s: parsed as %+v", tc.method, tc.path, pp.req)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		r := pp.req
		if pp.token != tc.token || r.ns != tc.ns || r.bucket != tc.bucket || r.object != tc.object || r.op != tc.op || r.query.Get("prefix") != tc.prefix {
			t.Errorf("%s %s: token %q ns %q bucket %q object %q op %d prefix %q", tc.method, tc.path, pp.token, r.ns, r.bucket, r.object, r.op, r.query.Get("prefix"))
		}
		if strings.Contains(tc.path, "/u/") && r.uploadID != "UP1" {
			t.Errorf("%s %s: upload ID %q", tc.method, tc.path, r.uploadID)
		}
	}
	// The part number is the path's, whatever the query says.
	pp, err := parsePAR(httptest.NewRequest("PUT", "http://gw/p/T0k/n/ns/b/bk/u/o/id/UP1/7?uploadPartNum=9", nil))
	if err != nil || pp.req.query.Get("uploadPartNum") != "7" {
		t.Errorf("part number: %v %v", err, pp)
	}
}

// TestUploadAccessURI: an upload's accessUri parses back to its upload.
func TestUploadAccessURI(t *testing.T) {
	for _, object := range []string{"big.bin", "a/b/c.bin", "a/id/x/id/y", "sp ace%", "ü/ 1"} {
		uri := uploadAccessURI("T0k", &request{ns: "ns", bucket: "b.k", object: object}, "UP1")
		if !strings.HasSuffix(uri, "/") {
			t.Errorf("%s: %s has no trailing slash", object, uri)
		}
		for _, tc := range []struct {
			method, suffix string
			op             op
		}{{"PUT", "42", opUploadPart}, {"POST", "", opPARCommitUpload}, {"DELETE", "", opAbortMultipartUpload}} {
			r := httptest.NewRequest(tc.method, "http://gw"+uri+tc.suffix, nil)
			if !Is(r) {
				t.Errorf("%s %s is not routed to the native API", tc.method, uri+tc.suffix)
				continue
			}
			pp, err := parsePAR(r)
			if err != nil {
				t.Errorf("%s %s: %v", tc.method, uri+tc.suffix, err)
				continue
			}
			q := pp.req
			if pp.token != "T0k" || q.ns != "ns" || q.bucket != "b.k" || q.object != object || q.uploadID != "UP1" || q.op != tc.op {
				t.Errorf("%s %s: %+v", tc.method, uri+tc.suffix, q)
			}
		}
	}
}

// TestPARScope: a PAR reaches its namespace, bucket and object (or
// prefix) only, and serves what its access type allows.
func TestPARScope(t *testing.T) {
	obj := &cairnpb.PAR{Namespace: "ns", Bucket: "bk", ObjectName: "a/file", AccessType: "ObjectRead"}
	pre := &cairnpb.PAR{Namespace: "ns", Bucket: "bk", ObjectName: "a/", AccessType: "AnyObjectRead", BucketListingAction: listingList}
	types := accessTypes()
	for _, tc := range []struct {
		name string
		p    *cairnpb.PAR
		req  request
		want bool
	}{
		{"the object", obj, request{ns: "ns", bucket: "bk", object: "a/file", op: opGetObject}, true},
		{"another object", obj, request{ns: "ns", bucket: "bk", object: "a/file2", op: opGetObject}, false},
		{"a dotted path", obj, request{ns: "ns", bucket: "bk", object: "a/x/../file", op: opGetObject}, false},
		{"another bucket", obj, request{ns: "ns", bucket: "bk2", object: "a/file", op: opGetObject}, false},
		{"another namespace", obj, request{ns: "ns2", bucket: "bk", object: "a/file", op: opGetObject}, false},
		{"under the prefix", pre, request{ns: "ns", bucket: "bk", object: "a/b/c", op: opGetObject}, true},
		{"outside the prefix", pre, request{ns: "ns", bucket: "bk", object: "b/c", op: opGetObject}, false},
		{"the prefix's sibling", pre, request{ns: "ns", bucket: "bk", object: "a", op: opGetObject}, false},
		{"a listing in the prefix", pre, request{ns: "ns", bucket: "bk", op: opListObjects, query: map[string][]string{"prefix": {"a/b"}}}, true},
		{"a listing outside it", pre, request{ns: "ns", bucket: "bk", op: opListObjects, query: map[string][]string{"prefix": {"b"}}}, false},
		{"a listing of everything", pre, request{ns: "ns", bucket: "bk", op: opListObjects, query: map[string][]string{}}, false},
	} {
		if got := inScope(tc.p, types[tc.p.GetAccessType()], &tc.req); got != tc.want {
			t.Errorf("%s: in scope %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		access, listing string
		op              op
		want            bool
	}{
		{"ObjectRead", listingDeny, opGetObject, true},
		{"ObjectRead", listingDeny, opHeadObject, true},
		{"ObjectRead", listingDeny, opPutObject, false},
		{"ObjectWrite", listingDeny, opPutObject, true},
		{"ObjectWrite", listingDeny, opGetObject, false},
		{"ObjectReadWrite", listingDeny, opPutObject, true},
		{"ObjectReadWrite", listingList, opListObjects, false},
		{"AnyObjectRead", listingDeny, opListObjects, false},
		{"AnyObjectRead", listingList, opListObjects, true},
		{"AnyObjectWrite", listingDeny, opPutObject, true},
		{"AnyObjectReadWrite", listingDeny, opDeleteObject, false},
		{"ObjectWrite", listingDeny, opPARCreateUpload, true},
		{"ObjectWrite", listingDeny, opUploadPart, true},
		{"ObjectWrite", listingDeny, opPARCommitUpload, true},
		{"ObjectWrite", listingDeny, opAbortMultipartUpload, true},
		{"AnyObjectWrite", listingDeny, opPARCreateUpload, true},
		{"ObjectRead", listingDeny, opPARCreateUpload, false},
		{"ObjectRead", listingDeny, opUploadPart, false},
		{"AnyObjectReadWrite", listingList, opPARCommitUpload, true},
		{"AnyObjectRead", listingList, opAbortMultipartUpload, false},
		{"ObjectWrite", listingDeny, opCreateMultipartUpload, false},
		{"ObjectWrite", listingDeny, opCommitMultipartUpload, false},
		{"ObjectWrite", listingDeny, opListMultipartUploadParts, false},
		{"AnyObjectReadWrite", listingDeny, opRenameObject, false},
	} {
		if got := parAllows(types[tc.access], tc.listing, tc.op); got != tc.want {
			t.Errorf("%s (%s) op %d: %v, want %v", tc.access, tc.listing, tc.op, got, tc.want)
		}
	}
}

// TestIsPAR: the one routing rule for /p/: a PAR's shape with no S3
// signature goes to the native API; an S3 bucket named "p" stays S3's.
func TestIsPAR(t *testing.T) {
	for _, tc := range []struct {
		target, auth string
		want         bool
	}{
		{"/p/T0k/n/ns/b/bk/o/x", "", true},
		{"/p/T0k/n/ns/b/bk/o/", "", true},
		{"/p/T0k/n/ns/b/bk/o/x", "AWS4-HMAC-SHA256 Credential=AK/20260101/r/s3/aws4_request", false},
		{"/p/T0k/n/ns/b/bk/o/x?X-Amz-Signature=ab&X-Amz-Credential=c", "", false},
		{"/p/T0k/n/ns/b/bk/o/x?AWSAccessKeyId=AK&Signature=s", "", false},
		{"/p/some/key.txt", "", false},
		{"/p/", "", false},
		{"/p", "", false},
		{"/p/T0k/n/ns/b/bk/u/x", "", false},
		// An upload made through a PAR: its accessUri, and a part of it.
		{"/p/T0k/n/ns/b/bk/u/x/id/UP1/", "", true},
		{"/p/T0k/n/ns/b/bk/u/x%2Fy/id/UP1/12", "", true},
		{"/p/T0k/n/ns/b/bk/u/x/y/id/UP1/12", "", true},
		{"/p/T0k/n/ns/b/bk/u/x/id/UP1/12", "AWS4-HMAC-SHA256 Credential=AK/20260101/r/s3/aws4_request", false},
		{"/p/T0k/n/ns/b/bk/u/x/id/UP1/12?X-Amz-Signature=ab&X-Amz-Credential=c", "", false},
		// Keys of an S3 bucket "p" that are no upload's shape stay S3's.
		{"/p/T0k/n/ns/b/bk/u/x/id/UP1", "", false},
		{"/p/T0k/n/ns/b/bk/u/x/id/UP1/part1", "", false},
		{"/p/T0k/n/ns/b/bk/u/x/UP1/1", "", false},
		{"/p/T0k/n/ns/b/bk/u/id/UP1/1", "", false},
		{"/p/T0k/n/ns/b/bk/u/", "", false},
		{"/p/T0k/n/ns/b/bk/x/key", "", false},
	} {
		r := httptest.NewRequest("GET", "http://gw:9000"+tc.target, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := Is(r); got != tc.want {
			t.Errorf("%s (%q): native %v, want %v", tc.target, tc.auth, got, tc.want)
		}
	}
}

// parIndex is an Index with one PAR, found by its token's hash.
type parIndex struct {
	Index // anything else the test calls panics
	token string
	found *cairnpb.LookupPARResponse
}

func (x *parIndex) LookupPAR(_ context.Context, hash []byte) (*cairnpb.LookupPARResponse, error) {
	if x.found == nil || !bytes.Equal(hash, hashToken(x.token)) {
		return nil, fmt.Errorf("lookup: %w", rpcerr.ErrPARNotFound)
	}
	return x.found, nil
}

// TestServePAR: a use is served only with a live PAR, in scope, of the
// right access type, while its creator holds the right.
func TestServePAR(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	readAll := []string{"Allow group g to read objects in tenancy"}
	par := func(access, object string, expires time.Time, statements []string) *cairnpb.LookupPARResponse {
		return &cairnpb.LookupPARResponse{Par: &cairnpb.PAR{Namespace: "ns", Bucket: "bk", ObjectName: object,
			AccessType: access, ExpiresUnixNano: expires.UnixNano(), Creator: "carol"},
			Groups: []string{"g"}, Statements: statements}
	}
	for _, tc := range []struct {
		name         string
		found        *cairnpb.LookupPARResponse
		method, path string
		served       bool
	}{
		{"a live read PAR", par("ObjectRead", "a", now.Add(time.Hour), readAll), "GET", "/p/tok/n/ns/b/bk/o/a", true},
		{"an expired one", par("ObjectRead", "a", now, readAll), "GET", "/p/tok/n/ns/b/bk/o/a", false},
		{"a deleted one", nil, "GET", "/p/tok/n/ns/b/bk/o/a", false},
		{"another token", par("ObjectRead", "a", now.Add(time.Hour), readAll), "GET", "/p/other/n/ns/b/bk/o/a", false},
		{"another object", par("ObjectRead", "a", now.Add(time.Hour), readAll), "GET", "/p/tok/n/ns/b/bk/o/b", false},
		{"a write through a read PAR", par("ObjectRead", "a", now.Add(time.Hour), readAll), "PUT", "/p/tok/n/ns/b/bk/o/a", false},
		{"a creator without the right", par("ObjectRead", "a", now.Add(time.Hour), nil), "GET", "/p/tok/n/ns/b/bk/o/a", false},
		{"a creator with another right", par("ObjectRead", "a", now.Add(time.Hour), []string{"Allow group g to inspect objects in tenancy"}), "GET", "/p/tok/n/ns/b/bk/o/a", false},
	} {
		served := false
		s := &Server{now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler),
			index: &parIndex{token: "tok", found: tc.found},
			ops: map[op]opRow{
				opGetObject: {name: "GetObject", perms: []policy.Permission{policy.ObjectRead}, handler: func(*Server, context.Context, http.ResponseWriter, *http.Request, *request) error {
					served = true
					return nil
				}},
				opPutObject: {name: "PutObject", write: true, handler: func(*Server, context.Context, http.ResponseWriter, *http.Request, *request) error {
					served = true
					return nil
				}},
			}}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(tc.method, "http://gw"+tc.path, nil))
		if served != tc.served {
			t.Errorf("%s: served %v, want %v (%d %s)", tc.name, served, tc.served, w.Code, w.Body)
		}
		if !tc.served && (w.Code != 404 || !strings.Contains(w.Body.String(), "NotAuthorizedOrNotFound")) {
			t.Errorf("%s: %d %s, want 404 NotAuthorizedOrNotFound", tc.name, w.Code, w.Body)
		}
	}
}

func (x *parIndex) GetObject(context.Context, string, string, string) (*cairnpb.ObjectVersion, error) {
	return nil, fmt.Errorf("get: %w", rpcerr.ErrObjectNotFound)
}

// TestServePARUpload: an upload through an object PAR reaches only the
// PAR's object, with its write access type, and an upload ID that is not
// one of the object's is refused as every other PAR refusal is.
func TestServePARUpload(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	found := func(access string) *cairnpb.LookupPARResponse {
		return &cairnpb.LookupPARResponse{Par: &cairnpb.PAR{Namespace: "ns", Bucket: "bk", ObjectName: "big",
			AccessType: access, ExpiresUnixNano: now.Add(time.Hour).UnixNano(), Creator: "carol"},
			Groups: []string{"g"}, Statements: []string{"Allow group g to manage objects in tenancy"}}
	}
	for _, tc := range []struct {
		name, access, method, path string
		multipart                  bool
		err                        error // the handler's
		served                     bool
	}{
		{"start", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk/o/big", true, nil, true},
		{"a part", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk/u/big/id/UP/1", false, nil, true},
		{"commit", "ObjectWrite", "POST", "/p/tok/n/ns/b/bk/u/big/id/UP/", false, nil, true},
		{"abort", "ObjectReadWrite", "DELETE", "/p/tok/n/ns/b/bk/u/big/id/UP/", false, nil, true},
		{"start another object", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk/o/other", true, nil, false},
		{"a part of another object", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk/u/other/id/UP/1", false, nil, false},
		{"a part in another bucket", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk2/u/big/id/UP/1", false, nil, false},
		{"start through a read PAR", "ObjectRead", "PUT", "/p/tok/n/ns/b/bk/o/big", true, nil, false},
		{"a part through a read PAR", "ObjectRead", "PUT", "/p/tok/n/ns/b/bk/u/big/id/UP/1", false, nil, false},
		{"another object's upload ID", "ObjectWrite", "PUT", "/p/tok/n/ns/b/bk/u/big/id/THEIRS/1", false, fmt.Errorf("x: %w", rpcerr.ErrUploadNotFound), true},
	} {
		var served bool
		var token string
		h := func(_ *Server, _ context.Context, _ http.ResponseWriter, _ *http.Request, req *request) error {
			served, token = true, req.parToken
			return tc.err
		}
		s := &Server{now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler),
			index: &parIndex{token: "tok", found: found(tc.access)},
			ops: map[op]opRow{
				opPARCreateUpload:      {name: "create", write: true, handler: h},
				opUploadPart:           {name: "part", write: true, handler: h},
				opPARCommitUpload:      {name: "commit", write: true, handler: h},
				opAbortMultipartUpload: {name: "abort", perms: []policy.Permission{policy.ObjectDelete}, handler: h},
			}}
		r := httptest.NewRequest(tc.method, "http://gw"+tc.path, nil)
		if tc.multipart {
			r.Header.Set("opc-multipart", "true")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if served != tc.served {
			t.Errorf("%s: served %v, want %v (%d %s)", tc.name, served, tc.served, w.Code, w.Body)
		}
		if served && token != "tok" {
			t.Errorf("%s: the handler sees token %q", tc.name, token)
		}
		if (!tc.served || tc.err != nil) && (w.Code != 404 || !strings.Contains(w.Body.String(), "NotAuthorizedOrNotFound")) {
			t.Errorf("%s: %d %s, want 404 NotAuthorizedOrNotFound", tc.name, w.Code, w.Body)
		}
	}
}
