// Package keyring holds Cairn's master keys: the key encryption keys that
// wrap every object version's (and part's) data key and seal users' access
// key secrets in meta. Both the S3 gateway and meta nodes use it, so that a
// meta node can re-wrap a data key under another master key without ever
// seeing object data.
//
// # Keyring file
//
// A keyring is read from a file or the environment in one of two forms:
//
//   - one key alone, as 32 raw bytes or 64 hex digits (the single-key form
//     Cairn has always read); its ID is derived from the key;
//   - lines of text, one key per line: "ID HEX" (an operator-chosen ID and
//     64 hex digits) or "HEX" alone (ID derived from the key). Blank lines
//     and lines starting with # are ignored.
//
// The derived ID of a key is "mk-" and the first 8 bytes of
// HMAC-SHA256(key, "cairn-master-key-id-v1") in hex; it reveals nothing of
// the key. Every key also answers to its derived ID, so records wrapped
// before the key was given an explicit ID still unwrap.
//
// The first key listed is the default: it wraps new data until the cluster
// commits a rotation to another key (see docs/encryption.md).
//
// # Wrapping
//
// Wrap seals a short secret (a data key, an access key secret) with
// AES-256-GCM under one master key with a fresh random 12-byte nonce, and
// returns nonce || ciphertext || tag. The additional data binds the wrapped
// secret to where it is used: EnvelopeAAD for data keys (the envelope's
// algorithm, package size, nonce prefix, key ID and SSE-C salt, exactly as
// package s3api/sse has always bound them) and SecretAAD for access key
// secrets (the access key ID and the master key ID).
//
// Invariants:
//   - Keys never leave the package: no method returns, formats or logs key
//     material; String names a keyring by its IDs only.
//   - The package is a leaf: it imports nothing of Cairn's, so meta and
//     s3api can both depend on it.
//   - Every error wraps one of the exported sentinels.
package keyring
