package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Role is what a process is allowed to be in the cluster.
type Role string

// The roles. Every RPC's row in the authorization table names the roles
// that may call it.
const (
	RoleMeta    Role = "meta"
	RoleData    Role = "data"
	RoleGateway Role = "gateway"
	RoleAdmin   Role = "admin"
)

// Roles lists every role, in a stable order.
func Roles() []Role { return []Role{RoleMeta, RoleData, RoleGateway, RoleAdmin} }

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: role %q (want meta, data, gateway or admin)", ErrIdentity, s)
}

// TrustDomain is the host part of every Cairn identity URI.
const TrustDomain = "cairn"

// ErrIdentity marks a certificate or name that is not a valid Cairn
// identity.
var ErrIdentity = errors.New("pki: identity")

// Identity names one process of one cluster.
type Identity struct {
	Cluster string
	Role    Role
	ID      string
}

// validName reports whether s can be a cluster name or an ID: 1 to 128
// letters, digits, '.', '_' or '-', starting with a letter or digit, so it
// is one URI path segment without escaping.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// Validate checks every part of the identity.
func (id Identity) Validate() error {
	if !validName(id.Cluster) {
		return fmt.Errorf("%w: cluster name %q (letters, digits, '.', '_', '-')", ErrIdentity, id.Cluster)
	}
	if _, err := ParseRole(string(id.Role)); err != nil {
		return err
	}
	if !validName(id.ID) {
		return fmt.Errorf("%w: ID %q (letters, digits, '.', '_', '-')", ErrIdentity, id.ID)
	}
	return nil
}

// URI is the identity as the URI SAN a certificate carries.
func (id Identity) URI() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: TrustDomain, Path: "/" + id.Cluster + "/" + string(id.Role) + "/" + id.ID}
}

// String is the URI form.
func (id Identity) String() string { return id.URI().String() }

// ParseIdentity reads a spiffe://cairn/<cluster>/<role>/<id> URI.
func ParseIdentity(s string) (Identity, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %q: %w", ErrIdentity, s, err)
	}
	return identityFromURI(u)
}

func identityFromURI(u *url.URL) (Identity, error) {
	if u.Scheme != "spiffe" || u.Host != TrustDomain {
		return Identity{}, fmt.Errorf("%w: %q is not a spiffe://%s/ URI", ErrIdentity, u, TrustDomain)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 3 {
		return Identity{}, fmt.Errorf("%w: %q: want spiffe://%s/<cluster>/<role>/<id>", ErrIdentity, u, TrustDomain)
	}
	id := Identity{Cluster: parts[0], Role: Role(parts[1]), ID: parts[2]}
	if err := id.Validate(); err != nil {
		return Identity{}, err
	}
	if u.String() != id.String() {
		return Identity{}, fmt.Errorf("%w: %q is not in the canonical form %q (no user, query, fragment or escapes)", ErrIdentity, u, id)
	}
	return id, nil
}

// IdentityOf returns the Cairn identity a certificate carries: its one
// URI SAN in the cairn trust domain. A certificate with none, or with
// several, has no identity.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range cert.URIs {
		if u.Scheme != "spiffe" || u.Host != TrustDomain {
			continue
		}
		id, err := identityFromURI(u)
		if err != nil {
			return Identity{}, err
		}
		found = append(found, id)
	}
	switch len(found) {
	case 0:
		return Identity{}, fmt.Errorf("%w: certificate %q carries no spiffe://%s/ URI SAN", ErrIdentity, cert.Subject.CommonName, TrustDomain)
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("%w: certificate %q carries %d Cairn identities", ErrIdentity, cert.Subject.CommonName, len(found))
}
