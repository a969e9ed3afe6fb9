package fsm

import (
	"bytes"
	"errors"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Master keys in meta.
//
// The keyring (Config.Keyring) is node-local configuration; which of its
// keys is active is replicated: k/active holds a cairnpb.MasterKeyState.
// Until a rotation is committed the leader publishes its keyring's default
// key there, so that gateways and meta nodes agree. The active key wraps
// the data keys of new versions and parts (in the gateways) and seals new
// access key secrets (meta, before proposing: neither the Raft log nor the
// FSM ever holds a new secret in plaintext). After a rotation the leader
// re-wraps everything still wrapped by another key (meta/jobs/rewrap.go); a RewrapCmd
// replaces a wrapped key only where the record still holds the old one.
//
//	k/active -> cairnpb.MasterKeyState
const tagMasterKey = "k/"

func masterKeyStateKey() []byte { return []byte(tagMasterKey + "active") }

// GetMasterKeyState returns the replicated state; empty before any key was
// published.
func GetMasterKeyState(r pebble.Reader) (*cairnpb.MasterKeyState, error) {
	st := &cairnpb.MasterKeyState{}
	if _, err := GetProto(r, masterKeyStateKey(), st); err != nil {
		return nil, err
	}
	return st, nil
}

func applySetMasterKey(b *pebble.Batch, now int64, c *cairnpb.SetMasterKeyCmd) error {
	if c.GetKeyId() == "" {
		return Invalid("set master key: key id is required")
	}
	old, err := GetMasterKeyState(b)
	if err != nil {
		return err
	}
	if old.GetActiveKeyId() == c.GetKeyId() {
		return nil
	}
	return putProto(b, masterKeyStateKey(), &cairnpb.MasterKeyState{
		ActiveKeyId: c.GetKeyId(), PreviousKeyId: old.GetActiveKeyId(), SetUnixNano: now,
	})
}

// applyRewrap replaces each item's wrapped key if its record still holds
// the old one; items whose record changed or went away are skipped.
func applyRewrap(b *pebble.Batch, c *cairnpb.RewrapCmd) error {
	// Validate every item before writing any: an apply that fails must
	// write nothing.
	for _, it := range c.GetItems() {
		if len(it.GetNewWrapped()) == 0 || it.GetNewKeyId() == "" {
			return Invalid("rewrap: new wrapped key and key id are required")
		}
		switch t := it.GetTarget().(type) {
		case *cairnpb.RewrapItem_Version, *cairnpb.RewrapItem_AccessKeyId:
		case *cairnpb.RewrapItem_UploadPart:
			if !ValidUploadID(t.UploadPart.GetUploadId()) {
				return Invalid("rewrap: malformed upload id")
			}
		default:
			return Invalid("rewrap: item without a target")
		}
	}
	for _, it := range c.GetItems() {
		var err error
		switch t := it.GetTarget().(type) {
		case *cairnpb.RewrapItem_Version:
			err = rewrapVersion(b, t.Version, it)
		case *cairnpb.RewrapItem_UploadPart:
			err = rewrapUploadPart(b, t.UploadPart, it)
		case *cairnpb.RewrapItem_AccessKeyId:
			err = rewrapAccessKey(b, t.AccessKeyId, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// swapWrapped replaces e's wrapped key when it still is old.
func swapWrapped(e *cairnpb.Encryption, it *cairnpb.RewrapItem) bool {
	if e == nil || e.GetKeyId() == "" || !bytes.Equal(e.GetWrappedKey(), it.GetOldWrapped()) {
		return false
	}
	e.WrappedKey, e.KeyId = it.GetNewWrapped(), it.GetNewKeyId()
	return true
}

func rewrapVersion(b *pebble.Batch, ref *cairnpb.RewrapVersionRef, it *cairnpb.RewrapItem) error {
	key, v, err := LocateVersion(b, ref.GetBucketId(), ref.GetKey(), ref.GetVersionId())
	if errors.Is(err, rpcerr.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var e *cairnpb.Encryption
	if n := ref.GetPartNumber(); n == 0 {
		e = v.GetEncryption()
	} else {
		for _, p := range v.GetParts() {
			if p.GetNumber() == n {
				e = p.GetEncryption()
			}
		}
	}
	if !swapWrapped(e, it) {
		return nil
	}
	return putProto(b, key, v)
}

func rewrapUploadPart(b *pebble.Batch, ref *cairnpb.RewrapUploadPartRef, it *cairnpb.RewrapItem) error {
	key := PartKey(ref.GetUploadId(), ref.GetPartNumber())
	p := &cairnpb.UploadedPart{}
	ok, err := GetProto(b, key, p)
	if err != nil || !ok || !swapWrapped(p.GetPart().GetEncryption(), it) {
		return err
	}
	return putProto(b, key, p)
}

func rewrapAccessKey(b *pebble.Batch, id string, it *cairnpb.RewrapItem) error {
	k := &cairnpb.AccessKey{}
	ok, err := GetProto(b, accessKeyKey(id), k)
	if err != nil || !ok {
		return err
	}
	if len(it.GetOldWrapped()) == 0 {
		// A plaintext record: seal it unless that already happened.
		if len(k.GetSealedSecret()) != 0 || k.GetSecret() == "" {
			return nil
		}
	} else if !bytes.Equal(k.GetSealedSecret(), it.GetOldWrapped()) {
		return nil
	}
	k.Secret, k.SealedSecret, k.SecretKeyId = "", it.GetNewWrapped(), it.GetNewKeyId()
	return putProto(b, accessKeyKey(id), k)
}
