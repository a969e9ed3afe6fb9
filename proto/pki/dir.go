package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// A certificate directory holds a cluster's CA and the leaves issued from
// it, named so that every tool finds them: ca.crt and ca.key, and
// <role>-<id>.crt and <role>-<id>.key for each leaf. `cairnctl cert`,
// `cairn dev`, the local cluster script and the test harness use it.

// CAFiles are the CA certificate and key in dir.
func CAFiles(dir string) (cert, key string) {
	return filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
}

// LeafFiles are the certificate and key of id in dir.
func LeafFiles(dir string, id Identity) (cert, key string) {
	base := filepath.Join(dir, string(id.Role)+"-"+id.ID)
	return base + ".crt", base + ".key"
}

// DirFiles are the Files of id's process in dir: the dir's CA as the
// bundle, and id's leaf.
func DirFiles(dir string, id Identity) Files {
	ca, _ := CAFiles(dir)
	cert, key := LeafFiles(dir, id)
	return Files{CA: ca, Cert: cert, Key: key}
}

// InitDir writes a new CA for cluster into dir. It refuses to replace an
// existing CA: every leaf issued from it would stop being trusted.
func InitDir(dir, cluster string, validity time.Duration, now time.Time) (*CA, error) {
	certFile, keyFile := CAFiles(dir)
	for _, f := range []string{keyFile, certFile} {
		if _, err := os.Stat(f); err == nil {
			return nil, fmt.Errorf("pki: %s already holds a CA (%s); remove it first to start over", dir, f)
		}
	}
	ca, keyPEM, err := NewCA(cluster, validity, now)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(certFile, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// EnsureDir makes dir a certificate directory for cluster holding a leaf
// for each of ids: the CA is created when dir has none, and leaves that
// are missing are issued (hosts go into their SANs). Existing files are
// kept. Identities' Cluster fields are set to the CA's.
func EnsureDir(dir, cluster string, ids []Identity, hosts []string, now time.Time) (*CA, error) {
	certFile, keyFile := CAFiles(dir)
	ca, err := LoadCA(certFile, keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		ca, err = InitDir(dir, cluster, 0, now)
	}
	if err != nil {
		return nil, err
	}
	if ca.Cluster == "" {
		ca.Cluster = cluster
	}
	for _, id := range ids {
		id.Cluster = ca.Cluster
		c, k := LeafFiles(dir, id)
		_, cerr := os.Stat(c)
		_, kerr := os.Stat(k)
		if cerr == nil && kerr == nil {
			continue
		}
		leaf, err := ca.Issue(id, hosts, 0, now)
		if err != nil {
			return nil, err
		}
		if err := leaf.WriteFiles(c, k); err != nil {
			return nil, err
		}
	}
	return ca, nil
}
