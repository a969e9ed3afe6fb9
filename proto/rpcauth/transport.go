package rpcauth

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cairn-store/cairn/proto/netseam"
	"github.com/cairn-store/cairn/proto/pki"
)

// Transport is how one process secures its internal connections, and the
// network it makes them on. A nil *Transport is plaintext on the system's
// network, as Insecure's.
type Transport struct {
	src *pki.Source
	net *netseam.Net
}

// MTLS is mutual TLS with src's identity and trust.
func MTLS(src *pki.Source) *Transport { return &Transport{src: src} }

// Insecure is plaintext with no identities: only for tests and a laptop
// that asked for it (--insecure-internal).
func Insecure() *Transport { return &Transport{} }

// Secure reports whether connections are mutual TLS.
func (t *Transport) Secure() bool { return t != nil && t.src != nil }

// Source is the identity source, nil when plaintext.
func (t *Transport) Source() *pki.Source {
	if t == nil {
		return nil
	}
	return t.src
}

// WithNet returns a copy of t that resolves names and binds listeners
// through n (nil: the system's network).
func (t *Transport) WithNet(n *netseam.Net) *Transport {
	c := Transport{net: n}
	if t != nil {
		c.src = t.src
	}
	return &c
}

// Net is the network t's connections go over: nil is the system's, a
// non-nil one the test seam (package netseam).
func (t *Transport) Net() *netseam.Net {
	if t == nil {
		return nil
	}
	return t.net
}

// Dial is the transport credential of a client whose server must hold one
// of roles. A client of a server other processes advertise uses
// DialOptions, which resolve its name on t's network.
func (t *Transport) Dial(roles ...pki.Role) grpc.DialOption {
	if !t.Secure() {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(t.src.ClientConfig(roles...)))
}

// DialOptions are how a process reaches a server that must hold one of
// roles: Dial's credential, and name resolution through the test seam
// when t's network is one.
func (t *Transport) DialOptions(roles ...pki.Role) []grpc.DialOption {
	return append([]grpc.DialOption{t.Dial(roles...)}, t.Net().GRPC()...)
}

// Server is the transport credential of a gRPC server. With
// clientCertOptional a client may connect without a certificate (the meta
// port, for cairnctl with the admin token); its calls then carry no
// identity.
func (t *Transport) Server(clientCertOptional bool) grpc.ServerOption {
	if !t.Secure() {
		return grpc.Creds(insecure.NewCredentials())
	}
	return grpc.Creds(credentials.NewTLS(t.src.ServerConfig(clientCertOptional)))
}
