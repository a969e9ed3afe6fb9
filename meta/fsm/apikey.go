package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// API signing keys and OCIDs, under the "t/" table:
//
//	t/apik/<namespace>\x00<user>\x00<fingerprint> -> cairnpb.APIKey
//	t/ocid/<ocid>                                 -> cairnpb.OCIDRef
//
// A signature's keyId names a key by <tenancy ocid>/<user ocid>/<fingerprint>:
// the OCID index resolves the first two, and the tenancy must be the
// user's namespace. Fingerprints are unique per user, not globally (one
// public key may serve several users, as in OCI).
const (
	tagAPIKey = "t/apik/"
	tagOCID   = "t/ocid/"
)

// maxAPIKeysPerUser is OCI's limit on a user's API signing keys.
const maxAPIKeysPerUser = 3

func apiKeyPrefix(ns, user string) []byte {
	k := append([]byte(tagAPIKey), ns...)
	k = append(k, 0)
	k = append(k, user...)
	return append(k, 0)
}

func apiKeyKey(ns, user, fingerprint string) []byte {
	return append(apiKeyPrefix(ns, user), fingerprint...)
}

func ocidKey(ocid string) []byte { return append([]byte(tagOCID), ocid...) }

func ListAPIKeys(r pebble.Reader, ns, user string) ([]*cairnpb.APIKey, error) {
	var out []*cairnpb.APIKey
	err := ScanProtos(r, apiKeyPrefix(ns, user), func() *cairnpb.APIKey { return &cairnpb.APIKey{} },
		func(k *cairnpb.APIKey) { out = append(out, k) })
	return out, err
}

func GetAPIKey(r pebble.Reader, ns, user, fingerprint string) (*cairnpb.APIKey, error) {
	k := &cairnpb.APIKey{}
	ok, err := GetProto(r, apiKeyKey(ns, user, fingerprint), k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: API key %q of user %q in namespace %q: %w", fingerprint, user, ns, rpcerr.ErrKeyNotFound)
	}
	return k, nil
}

// ResolveOCID returns what ocid names, or ErrKeyNotFound: an OCID that
// names nothing authenticates nothing.
func ResolveOCID(r pebble.Reader, ocid string) (*cairnpb.OCIDRef, error) {
	ref := &cairnpb.OCIDRef{}
	ok, err := GetProto(r, ocidKey(ocid), ref)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: OCID %q: %w", ocid, rpcerr.ErrKeyNotFound)
	}
	return ref, nil
}

// checkOCID reports whether a namespace or user record whose OCID is
// current needs drawn, and refuses drawn when it would (not OCI's shape
// of kind, or taken). It writes nothing.
func checkOCID(r pebble.Reader, current, drawn, kind string) (bool, error) {
	if current != "" {
		return false, nil
	}
	if !validOCID(kind, drawn) {
		return false, Invalid("assign OCID: %q is not a %s OCID", drawn, kind)
	}
	ok, err := GetProto(r, ocidKey(drawn), &cairnpb.OCIDRef{})
	if err != nil {
		return false, err
	}
	if ok {
		return false, Invalid("assign OCID: %q is taken", drawn) // random: a clash is a bug
	}
	return true, nil
}

// assignOCID gives a namespace or user record its OCID when it has none,
// indexing it; an OCID already assigned is kept. It returns the record's
// OCID.
func assignOCID(b *pebble.Batch, current, drawn string, ref *cairnpb.OCIDRef) (string, bool, error) {
	kind := OCIDUser
	if ref.GetUser() == "" {
		kind = OCIDTenancy
	}
	needed, err := checkOCID(b, current, drawn, kind)
	if err != nil || !needed {
		return current, false, err
	}
	return drawn, true, putProto(b, ocidKey(drawn), ref)
}

// indexOCID writes the OCIDs a CreateNamespace or CreateUser carries
// into the index. The records themselves are written by their applies.
func indexOCID(b *pebble.Batch, kind, ocid string, ref *cairnpb.OCIDRef) error {
	if ocid == "" {
		return nil // proposed by a Cairn from before OCIDs
	}
	_, _, err := assignOCID(b, "", ocid, ref)
	if err != nil {
		return fmt.Errorf("meta: %s OCID: %w", kind, err)
	}
	return nil
}

func applyUploadAPIKey(b *pebble.Batch, now int64, c *cairnpb.UploadAPIKeyCmd) error {
	k := c.GetKey()
	if k.GetFingerprint() == "" || k.GetPublicKeyPem() == "" {
		return Invalid("upload API key: fingerprint and public key are required")
	}
	n, err := GetNamespace(b, k.GetNamespace())
	if err != nil {
		return err
	}
	u, err := GetUser(b, k.GetNamespace(), k.GetUser())
	if err != nil {
		return err
	}
	keys, err := ListAPIKeys(b, k.GetNamespace(), k.GetUser())
	if err != nil {
		return err
	}
	for _, old := range keys {
		if old.GetFingerprint() == k.GetFingerprint() {
			return Invalid("upload API key: user %q already has the key %s", k.GetUser(), k.GetFingerprint())
		}
	}
	if len(keys) >= maxAPIKeysPerUser {
		return Invalid("upload API key: user %q already has %d API keys, the most a user may have; delete one first",
			k.GetUser(), maxAPIKeysPerUser)
	}
	// Both OCIDs are checked before either is written: a refusal writes
	// nothing.
	if _, err := checkOCID(b, u.GetOcid(), c.GetUserOcid(), OCIDUser); err != nil {
		return err
	}
	nsOCID, changed, err := assignOCID(b, n.GetOcid(), c.GetNamespaceOcid(), &cairnpb.OCIDRef{Namespace: n.GetName()})
	if err != nil {
		return err
	}
	if changed {
		n.Ocid = nsOCID
		if err := putProto(b, namespaceKey(n.GetName()), n); err != nil {
			return err
		}
	}
	userOCID, changed, err := assignOCID(b, u.GetOcid(), c.GetUserOcid(), &cairnpb.OCIDRef{Namespace: u.GetNamespace(), User: u.GetName()})
	if err != nil {
		return err
	}
	if changed {
		u.Ocid = userOCID
		if err := putProto(b, userKey(u.GetNamespace(), u.GetName()), u); err != nil {
			return err
		}
	}
	if k.GetCreatedUnixNano() == 0 {
		k.CreatedUnixNano = now
	}
	return putProto(b, apiKeyKey(k.GetNamespace(), k.GetUser(), k.GetFingerprint()), k)
}

func applyDeleteAPIKey(b *pebble.Batch, c *cairnpb.DeleteAPIKeyCmd) error {
	if _, err := GetAPIKey(b, c.GetNamespace(), c.GetUser(), c.GetFingerprint()); err != nil {
		return err
	}
	return del(b, apiKeyKey(c.GetNamespace(), c.GetUser(), c.GetFingerprint()))
}

// deleteUserAPIKeys removes a user's API keys and its OCID (DeleteUser).
func deleteUserAPIKeys(b *pebble.Batch, u *cairnpb.User) error {
	keys, err := ListAPIKeys(b, u.GetNamespace(), u.GetName())
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := del(b, apiKeyKey(k.GetNamespace(), k.GetUser(), k.GetFingerprint())); err != nil {
			return err
		}
	}
	if u.GetOcid() != "" {
		return del(b, ocidKey(u.GetOcid()))
	}
	return nil
}
