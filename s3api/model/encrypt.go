package model

import (
	"encoding/hex"
	"errors"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/sse"
)

// ErrNoEnvelope: a version (or part) record without an encryption
// envelope. Every version the gateway writes has one, so this is a record
// from before encryption, or a write path that dropped it.
var ErrNoEnvelope = errors.New("model: data has no encryption envelope")

// Encryption in the object model, in one place:
//
//   - Write seals every body before erasure coding (or inlining)
//     under a fresh data key, wrapped by the master key or, with SSE-C, by
//     the customer key; the record keeps the envelope (cairnpb.Encryption).
//   - Read opens the envelope and decrypts only the packages a range
//     touches; multipart versions carry one envelope per part.
//   - Front ends parse a request's customer key (s3api: the SSE-C headers)
//     and check it against the record with CheckCustomerKey /
//     CheckUploadKey before anything about the data goes out.

// envelopeOf converts a record's envelope for package sse.
func envelopeOf(e *cairnpb.Encryption) *sse.Envelope {
	return &sse.Envelope{
		Algorithm: e.GetAlgorithm(), PackageSize: int(e.GetPackageSize()), NoncePrefix: e.GetNoncePrefix(),
		WrappedKey: e.GetWrappedKey(), KeyID: e.GetKeyId(), Check: keyCheckOf(e),
	}
}

// encryptionOf converts an envelope for the record.
func encryptionOf(e *sse.Envelope) *cairnpb.Encryption {
	return &cairnpb.Encryption{
		Algorithm: e.Algorithm, PackageSize: int32(e.PackageSize), NoncePrefix: e.NoncePrefix,
		WrappedKey: e.WrappedKey, KeyId: e.KeyID, CustomerKeySalt: e.Check.Salt, CustomerKeyHmac: e.Check.MAC,
	}
}

func keyCheckOf(e *cairnpb.Encryption) sse.KeyCheck {
	return sse.KeyCheck{Salt: e.GetCustomerKeySalt(), MAC: e.GetCustomerKeyHmac()}
}

// openEnvelope returns the cipher of a record's data.
func (s *Store) openEnvelope(e *cairnpb.Encryption, ck *sse.CustomerKey) (*sse.Cipher, error) {
	if e == nil {
		return nil, ErrNoEnvelope
	}
	return envelopeOf(e).Open(s.master, ck)
}

// IsSSEC reports whether v's data is sealed with a customer key.
func IsSSEC(v *cairnpb.ObjectVersion) bool {
	if parts := v.GetParts(); len(parts) > 0 {
		return !keyCheckOf(parts[0].GetEncryption()).Empty()
	}
	return !keyCheckOf(v.GetEncryption()).Empty()
}

// CheckCustomerKey checks a request's SSE-C key (nil when it sent none)
// against v, before anything about v's data is sent: sse.ErrSSEEncryptedObject
// without a key for SSE-C data, sse.ErrAccessDenied for another key,
// sse.ErrInvalidEncryptionParameters for a key on data not SSE-C encrypted.
func CheckCustomerKey(v *cairnpb.ObjectVersion, ck *sse.CustomerKey) error {
	if parts := v.GetParts(); len(parts) > 0 {
		for _, p := range parts {
			if err := keyCheckOf(p.GetEncryption()).Verify(ck); err != nil {
				return err
			}
		}
		return nil
	}
	return keyCheckOf(v.GetEncryption()).Verify(ck)
}

// CheckUploadKey checks a part's SSE-C key against its upload: the key the
// upload was initiated with, or none.
func CheckUploadKey(u *cairnpb.MultipartUpload, ck *sse.CustomerKey) error {
	err := keyCheckOf(u.GetEncryption()).Verify(ck)
	switch {
	case errors.Is(err, sse.ErrSSEEncryptedObject):
		return sse.ErrSSEMultipartEncrypted
	case errors.Is(err, sse.ErrAccessDenied):
		return sse.ErrInvalidSSECustomerParameters
	}
	return err
}

// UploadEncryption is what an upload records of its SSE-C key: the key
// check only. Nil without a key.
func UploadEncryption(ck *sse.CustomerKey) *cairnpb.Encryption {
	if ck == nil {
		return nil
	}
	c := sse.NewKeyCheck(ck)
	return &cairnpb.Encryption{Algorithm: sse.Algorithm, CustomerKeySalt: c.Salt, CustomerKeyHmac: c.MAC}
}

// DataETag returns the ETag of data written with Write whose
// plaintext MD5 is md5: the MD5 itself, as S3, except for SSE-C data,
// whose ETag is an HMAC of the MD5 under the customer key and the
// envelope's salt (sse.CustomerKey.ETag): opaque, as S3's SSE-C ETags.
func DataETag(e *cairnpb.Encryption, ck *sse.CustomerKey, md5 []byte) string {
	if ck == nil {
		return hex.EncodeToString(md5)
	}
	return ck.ETag(e.GetCustomerKeySalt(), md5)
}
