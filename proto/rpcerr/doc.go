// Package rpcerr is the error vocabulary shared by Cairn's gRPC servers and
// clients. Servers return the sentinels below (wrapped freely with %w);
// ToStatus turns them into a gRPC status carrying a machine-readable reason
// exactly once, at the server edge, and FromStatus turns that status back
// into the same sentinel at the client edge, so callers match with
// errors.Is on both sides of the wire.
package rpcerr
