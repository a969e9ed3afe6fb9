// Package arch checks Cairn's package dependency rules with `go list`, so
// they are enforced by a test rather than remembered; and, by parsing the
// module's Go files, that the kind of a Raft command is decided in one
// place only (meta's command registry) and that errors become gRPC
// statuses only at the edge (proto/rpcerr's interceptors; no
// rpcerr.ToStatus elsewhere but the authorizer).
package arch
