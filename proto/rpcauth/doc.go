// Package rpcauth decides who may call which of Cairn's internal RPCs, and
// secures the connections they travel on.
//
// Transport gives a process's gRPC servers and clients their credentials:
// mutual TLS from a pki.Source, or plaintext when the operator asked for
// it explicitly (--insecure-internal). Authorizer applies the one table
// (Table) that maps every Meta, Admin and Data method to the roles that
// may call it, plus the identity checks that go beyond a role (a data
// node speaks only for itself).
//
// Invariants:
//   - Every method of every Cairn gRPC service has exactly one row; a
//     method without one is refused, and a test fails until it has one.
//   - A call's identity is its peer's verified certificate. The only
//     exception is a call a meta node forwards to its leader: a meta peer
//     may name the original caller, whose identity the first meta node
//     verified, and the leader authorizes that caller again.
//   - Refusals are gRPC statuses with a Cairn reason: Unauthenticated
//     when the caller proved no identity, PermissionDenied when it did but
//     its role or ID may not make the call.
package rpcauth
