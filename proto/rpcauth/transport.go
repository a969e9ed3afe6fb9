package rpcauth

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cairn-store/cairn/proto/pki"
)

// Transport is how one process secures its internal connections. A nil
// *Transport is plaintext, as Insecure's.
type Transport struct {
	src *pki.Source
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

// Dial is the transport credential of a client whose server must hold one
// of roles.
func (t *Transport) Dial(roles ...pki.Role) grpc.DialOption {
	if !t.Secure() {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(t.src.ClientConfig(roles...)))
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
