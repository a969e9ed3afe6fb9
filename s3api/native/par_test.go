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
	} {
		pp, err := parsePAR(httptest.NewRequest(tc.method, "http://gw"+tc.path, nil))
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
