// Package sse owns the encryption of object data in Cairn's S3 gateway:
// encryption at rest under the cluster master key (always on) and SSE-C,
// where the customer sends the key with every request.
//
// # Package format (algorithm "cairn-aes256gcm-v1")
//
// Every object version, and every part of a multipart upload, gets its own
// random 256-bit data key and a random 4-byte nonce prefix. The plaintext is
// cut into packages of PackageSize bytes (64 KiB; the size is recorded with
// the data, so it can change later); the last package may be shorter, and an
// empty stream is one empty package. Package i is sealed with AES-256-GCM
// under the data key:
//
//	nonce = prefix (4 bytes) || i (8 bytes, big-endian)
//	AAD   = "cairn-sse-v1" || i (8 bytes, big-endian) || final (1 byte: 1 on the last package)
//
// so a package cannot be moved to another index, a stream cannot be cut
// short at a package boundary, and a package of another version fails to
// authenticate (its data key differs). Two layouts hold the sealed packages:
//
//   - streamed (erasure-coded data): ct_0 || tag_0 || ct_1 || tag_1 || ...;
//     the ciphertext is SealedSize(p) = p + 16·max(1, ⌈p/PackageSize⌉) bytes.
//   - detached (inline data kept in the meta record): ct_0 || ct_1 || ...,
//     exactly as long as the plaintext, with the tags kept apart (in the
//     record's encryption field). Inline lengths thus equal plaintext sizes,
//     which the multipart layout relies on.
//
// # Keys
//
// The data key is wrapped with AES-256-GCM (random 12-byte nonce) by a key
// encryption key: the active master key of the keyring (package
// meta/keyring; an Envelope then names its ID, and any key of the keyring
// opens what it wrapped), or for
// SSE-C a key derived from the customer key with HKDF-SHA256 and a random
// salt. The wrapping binds the envelope's parameters (algorithm, package
// size, nonce prefix, key ID, salt) as additional data. For SSE-C the
// envelope keeps only the salt and HMAC-SHA256(customer key, label || salt),
// which rejects a wrong key without being able to recover it.
//
// Invariants:
//   - Streaming and constant memory: EncryptReader and DecryptWriter hold one
//     package (PackageSize + 16 bytes) whatever the object size, and allocate
//     nothing per package.
//   - Nothing here stores, logs or formats a customer key: CustomerKey keeps
//     it unexported and redacts it in String and LogValue, and no error
//     carries key material.
//   - A decrypted byte is released only after its package authenticated;
//     any failure is an error wrapping ErrTampered, never wrong bytes.
//   - Every error wraps one of the exported sentinels, each documented with
//     the S3 error it becomes. This package writes no S3 XML and imports
//     nothing of Cairn's but the leaf package meta/keyring.
package sse
