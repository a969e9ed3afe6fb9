// Package model is the gateway's object model: the data of object
// versions, apart from any wire protocol. It knows nothing of HTTP, so
// every front end (the S3 API in package s3api, and any other) writes and
// reads objects through the same code.
//
// Store.Write streams a body into a new version's data: sealed under a
// fresh data key (package sse) wrapped by the master key or a customer
// key, then inlined in the record when small or erasure coded onto k+m
// data nodes placed one per host (package placement), acknowledged once
// the write quorum of shards is durable. Store.Read writes any range of a
// version back, decoding only the stripes and decrypting only the
// packages the range touches, reading around shards that are missing,
// corrupt or out of reach, and reporting those to meta. Store.Copy and
// Store.CopyRange pipe one into the other. Nothing here commits a
// version: the caller commits what Write returns, with its own metadata,
// through meta (and a refused commit leaves orphan shards that meta
// reclaims).
//
// Encryption helpers (encrypt.go) check a request's customer key against
// a record and derive ETags; they are the one place that knows how an
// envelope is kept in a record.
//
// Invariants:
//   - No path holds a whole object in memory: bodies stream a stripe at a
//     time; only data at or below the inline threshold is read whole.
//   - Every byte read back was authenticated (AES-GCM per package) before
//     it is written out; a read that cannot authenticate stops.
//   - This package imports no net/http (test/arch).
package model
