package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity defaults: a CA outlives many leaf rotations.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 365 * 24 * time.Hour
	// clockSkew back-dates NotBefore so a peer whose clock runs a little
	// behind accepts a certificate issued a moment ago.
	clockSkew = 5 * time.Minute
)

// ErrPEM marks a file that does not hold the PEM block expected.
var ErrPEM = errors.New("pki: PEM")

// CA is a certificate authority that can issue Cairn leaves.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     crypto.Signer
	Cluster string
}

// NewCA creates a self-signed CA for cluster.
func NewCA(cluster string, validity time.Duration, now time.Time) (*CA, []byte, error) {
	if !validName(cluster) {
		return nil, nil, fmt.Errorf("%w: cluster name %q (letters, digits, '.', '_', '-')", ErrIdentity, cluster)
	}
	if validity <= 0 {
		validity = DefaultCAValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Cairn cluster CA " + cluster + " " + now.UTC().Format("2006-01-02T15:04:05Z"), Organization: []string{"Cairn"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// The cluster's name rides along, so `cairnctl cert issue` knows
		// which cluster a leaf is for.
		URIs: []*url.URL{{Scheme: "spiffe", Host: TrustDomain, Path: "/" + cluster}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: parse CA: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return &CA{Cert: cert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key, Cluster: cluster}, keyPEM, nil
}

// LoadCA reads a CA certificate and its private key. Cluster is the name
// the CA was made for when it carries spiffe://cairn/<cluster> (NewCA's
// do); for a CA made elsewhere it is empty and the caller names the
// cluster at issue time.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	certs, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}
	// During a CA rotation the file is a bundle: the CA is the one
	// certificate in it that the key belongs to.
	var pair *tls.Certificate
	var caCert *x509.Certificate
	for _, c := range certs {
		p, perr := x509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), keyPEM)
		if perr == nil {
			pair, caCert = p, c
			break
		}
		err = perr
	}
	if pair == nil {
		return nil, fmt.Errorf("pki: CA %s and key %s: %w", certFile, keyFile, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: CA key %s cannot sign", ErrPEM, keyFile)
	}
	if !caCert.IsCA {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrPEM, certFile)
	}
	ca := &CA{Cert: caCert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), key: signer}
	for _, u := range ca.Cert.URIs {
		if name := strings.TrimPrefix(u.Path, "/"); u.Scheme == "spiffe" && u.Host == TrustDomain && validName(name) {
			ca.Cluster = name
		}
	}
	return ca, nil
}

// Leaf is an issued certificate with its key, both PEM.
type Leaf struct {
	CertPEM []byte // the leaf, then the issuing CA
	KeyPEM  []byte
	Cert    *x509.Certificate
}

// Issue signs a leaf for id. hosts (DNS names or IP addresses) go into
// the SANs too, for tools that check host names; Cairn itself checks
// only the identity URI.
func (ca *CA) Issue(id Identity, hosts []string, validity time.Duration, now time.Time) (*Leaf, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if validity <= 0 {
		validity = DefaultLeafValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: string(id.Role) + "/" + id.ID, Organization: []string{"Cairn " + id.Cluster}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{id.URI()},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign leaf for %s: %w", id, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse leaf: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.CertPEM...)
	return &Leaf{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert}, nil
}

// WriteFiles writes the leaf to certFile (0644) and keyFile (0600), each
// through a temporary file and a rename, so a process reloading them never
// reads half a file.
func (l *Leaf) WriteFiles(certFile, keyFile string) error {
	if err := WriteFileAtomic(keyFile, l.KeyPEM, 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(certFile, l.CertPEM, 0o644)
}

// WriteFileAtomic replaces path with data through a temporary file in the
// same directory and a rename.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pki: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, werr)
	}
	return nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseCerts reads every CERTIFICATE block of a PEM bundle.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPEM, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrPEM)
	}
	return out, nil
}

// SerialHex is how serials are written in a deny-list: lower-case hex.
func SerialHex(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// ReadCertificate reads the first certificate of a PEM file.
func ReadCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	certs, err := parseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return certs[0], nil
}
