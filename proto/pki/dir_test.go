package pki

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readAll(t *testing.T, paths ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

func wantMode(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != mode {
		t.Fatalf("%s has mode %v, want %v", filepath.Base(path), got, mode)
	}
}

func TestInitDir(t *testing.T) {
	dir := t.TempDir()
	ca, err := InitDir(dir, "c1", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := CAFiles(dir)
	wantMode(t, keyFile, 0o600)
	wantMode(t, certFile, 0o644)
	if ca.Cluster != "c1" {
		t.Fatalf("Cluster %q", ca.Cluster)
	}
	before := readAll(t, certFile, keyFile)

	if _, err := InitDir(dir, "c1", 0, time.Now()); err == nil {
		t.Fatal("InitDir replaced an existing CA")
	}
	for p, b := range readAll(t, certFile, keyFile) {
		if !bytes.Equal(b, before[p]) {
			t.Fatalf("%s changed", filepath.Base(p))
		}
	}

	// Half a CA is still a CA: the key left by an interrupted init, or a
	// certificate made elsewhere (no key here) that is the cluster's
	// trust anchor.
	for _, keep := range []string{"ca.key", "ca.crt"} {
		t.Run("only "+keep, func(t *testing.T) {
			d := t.TempDir()
			p := filepath.Join(d, keep)
			orig := before[filepath.Join(dir, keep)]
			if err := WriteFileAtomic(p, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := InitDir(d, "c1", 0, time.Now()); err == nil {
				t.Fatal("InitDir replaced part of an existing CA")
			}
			if got := readAll(t, p)[p]; !bytes.Equal(got, orig) {
				t.Fatalf("%s changed", keep)
			}
		})
	}
}

func TestEnsureDir(t *testing.T) {
	dir := t.TempDir()
	first := []Identity{{Role: RoleMeta, ID: "meta-1"}, {Role: RoleData, ID: "data-1"}}
	ca, err := EnsureDir(dir, "c1", first, []string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caCert, caKey := CAFiles(dir)
	paths := []string{caCert, caKey}
	for _, id := range first {
		c, k := LeafFiles(dir, id)
		paths = append(paths, c, k)
		wantMode(t, k, 0o600)
		wantMode(t, c, 0o644)
	}
	wantMode(t, caKey, 0o600)
	before := readAll(t, paths...)

	// A second call with one more identity (and another cluster name and
	// other hosts, which an existing CA and existing leaves override)
	// adds that leaf only.
	second := append(first, Identity{Cluster: "ignored", Role: RoleGateway, ID: "gateway-1"})
	ca2, err := EnsureDir(dir, "other", second, []string{"10.0.0.9"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !ca2.Cert.Equal(ca.Cert) || ca2.Cluster != "c1" {
		t.Fatalf("EnsureDir made a new CA (cluster %q)", ca2.Cluster)
	}
	for p, b := range readAll(t, paths...) {
		if !bytes.Equal(b, before[p]) {
			t.Fatalf("%s changed", filepath.Base(p))
		}
	}
	gc, gk := LeafFiles(dir, second[2])
	wantMode(t, gk, 0o600)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, id := range second {
		c, _ := LeafFiles(dir, id)
		cert, err := ReadCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got, err := IdentityOf(cert)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Identity{Cluster: "c1", Role: id.Role, ID: id.ID}); got != want {
			t.Fatalf("%s carries %+v, want %+v", filepath.Base(c), got, want)
		}
		// Each leaf loads as a Source from DirFiles.
		src, err := Load(DirFiles(dir, id), Identity{Role: id.Role, ID: id.ID}, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		if src.Identity().Cluster != "c1" {
			t.Fatalf("Source identity %+v", src.Identity())
		}
	}
	gateway, err := ReadCertificate(gc)
	if err != nil {
		t.Fatal(err)
	}
	if len(gateway.IPAddresses) != 1 || gateway.IPAddresses[0].String() != "10.0.0.9" {
		t.Fatalf("new leaf's IP SANs %v, want the hosts of the call that made it", gateway.IPAddresses)
	}
	metaCert, _ := LeafFiles(dir, first[0])
	meta, err := ReadCertificate(metaCert)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.DNSNames) != 1 || meta.DNSNames[0] != "localhost" {
		t.Fatalf("first leaf's DNS SANs %v", meta.DNSNames)
	}
}

func TestEnsureDirUsesAnExistingCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := InitDir(dir, "prod", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Role: RoleAdmin, ID: "ops"}
	got, err := EnsureDir(dir, "dev", []Identity{id}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) || got.Cluster != "prod" {
		t.Fatalf("EnsureDir did not use the existing CA (cluster %q)", got.Cluster)
	}
	c, _ := LeafFiles(dir, id)
	cert, err := ReadCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	if cid, err := IdentityOf(cert); err != nil || cid.Cluster != "prod" {
		t.Fatalf("leaf identity %+v, %v; want cluster prod", cid, err)
	}
}
