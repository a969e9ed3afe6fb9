package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/pki"
)

// fakeSecrets is an API server holding the Secrets of namespace "ns".
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[string]*kubeSecret
	writes  int
}

func (f *fakeSecrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	const prefix = "/api/v1/namespaces/ns/secrets"
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, prefix), "/")
	var body kubeSecret
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
	}
	switch {
	case r.Method == http.MethodGet && f.secrets[name] != nil:
		_ = json.NewEncoder(w).Encode(f.secrets[name])
	case r.Method == http.MethodGet:
		http.Error(w, "not found", http.StatusNotFound)
	case r.Method == http.MethodPost && name == "" && f.secrets[body.Metadata.Name] == nil:
		f.writes++
		body.Metadata.ResourceVersion = strconv.Itoa(f.writes)
		f.secrets[body.Metadata.Name] = &body
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut && f.secrets[name] != nil && f.secrets[name].Metadata.ResourceVersion == body.Metadata.ResourceVersion:
		f.writes++
		body.Metadata.ResourceVersion = strconv.Itoa(f.writes)
		f.secrets[name] = &body
	default:
		http.Error(w, "conflict", http.StatusConflict)
	}
}

// TestKubeSync: the first run makes the CA and every certificate; a second
// run with one identity more issues only that one and keeps the CA; a
// certificate near its end is renewed.
func TestKubeSync(t *testing.T) {
	fake := &fakeSecrets{secrets: map[string]*kubeSecret{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	api := &kubeAPI{base: srv.URL, namespace: "ns", token: "tok", client: srv.Client()}
	ctx := context.Background()
	now := time.Now()
	ids := []pki.Identity{{Role: pki.RoleMeta, ID: "m-0"}, {Role: pki.RoleData, ID: "d-0"}}
	o := kubeSyncOptions{cluster: "k", caSecret: "ca", secret: "tls", ids: ids, validity: 30 * 24 * time.Hour}
	var out strings.Builder
	if err := kubeSync(ctx, api, o, now, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(secretKeys(fake.secrets["tls"]), " "); got != "ca.crt data-d-0.crt data-d-0.key meta-m-0.crt meta-m-0.key" {
		t.Fatalf("leaf Secret holds %s", got)
	}
	if _, ok := fake.secrets["tls"].Data["ca.key"]; ok {
		t.Fatal("the pods' Secret must not hold the CA key")
	}
	caPEM := string(fake.secrets["ca"].Data["ca.crt"])
	metaCert := string(fake.secrets["tls"].Data["meta-m-0.crt"])

	o.ids = append(ids, pki.Identity{Role: pki.RoleData, ID: "d-1"})
	out.Reset()
	if err := kubeSync(ctx, api, o, now.Add(time.Hour), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 certificates issued, 2 kept") {
		t.Fatalf("second run: %q", out.String())
	}
	if string(fake.secrets["ca"].Data["ca.crt"]) != caPEM || string(fake.secrets["tls"].Data["meta-m-0.crt"]) != metaCert {
		t.Fatal("a second run replaced the CA or a good certificate")
	}
	block, _ := pem.Decode(fake.secrets["tls"].Data["data-d-1.crt"])
	if block == nil {
		t.Fatal("no PEM certificate for data/d-1")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := pki.IdentityOf(c); err != nil || id.String() != "spiffe://cairn/k/data/d-1" {
		t.Fatalf("new certificate is %v (%v)", id, err)
	}

	out.Reset()
	if err := kubeSync(ctx, api, o, now.Add(25*24*time.Hour), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 certificates issued, 0 kept") {
		t.Fatalf("certificates with a sixth of their validity left must be renewed: %q", out.String())
	}
}

// TestKubeSyncRandoms: missing random values are made once, hex-encoded;
// existing ones are never replaced; a bad spec is refused.
func TestKubeSyncRandoms(t *testing.T) {
	fake := &fakeSecrets{secrets: map[string]*kubeSecret{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	api := &kubeAPI{base: srv.URL, namespace: "ns", token: "tok", client: srv.Client()}
	specs, err := parseRandomSpecs("mk/keyring:32,s3/accessKey:16,s3/secretKey:20")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := kubeSync(context.Background(), api, kubeSyncOptions{randoms: specs}, time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	key := string(fake.secrets["mk"].Data["keyring"])
	if len(key) != 64 || strings.Trim(key, "0123456789abcdef") != "" || len(fake.secrets["s3"].Data["secretKey"]) != 40 {
		t.Fatalf("random values: keyring %q, s3 %v", key, secretKeys(fake.secrets["s3"]))
	}
	specs = append(specs, randomSpec{secret: "mk", key: "other", bytes: 16})
	if err := kubeSync(context.Background(), api, kubeSyncOptions{randoms: specs}, time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if string(fake.secrets["mk"].Data["keyring"]) != key || len(fake.secrets["mk"].Data["other"]) != 32 {
		t.Fatal("a rerun must keep existing values and add only the missing one")
	}
	for _, bad := range []string{"mk/keyring", "mk:32", "mk/keyring:8", "/k:32"} {
		if _, err := parseRandomSpecs(bad); err == nil {
			t.Errorf("--random %q accepted", bad)
		}
	}
}
