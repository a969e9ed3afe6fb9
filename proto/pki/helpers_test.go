package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for a Source's now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustCA(t *testing.T, cluster string) *CA {
	t.Helper()
	ca, _, err := NewCA(cluster, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustIssue(t *testing.T, ca *CA, id Identity) *Leaf {
	t.Helper()
	leaf, err := ca.Issue(id, nil, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// ident is a shorthand for an identity of cluster c1.
func ident(role Role, id string) Identity { return Identity{Cluster: "c1", Role: role, ID: id} }

// bundle concatenates CA certificates into one PEM bundle.
func bundle(cas ...*CA) []byte {
	var out []byte
	for _, ca := range cas {
		out = append(out, ca.CertPEM...)
	}
	return out
}

// writeProcess writes one process's files (CA bundle, leaf, key) under
// dir with names prefixed by name.
func writeProcess(t *testing.T, dir, name string, caBundle []byte, leaf *Leaf) Files {
	t.Helper()
	f := Files{
		CA:   filepath.Join(dir, name+"-ca.pem"),
		Cert: filepath.Join(dir, name+".crt"),
		Key:  filepath.Join(dir, name+".key"),
	}
	if err := WriteFileAtomic(f.CA, caBundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := leaf.WriteFiles(f.Cert, f.Key); err != nil {
		t.Fatal(err)
	}
	return f
}

// loadProcess writes a process's files into a fresh directory and loads a
// Source for them, wanting the leaf's own role and ID.
func loadProcess(t *testing.T, caBundle []byte, leaf *Leaf) (*Source, Files) {
	t.Helper()
	id, err := IdentityOf(leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	f := writeProcess(t, t.TempDir(), string(id.Role)+"-"+id.ID, caBundle, leaf)
	src, err := Load(f, Identity{Role: id.Role, ID: id.ID}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return src, f
}

// bumpMTime gives files a modification time of their own, so a Source's
// change detection (modification time and size) sees a rewrite even when
// the file system's clock did not tick and the size did not change.
func bumpMTime(t *testing.T, at time.Time, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial is the serial of the leaf a Source serves to TLS peers.
func servedSerial(t *testing.T, s *Source) string {
	t.Helper()
	c, err := s.ServerConfig(false).GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return SerialHex(leaf)
}

// chain is the DER chain a peer presenting leaf sends.
func chain(t *testing.T, leaf *Leaf) [][]byte {
	t.Helper()
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Certificate
}

// rawConfig is a TLS configuration presenting leaf that checks nothing
// about its peer: the other side of a handshake whose verification is
// under test.
func rawConfig(t *testing.T, leaf *Leaf) *tls.Config {
	t.Helper()
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, ClientAuth: tls.RequestClientCert}
	if leaf != nil {
		pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// selfSigned is a self-signed leaf carrying id, as an attacker without the
// CA's key could make.
func selfSigned(t *testing.T, id Identity) *Leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := newSerial()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "self-signed"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{id.URI()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Leaf{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM, Cert: cert}
}

// withURIs signs, with ca, a leaf whose URI SANs are exactly uris.
func withURIs(t *testing.T, ca *CA, uris ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := newSerial()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "crafted"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"crafted.example"},
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// side is what one end of a handshake saw.
type side struct {
	err  error     // the first failure: handshake, write or read
	peer *Identity // the identity of the peer's certificate, nil if it sent none
}

// handshake runs one TLS connection over loopback TCP, server and client
// each with its configuration, and exchanges a byte each way so that a
// client whose certificate the server refuses (reported by TLS 1.3 only
// after the client's handshake is done) sees the refusal.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (server, client side) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan side, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- side{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		done <- exchange(tls.Server(conn, serverCfg), false)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	client = exchange(tls.Client(conn, clientCfg), true)
	conn.Close()
	server = <-done
	return server, client
}

func exchange(c *tls.Conn, isClient bool) side {
	var s side
	if err := c.Handshake(); err != nil {
		return side{err: err}
	}
	buf := make([]byte, 1)
	var err error
	if isClient {
		if _, err = c.Write([]byte{'?'}); err == nil {
			_, err = io.ReadFull(c, buf)
		}
	} else {
		if _, err = io.ReadFull(c, buf); err == nil {
			_, err = c.Write([]byte{'!'})
		}
	}
	if err != nil {
		return side{err: err}
	}
	if certs := c.ConnectionState().PeerCertificates; len(certs) > 0 {
		id, err := IdentityOf(certs[0])
		if err != nil {
			return side{err: err}
		}
		s.peer = &id
	}
	return s
}
