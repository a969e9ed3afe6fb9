// Package pki is Cairn's cluster identity: who a process is, proven by an
// X.509 certificate that chains to the cluster's CA bundle.
//
// An identity is a cluster name, a role (meta, data, gateway or admin) and
// an ID, carried in the certificate as one URI SAN of the form
// spiffe://cairn/<cluster>/<role>/<id>. Any CA can issue such
// certificates: the one `cairnctl cert init` makes, cert-manager, or an
// enterprise CA; Cairn trusts what chains to the bundle it is given and
// reads the identity from the URI, never from host names.
//
// Invariants:
//   - A Source never serves or accepts material it could not verify: a
//     certificate whose key does not match, that does not chain to the
//     bundle, or whose identity differs from the process's own is refused
//     at reload, and the previous material stays in use.
//   - Peers are verified against the bundle current at handshake time, so
//     a CA swap or a serial added to the deny-list applies to every new
//     connection without a restart.
//   - TLS 1.3 only; every leaf may act as server and client.
package pki
