package harness

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// ClusterName is the cluster name in the certificates of a test cluster.
const ClusterName = "e2e"

// AdminID is the ID of the admin certificate the harness and tests use
// (cairnctl, status checks).
const AdminID = "harness"

// initTLS makes the cluster's certificate directory with leaves for the
// harness's own identities: an admin one for cairnctl, and a gateway one
// for the meta client tests inspect the object index with (the Admin
// calls on it authenticate with the admin token). Processes get theirs
// from issue before they start.
func (c *Cluster) initTLS() error {
	if c.Insecure {
		return nil
	}
	c.CertDir = filepath.Join(c.Root, "tls")
	_, err := pki.EnsureDir(c.CertDir, ClusterName, []pki.Identity{{Role: pki.RoleAdmin, ID: AdminID}, {Role: pki.RoleGateway, ID: AdminID}}, nil, time.Now())
	return err
}

// issue makes sure the certificate directory holds a leaf for role/id and
// returns the flags a process needs to use it.
func (c *Cluster) issue(role pki.Role, id string) ([]string, error) {
	if c.Insecure {
		return []string{"--insecure-internal"}, nil
	}
	if _, err := pki.EnsureDir(c.CertDir, ClusterName, []pki.Identity{{Role: role, ID: id}}, []string{"127.0.0.1"}, time.Now()); err != nil {
		return nil, err
	}
	return []string{"--cert-dir", c.CertDir}, nil
}

// TLSArgs issues (when missing) a certificate for role/id and returns the
// flags a `cairn` process started by a test itself needs to use it.
func (c *Cluster) TLSArgs(t testing.TB, role pki.Role, id string) []string {
	t.Helper()
	args, err := c.issue(role, id)
	if err != nil {
		t.Fatal(err)
	}
	return args
}

// Transport returns a transport with the identity role/id, issued from the
// cluster's CA on first use; tests use it to call internal ports as that
// identity. On an insecure cluster it is plaintext.
func (c *Cluster) Transport(t testing.TB, role pki.Role, id string) *rpcauth.Transport {
	t.Helper()
	if c.Insecure {
		return rpcauth.Insecure()
	}
	if _, err := c.issue(role, id); err != nil {
		t.Fatal(err)
	}
	ident := pki.Identity{Role: role, ID: id}
	src, err := pki.Load(pki.DirFiles(c.CertDir, ident), ident, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rpcauth.MTLS(src)
}

// harnessDial is the transport credential of one of the harness's own
// identities (admin or gateway) toward servers of roles.
func (c *Cluster) harnessDial(role pki.Role, roles ...pki.Role) (grpc.DialOption, error) {
	if c.Insecure {
		return rpcauth.Insecure().Dial(), nil
	}
	ident := pki.Identity{Role: role, ID: AdminID}
	src, err := pki.Load(pki.DirFiles(c.CertDir, ident), ident, nil)
	if err != nil {
		return nil, err
	}
	return rpcauth.MTLS(src).Dial(roles...), nil
}

// CAFile is the cluster's CA bundle ("" on an insecure cluster).
func (c *Cluster) CAFile() string {
	if c.Insecure {
		return ""
	}
	ca, _ := pki.CAFiles(c.CertDir)
	return ca
}

// TrustArgs are cairnctl's flags to reach the meta port without an admin
// certificate: the CA bundle only (the admin token then authenticates),
// or --insecure.
func (c *Cluster) TrustArgs() []string {
	if c.Insecure {
		return []string{"--insecure"}
	}
	return []string{"--ca", c.CAFile()}
}

// CtlArgs are the connection flags of cairnctl for this cluster: the meta
// addresses and the harness's admin certificate.
func (c *Cluster) CtlArgs() []string {
	args := []string{"--addr", strings.Join(c.MetaAddrs, ",")}
	if c.Insecure {
		return append(args, "--insecure")
	}
	ca, _ := pki.CAFiles(c.CertDir)
	cert, key := pki.LeafFiles(c.CertDir, pki.Identity{Role: pki.RoleAdmin, ID: AdminID})
	return append(args, "--ca", ca, "--cert", cert, "--key", key)
}
