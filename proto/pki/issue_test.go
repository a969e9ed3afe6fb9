package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIssue(t *testing.T) {
	// Whole seconds: certificates carry times to the second.
	now := time.Now().Truncate(time.Second)
	ca, _, err := NewCA("c1", 48*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	other := mustCA(t, "c1")
	id := ident(RoleData, "data-1")

	cases := []struct {
		name         string
		hosts        []string
		validity     time.Duration
		wantNotAfter time.Time
		wantDNS      []string
		wantIPs      []net.IP
	}{
		{name: "short validity", validity: time.Hour, wantNotAfter: now.Add(time.Hour)},
		{name: "capped at the CA's NotAfter", validity: 72 * time.Hour, wantNotAfter: ca.Cert.NotAfter},
		{name: "default validity capped too", validity: 0, wantNotAfter: ca.Cert.NotAfter},
		{
			name:         "hosts as SANs",
			hosts:        []string{"127.0.0.1", "data-1.cairn.internal", "", "::1", "localhost"},
			validity:     time.Hour,
			wantNotAfter: now.Add(time.Hour),
			wantDNS:      []string{"data-1.cairn.internal", "localhost"},
			wantIPs:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			leaf, err := ca.Issue(id, c.hosts, c.validity, now)
			if err != nil {
				t.Fatal(err)
			}
			cert := leaf.Cert

			// It chains to its CA, for both uses, and not to another CA.
			roots := x509.NewCertPool()
			roots.AddCert(ca.Cert)
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Fatalf("verify for usage %v: %v", usage, err)
				}
			}
			otherRoots := x509.NewCertPool()
			otherRoots.AddCert(other.Cert)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: otherRoots, CurrentTime: now}); err == nil {
				t.Fatal("the leaf verifies against another CA")
			}
			if cert.IsCA {
				t.Fatal("a leaf must not be a CA")
			}
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if !slices.Contains(cert.ExtKeyUsage, usage) {
					t.Fatalf("ExtKeyUsage %v lacks %v", cert.ExtKeyUsage, usage)
				}
			}

			if !cert.NotAfter.Equal(c.wantNotAfter) {
				t.Fatalf("NotAfter %v, want %v (CA NotAfter %v)", cert.NotAfter, c.wantNotAfter, ca.Cert.NotAfter)
			}
			if cert.NotAfter.After(ca.Cert.NotAfter) {
				t.Fatalf("leaf outlives its CA: %v > %v", cert.NotAfter, ca.Cert.NotAfter)
			}
			if !cert.NotBefore.Before(now) {
				t.Fatalf("NotBefore %v is not back-dated before %v", cert.NotBefore, now)
			}

			if !slices.Equal(cert.DNSNames, c.wantDNS) {
				t.Fatalf("DNSNames %q, want %q", cert.DNSNames, c.wantDNS)
			}
			if len(cert.IPAddresses) != len(c.wantIPs) {
				t.Fatalf("IPAddresses %v, want %v", cert.IPAddresses, c.wantIPs)
			}
			for i, ip := range c.wantIPs {
				if !cert.IPAddresses[i].Equal(ip) {
					t.Fatalf("IPAddresses %v, want %v", cert.IPAddresses, c.wantIPs)
				}
			}

			got, err := IdentityOf(cert)
			if err != nil || got != id {
				t.Fatalf("IdentityOf = %+v, %v; want %+v", got, err, id)
			}

			// CertPEM is the leaf followed by its CA.
			certs, err := parseCerts(leaf.CertPEM)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 2 || !certs[0].Equal(cert) || !certs[1].Equal(ca.Cert) {
				t.Fatalf("CertPEM holds %d certificates, want the leaf then the CA", len(certs))
			}
			if _, err := x509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
				t.Fatalf("leaf and key do not pair: %v", err)
			}
		})
	}
}

func TestIssueSerialsDiffer(t *testing.T) {
	ca := mustCA(t, "c1")
	seen := map[string]bool{SerialHex(ca.Cert): true}
	for range 8 {
		s := SerialHex(mustIssue(t, ca, ident(RoleMeta, "meta-1")).Cert)
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := InitDir(dir, "prod-eu", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := CAFiles(dir)
	loaded, err := LoadCA(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Cluster != "prod-eu" {
		t.Fatalf("Cluster %q, want prod-eu", loaded.Cluster)
	}
	if !loaded.Cert.Equal(ca.Cert) || !bytes.Equal(loaded.CertPEM, ca.CertPEM) {
		t.Fatal("LoadCA read back a different certificate")
	}
	// The loaded CA issues leaves that chain to the original.
	leaf, err := loaded.Issue(Identity{Cluster: loaded.Cluster, Role: RoleMeta, ID: "meta-1"}, nil, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatal(err)
	}

	t.Run("key of another CA", func(t *testing.T) {
		other := t.TempDir()
		if _, err := InitDir(other, "prod-eu", 0, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, otherKey := CAFiles(other)
		if _, err := LoadCA(certFile, otherKey); !errors.Is(err, ErrPEM) {
			t.Fatalf("err %v, want ErrPEM", err)
		}
	})
	t.Run("a leaf is not a CA", func(t *testing.T) {
		leafDir := t.TempDir()
		c, k := filepath.Join(leafDir, "leaf.crt"), filepath.Join(leafDir, "leaf.key")
		if err := leaf.WriteFiles(c, k); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(c, k); !errors.Is(err, ErrPEM) {
			t.Fatalf("err %v, want ErrPEM", err)
		}
	})
	t.Run("missing files", func(t *testing.T) {
		if _, err := LoadCA(filepath.Join(dir, "nope.crt"), keyFile); err == nil {
			t.Fatal("LoadCA of a missing certificate succeeded")
		}
	})
}
