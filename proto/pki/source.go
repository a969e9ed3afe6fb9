package pki

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Files names the PEM files of one process's identity.
type Files struct {
	// CA is the bundle of CA certificates peers must chain to. During a
	// CA rotation it holds the old and the new CA.
	CA string
	// Cert is the process's leaf (optionally followed by intermediates);
	// Key its private key.
	Cert, Key string
	// Revoked, optional, lists denied certificate serials in hex, one a
	// line ('#' starts a comment). A peer whose leaf is listed is refused.
	Revoked string
}

// ErrRefused marks a peer certificate that failed verification.
var ErrRefused = errors.New("pki: peer certificate refused")

// reloadEvery is how often a Source looks at its files' modification
// times (on the next handshake after the interval).
const reloadEvery = time.Second

// material is one consistent load of the files.
type material struct {
	pool    *x509.CertPool
	cert    *tls.Certificate
	self    Identity
	revoked map[string]bool
	stamp   string // a digest of the files' contents
}

// Source serves one process's certificate and verifies its peers,
// reloading the files when they change.
type Source struct {
	files Files
	want  Identity // the identity the process must keep across reloads
	log   *slog.Logger
	now   func() time.Time

	mu        sync.Mutex
	cur       *material
	lastCheck time.Time
	failed    string // the stamp of files that last failed to load
}

// Load reads files and checks the leaf carries the identity want. Empty
// parts of want match anything; the cluster name first read then stays
// for every reload. log receives reload messages; nil means slog.Default().
func Load(files Files, want Identity, log *slog.Logger) (*Source, error) {
	if files.CA == "" || files.Cert == "" || files.Key == "" {
		return nil, fmt.Errorf("pki: a CA bundle, a certificate and a key are all required")
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Source{files: files, want: want, log: log, now: time.Now}
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	// From now on every reload must keep this very identity.
	s.want = m.self
	s.cur = m
	s.lastCheck = s.now()
	return s, nil
}

// Identity is the process's own identity.
func (s *Source) Identity() Identity {
	return s.current().self
}

// stamp is a digest of the files' contents: reading a few kilobytes once
// a second is cheap, and unlike modification times it cannot miss a
// rewrite within one timestamp tick.
func (s *Source) stamp() string {
	h := sha256.New()
	for _, f := range []string{s.files.CA, s.files.Cert, s.files.Key, s.files.Revoked} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			data = []byte("missing:" + err.Error())
		}
		fmt.Fprintf(h, "%s:%d:", f, len(data))
		h.Write(data)
	}
	return string(h.Sum(nil))
}

func (s *Source) load() (*material, error) {
	stamp := s.stamp()
	pool, err := readBundle(s.files.CA)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(s.files.Cert)
	if err != nil {
		return nil, fmt.Errorf("pki: read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(s.files.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: read key: %w", err)
	}
	pair, err := x509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate %s and key %s: %w", s.files.Cert, s.files.Key, err)
	}
	revoked, err := readRevoked(s.files.Revoked)
	if err != nil {
		return nil, err
	}
	m := &material{pool: pool, cert: pair, revoked: revoked, stamp: stamp}
	self, err := m.verify(pair.Certificate, x509.ExtKeyUsageAny, s.now())
	if err != nil {
		return nil, fmt.Errorf("pki: own certificate %s: %w", s.files.Cert, err)
	}
	if s.want.Role != "" && self.Role != s.want.Role || s.want.ID != "" && self.ID != s.want.ID ||
		s.want.Cluster != "" && self.Cluster != s.want.Cluster {
		want := s.want
		if want.Cluster == "" {
			want.Cluster = self.Cluster
		}
		return nil, fmt.Errorf("%w: %s holds %s, this process is %s", ErrIdentity, s.files.Cert, self, want)
	}
	m.self = self
	return m, nil
}

// current returns the material in force, reloading it first when the
// files changed. A reload that fails keeps the old material and logs why.
func (s *Source) current() *material {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastCheck) < reloadEvery {
		return s.cur
	}
	s.lastCheck = now
	stamp := s.stamp()
	if stamp == s.cur.stamp || stamp == s.failed {
		return s.cur
	}
	m, err := s.load()
	if err != nil {
		// Said once per change of the files, not at every handshake.
		s.failed = stamp
		s.log.Warn("certificate files changed but could not be loaded; keeping the previous ones", "err", err)
		return s.cur
	}
	s.log.Info("reloaded certificates", "identity", m.self.String(), "serial", SerialHex(m.cert.Leaf), "not_after", m.cert.Leaf.NotAfter)
	s.cur = m
	return m
}

// Reload forces a check of the files now (tests; a SIGHUP handler).
func (s *Source) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	s.cur, s.lastCheck = m, s.now()
	return nil
}

// verify checks a peer's chain against the bundle and the deny-list and
// returns the identity its leaf carries.
func (m *material) verify(raw [][]byte, usage x509.ExtKeyUsage, now time.Time) (Identity, error) {
	if len(raw) == 0 {
		return Identity{}, fmt.Errorf("%w: no certificate", ErrRefused)
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	inter := x509.NewCertPool()
	for _, r := range raw[1:] {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.pool, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if m.revoked[SerialHex(leaf)] {
		return Identity{}, fmt.Errorf("%w: serial %s is on the deny-list", ErrRefused, SerialHex(leaf))
	}
	id, err := IdentityOf(leaf)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return id, nil
}

// VerifyPeer checks a peer's certificate chain against the bundle and the
// deny-list in force, and that it belongs to this cluster and to one of
// roles (any role when roles is empty).
func (s *Source) VerifyPeer(raw [][]byte, usage x509.ExtKeyUsage, roles ...Role) (Identity, error) {
	m := s.current()
	id, err := m.verify(raw, usage, s.now())
	if err != nil {
		return Identity{}, err
	}
	if id.Cluster != m.self.Cluster {
		return Identity{}, fmt.Errorf("%w: %s belongs to cluster %q, not %q", ErrRefused, id, id.Cluster, m.self.Cluster)
	}
	if len(roles) > 0 && !slices.Contains(roles, id.Role) {
		return Identity{}, fmt.Errorf("%w: %s is a %s, this port serves %v", ErrRefused, id, id.Role, roles)
	}
	return id, nil
}

// ServerConfig is the TLS configuration of a server port. With
// clientCertOptional the handshake admits a client without a certificate
// (the meta port, where cairnctl may authenticate with the admin token
// instead); a certificate that is sent is always verified. roles, when
// given, restrict which roles may connect at all.
func (s *Source) ServerConfig(clientCertOptional bool, roles ...Role) *tls.Config {
	auth := tls.RequireAnyClientCert
	if clientCertOptional {
		auth = tls.RequestClientCert
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: auth,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.current().cert, nil
		},
		// Verification is done here, against the bundle in force now,
		// rather than by ClientCAs fixed at construction.
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 && clientCertOptional {
				return nil
			}
			_, err := s.VerifyPeer(raw, x509.ExtKeyUsageClientAuth, roles...)
			return err
		},
	}
}

// ClientConfig is the TLS configuration of a client that dials a server
// of one of roles.
func (s *Source) ClientConfig(roles ...Role) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.current().cert, nil
		},
		// Host names are not what identifies a Cairn server; the identity
		// URI is, and VerifyPeerCertificate checks the chain and it.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := s.VerifyPeer(raw, x509.ExtKeyUsageServerAuth, roles...)
			return err
		},
	}
}

// TrustOnly is a client-side source with a CA bundle and no certificate of
// its own (cairnctl with the admin token): it verifies servers, and
// presents nothing.
func TrustOnly(caFile string) (*tls.Config, error) {
	pool, err := readBundle(caFile)
	if err != nil {
		return nil, err
	}
	m := &material{pool: pool}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			id, err := m.verify(raw, x509.ExtKeyUsageServerAuth, time.Now())
			if err != nil {
				return err
			}
			if id.Role != RoleMeta {
				return fmt.Errorf("%w: %s is not a meta node", ErrRefused, id)
			}
			return nil
		},
	}, nil
}

// readBundle reads a PEM bundle of CA certificates into a pool.
func readBundle(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA bundle: %w", err)
	}
	cas, err := parseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("pki: CA bundle %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return pool, nil
}

func readRevoked(path string) (map[string]bool, error) {
	out := map[string]bool{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pki: read deny-list: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(line)), "0x")
		line = strings.ReplaceAll(line, ":", "")
		if line = strings.TrimLeft(line, "0"); line != "" {
			out[line] = true
		}
	}
	return out, nil
}

// x509KeyPair parses a certificate chain and its key and fills Leaf.
func x509KeyPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPEM, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPEM, err)
		}
	}
	return &pair, nil
}
