package fsm

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

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

// validOCID accepts OCI's shape, ocid1.<type>.oc1..<unique>, for the types
// Cairn assigns.
func validOCID(kind, ocid string) bool {
	prefix := "ocid1." + kind + ".oc1.."
	rest, ok := strings.CutPrefix(ocid, prefix)
	if !ok || rest == "" || len(ocid) > 255 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// assignOCID gives a namespace or user record its OCID when it has none,
// indexing it; an OCID already assigned is kept. It returns the record's
// OCID.
func assignOCID(b *pebble.Batch, current, drawn string, ref *cairnpb.OCIDRef) (string, bool, error) {
	if current != "" {
		return current, false, nil
	}
	if err := ocidFree(b, drawn, ref); err != nil {
		return "", false, err
	}
	return drawn, true, putProto(b, ocidKey(drawn), ref)
}

// ocidFree checks that drawn is an OCID of ref's kind that no record
// holds, so that an apply assigning several checks them all before it
// writes any.
func ocidFree(r pebble.Reader, drawn string, ref *cairnpb.OCIDRef) error {
	kind := "user"
	if ref.GetUser() == "" {
		kind = "tenancy"
	}
	if !validOCID(kind, drawn) {
		return Invalid("assign OCID: %q is not a %s OCID", drawn, kind)
	}
	ok, err := GetProto(r, ocidKey(drawn), &cairnpb.OCIDRef{})
	if err != nil {
		return err
	}
	if ok {
		return Invalid("assign OCID: %q is taken", drawn) // random: a clash is a bug
	}
	return nil
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
	userRef := &cairnpb.OCIDRef{Namespace: u.GetNamespace(), User: u.GetName()}
	if u.GetOcid() == "" {
		// Checked before the namespace's OCID is written: a refusal writes nothing.
		if err := ocidFree(b, c.GetUserOcid(), userRef); err != nil {
			return err
		}
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
	userOCID, changed, err := assignOCID(b, u.GetOcid(), c.GetUserOcid(), userRef)
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

// ocidUniqueBytes is the randomness in an OCID's unique part, written as
// lowercase base32 (48 characters), the alphabet of OCI's own.
const ocidUniqueBytes = 30

// NewOCID draws an OCID of kind ("tenancy", "user") in OCI's format.
func NewOCID(kind string) (string, error) {
	b := make([]byte, ocidUniqueBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("meta: draw OCID: %w", err)
	}
	u := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return "ocid1." + kind + ".oc1.." + u, nil
}
