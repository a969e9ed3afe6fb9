package native

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// nsIndex is a meta group of one namespace ("ns") for the namespace
// metadata tests: keys of users whose statements it holds, its
// compartments and its S3 compartment. Other Index methods are not
// called (the embedded nil interface would panic).
type nsIndex struct {
	Index
	pem        string
	statements map[string][]string // by user OCID
	comps      []*cairnpb.Compartment
	s3         string
	lookups    int
}

const nsTenancy = "ocid1.tenancy.oc1..tt"

func (f *nsIndex) LookupAPIKey(_ context.Context, tenancy, user, _ string) (*cairnpb.LookupAPIKeyResponse, error) {
	f.lookups++
	sts, ok := f.statements[user]
	if tenancy != nsTenancy || !ok {
		return nil, fmt.Errorf("fake: %w", rpcerr.ErrKeyNotFound)
	}
	return &cairnpb.LookupAPIKeyResponse{Namespace: "ns", User: user, PublicKeyPem: f.pem,
		Groups: []string{"g"}, Statements: sts, Compartments: f.comps, S3Compartment: f.s3}, nil
}

func (f *nsIndex) SetS3Compartment(_ context.Context, ns, c string) error {
	for _, comp := range f.comps {
		if comp.GetName() == c {
			f.s3 = c
			return nil
		}
	}
	if c == "root" {
		f.s3 = ""
		return nil
	}
	return fmt.Errorf("fake: %w", rpcerr.ErrCompartmentNotFound)
}

func TestNamespaceMetadata(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	const engOCID, webOCID = "ocid1.compartment.oc1..eng", "ocid1.compartment.oc1..web"
	idx := &nsIndex{
		pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		statements: map[string][]string{
			"admin":  {"Allow group g to manage objectstorage-namespaces in tenancy"},
			"reader": {"Allow group g to read object-family in tenancy"},
			"eng":    {"Allow group g to manage all-resources in compartment eng"},
		},
		comps: []*cairnpb.Compartment{{Namespace: "ns", Name: "eng", Parent: "root", Ocid: engOCID}},
	}
	now := time.Now()
	s := &Server{now: func() time.Time { return now }, skew: DefaultClockSkew, log: slog.New(slog.DiscardHandler),
		keys: &keyCache{index: idx, now: func() time.Time { return now }, entries: map[string]cachedPrincipal{}},
		ops:  opTable(), index: idx}
	do := func(user, method, path, body string) (int, namespaceMetadataJSON, string) {
		t.Helper()
		r := httptest.NewRequest(method, "http://gw"+path, strings.NewReader(body))
		r.Header.Set("date", now.UTC().Format(http.TimeFormat))
		names := []string{"date", "(request-target)", "host"}
		if body != "" {
			sum := sha256.Sum256([]byte(body))
			r.Header.Set("content-type", "application/json")
			r.Header.Set("content-length", fmt.Sprint(len(body)))
			r.Header.Set("x-content-sha256", base64.StdEncoding.EncodeToString(sum[:]))
			names = append(names, "content-type", "content-length", "x-content-sha256")
		}
		sign(t, r, priv, nsTenancy+"/"+user+"/aa:bb", names)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var md namespaceMetadataJSON
		var e struct{ Code string }
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
			}
		} else {
			_ = json.Unmarshal(w.Body.Bytes(), &e)
		}
		return w.Code, md, e.Code
	}

	status, md, _ := do("admin", "GET", "/n/ns", "")
	if status != 200 || md != (namespaceMetadataJSON{"ns", nsTenancy, nsTenancy}) {
		t.Fatalf("get: %d %+v", status, md)
	}
	if status, md, _ = do("reader", "GET", "/n/ns", ""); status != 200 || md.DefaultS3CompartmentID != nsTenancy {
		t.Fatalf("reader get: %d %+v", status, md)
	}
	for _, user := range []string{"eng"} { // namespace rights are the tenancy's only
		if status, _, code := do(user, "GET", "/n/ns", ""); status != 404 || code != "NotAuthorizedOrNotFound" {
			t.Errorf("%s get: %d %s", user, status, code)
		}
	}
	update := `{"defaultS3CompartmentId":"` + engOCID + `"}`
	for _, user := range []string{"reader", "eng"} {
		if status, _, code := do(user, "PUT", "/n/ns", update); status != 404 || code != "NotAuthorizedOrNotFound" {
			t.Errorf("%s update: %d %s", user, status, code)
		}
	}
	if idx.s3 != "" {
		t.Fatalf("a refused update moved the S3 compartment to %q", idx.s3)
	}
	// The caller sees its update at once, not after the key cache expires.
	if status, md, _ = do("admin", "PUT", "/n/ns", update); status != 200 || md.DefaultS3CompartmentID != engOCID || idx.s3 != "eng" {
		t.Fatalf("update: %d %+v, S3 compartment %q", status, md, idx.s3)
	}
	if status, md, _ = do("admin", "GET", "/n/ns", ""); status != 200 || md.DefaultS3CompartmentID != engOCID {
		t.Fatalf("get after update: %d %+v", status, md)
	}
	// By name too; the root by the tenancy's OCID; a Swift compartment
	// other than the root is not served; unknown OCIDs are not found.
	if status, md, _ = do("admin", "PUT", "/n/ns", `{"defaultS3CompartmentId":"`+nsTenancy+`","defaultSwiftCompartmentId":"`+nsTenancy+`"}`); status != 200 || md.DefaultS3CompartmentID != nsTenancy || idx.s3 != "" {
		t.Fatalf("update to the root: %d %+v, S3 compartment %q", status, md, idx.s3)
	}
	if status, _, code := do("admin", "PUT", "/n/ns", `{"defaultSwiftCompartmentId":"`+engOCID+`"}`); status != 501 || code != "NotImplemented" {
		t.Errorf("swift update: %d %s", status, code)
	}
	lookups := idx.lookups
	if status, _, code := do("admin", "PUT", "/n/ns", `{"defaultS3CompartmentId":"`+webOCID+`"}`); status != 404 || code != "NotAuthorizedOrNotFound" {
		t.Errorf("unknown compartment: %d %s", status, code)
	}
	if idx.lookups != lookups+1 {
		t.Errorf("an unknown compartment OCID took %d fresh look-ups, want 1", idx.lookups-lookups)
	}
	// A compartment made after the caller was cached is found by the
	// fresh look-up.
	idx.comps = append(idx.comps, &cairnpb.Compartment{Namespace: "ns", Name: "web", Parent: "eng", Ocid: webOCID})
	if status, md, _ = do("admin", "PUT", "/n/ns", `{"defaultS3CompartmentId":"`+webOCID+`"}`); status != 200 || md.DefaultS3CompartmentID != webOCID || idx.s3 != "web" {
		t.Fatalf("update to a new compartment: %d %+v, S3 compartment %q", status, md, idx.s3)
	}
	if status, _, code := do("admin", "GET", "/n/other", ""); status != 404 || code != "NamespaceNotFound" {
		t.Errorf("another namespace: %d %s", status, code)
	}
}
