// Package rpcerr is the error vocabulary shared by Cairn's gRPC servers and
// clients. Servers return the sentinels below (wrapped freely with %w);
// the edge interceptors (ServerOptions) turn them into a gRPC status
// carrying a machine-readable reason exactly once, on the way out of the
// server, and FromStatus turns that status back into the same sentinel at
// the client edge, so callers match with errors.Is on both sides of the
// wire.
//
// Invariants:
//   - Everything decided about a sentinel sits in its one row of the
//     table (Sentinel): gRPC code, wire reason, whether clients retry it,
//     its S3 code. Other lists are derived from the rows: Retryable here,
//     meta's refusal rule (every row, through ReasonOf), the gateway's S3
//     translation (Sentinels). A test fails when a declared sentinel has
//     no row or a row leaves a fact undecided.
//   - ToStatus is called by the edge interceptors only (and by the
//     authorizer, whose refusals are statuses by contract); test/arch
//     enforces it. Code that wants an error's reason without answering a
//     call asks ReasonOf.
//   - An error that already is a status (a forwarded call's answer, an
//     interceptor's refusal) leaves the edge unchanged; a context error
//     becomes Canceled or DeadlineExceeded; anything else is Internal.
//   - A row is Retryable exactly when its code is Unavailable, so a client
//     that gets only the code decides the same.
package rpcerr
