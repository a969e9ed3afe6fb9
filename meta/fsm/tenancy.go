package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Tenancy keys, all under the "t/" table:
//
//	t/ns/<namespace>                                -> cairnpb.Namespace
//	t/user/<namespace>\x00<user>                    -> cairnpb.User
//	t/key/<access key id>                           -> cairnpb.AccessKey (with its secret)
//	t/ukey/<namespace>\x00<user>\x00<access key id> -> empty (a user's keys)
//
// Namespaces and user names never contain \x00 (validated before proposing).
const (
	tagNamespace = "t/ns/"
	tagUser      = "t/user/"
	TagKey       = "t/key/"
	tagUserKey   = "t/ukey/"
)

func namespaceKey(ns string) []byte { return append([]byte(tagNamespace), ns...) }

func userPrefix(ns string) []byte {
	k := append([]byte(tagUser), ns...)
	return append(k, 0)
}

func userKey(ns, user string) []byte { return append(userPrefix(ns), user...) }

func accessKeyKey(id string) []byte { return append([]byte(TagKey), id...) }

// userKeyPrefix is the prefix of a user's key index entries, or of a whole
// namespace's when user is "".
func userKeyPrefix(ns, user string) []byte {
	k := append([]byte(tagUserKey), ns...)
	k = append(k, 0)
	if user == "" {
		return k
	}
	k = append(k, user...)
	return append(k, 0)
}

func userKeyIndex(ns, user, id string) []byte { return append(userKeyPrefix(ns, user), id...) }

func GetNamespace(r pebble.Reader, ns string) (*cairnpb.Namespace, error) {
	n := &cairnpb.Namespace{}
	ok, err := GetProto(r, namespaceKey(ns), n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: namespace %q: %w", ns, rpcerr.ErrNamespaceNotFound)
	}
	return n, nil
}

func GetUser(r pebble.Reader, ns, name string) (*cairnpb.User, error) {
	u := &cairnpb.User{}
	ok, err := GetProto(r, userKey(ns, name), u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: user %q in namespace %q: %w", name, ns, rpcerr.ErrUserNotFound)
	}
	return u, nil
}

func GetAccessKey(r pebble.Reader, id string) (*cairnpb.AccessKey, error) {
	k := &cairnpb.AccessKey{}
	ok, err := GetProto(r, accessKeyKey(id), k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: access key %q: %w", id, rpcerr.ErrKeyNotFound)
	}
	return k, nil
}

func ListNamespaces(r pebble.Reader) ([]*cairnpb.Namespace, error) {
	var out []*cairnpb.Namespace
	err := ScanProtos(r, []byte(tagNamespace), func() *cairnpb.Namespace { return &cairnpb.Namespace{} },
		func(n *cairnpb.Namespace) { out = append(out, n) })
	return out, err
}

func ListUsers(r pebble.Reader, ns string) ([]*cairnpb.User, error) {
	var out []*cairnpb.User
	err := ScanProtos(r, userPrefix(ns), func() *cairnpb.User { return &cairnpb.User{} },
		func(u *cairnpb.User) { out = append(out, u) })
	return out, err
}

// accessKeyIDs returns the IDs of a user's keys (of the namespace's when
// user is ""), in index order.
func accessKeyIDs(r pebble.Reader, ns, user string) ([]string, error) {
	prefix := userKeyPrefix(ns, user)
	var ids []string
	err := Scan(r, prefix, func(key, _ []byte) (bool, error) {
		rest := key[len(prefix):]
		if user == "" {
			// rest is <user>\x00<id>.
			for i := len(rest) - 1; i >= 0; i-- {
				if rest[i] == 0 {
					rest = rest[i+1:]
					break
				}
			}
		}
		ids = append(ids, string(rest))
		return true, nil
	})
	return ids, err
}

// ListAccessKeys returns a user's (or a namespace's) keys without secrets.
func ListAccessKeys(r pebble.Reader, ns, user string) ([]*cairnpb.AccessKey, error) {
	ids, err := accessKeyIDs(r, ns, user)
	if err != nil {
		return nil, err
	}
	out := make([]*cairnpb.AccessKey, 0, len(ids))
	for _, id := range ids {
		k, err := GetAccessKey(r, id)
		if err != nil {
			return nil, err
		}
		k.Secret, k.SealedSecret, k.SecretKeyId = "", nil, ""
		out = append(out, k)
	}
	return out, nil
}

func applyCreateNamespace(b *pebble.Batch, now int64, c *cairnpb.CreateNamespaceCmd) error {
	n := c.GetNamespace()
	if n.GetName() == "" {
		return Invalid("create namespace: name is required")
	}
	ok, err := GetProto(b, namespaceKey(n.GetName()), &cairnpb.Namespace{})
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("meta: namespace %q: %w", n.GetName(), rpcerr.ErrNamespaceExists)
	}
	if n.GetCreatedUnixNano() == 0 {
		n.CreatedUnixNano = now
	}
	if err := indexOCID(b, "tenancy", n.GetOcid(), &cairnpb.OCIDRef{Namespace: n.GetName()}); err != nil {
		return err
	}
	return putProto(b, namespaceKey(n.GetName()), n)
}

func applyCreateUser(b *pebble.Batch, now int64, c *cairnpb.CreateUserCmd) error {
	u := c.GetUser()
	if u.GetNamespace() == "" || u.GetName() == "" {
		return Invalid("create user: namespace and name are required")
	}
	if _, err := GetNamespace(b, u.GetNamespace()); err != nil {
		return err
	}
	ok, err := GetProto(b, userKey(u.GetNamespace(), u.GetName()), &cairnpb.User{})
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("meta: user %q in namespace %q: %w", u.GetName(), u.GetNamespace(), rpcerr.ErrUserExists)
	}
	if u.GetCreatedUnixNano() == 0 {
		u.CreatedUnixNano = now
	}
	if err := indexOCID(b, "user", u.GetOcid(), &cairnpb.OCIDRef{Namespace: u.GetNamespace(), User: u.GetName()}); err != nil {
		return err
	}
	return putProto(b, userKey(u.GetNamespace(), u.GetName()), u)
}

func applyDeleteUser(b *pebble.Batch, c *cairnpb.DeleteUserCmd) error {
	u, err := GetUser(b, c.GetNamespace(), c.GetName())
	if err != nil {
		return err
	}
	if err := deleteUserAPIKeys(b, u); err != nil {
		return err
	}
	ids, err := accessKeyIDs(b, c.GetNamespace(), c.GetName())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := del(b, accessKeyKey(id)); err != nil {
			return err
		}
		if err := del(b, userKeyIndex(c.GetNamespace(), c.GetName(), id)); err != nil {
			return err
		}
	}
	if err := removeFromGroups(b, c.GetNamespace(), c.GetName()); err != nil {
		return err
	}
	return del(b, userKey(c.GetNamespace(), c.GetName()))
}

func applyCreateAccessKey(b *pebble.Batch, now int64, c *cairnpb.CreateAccessKeyCmd) error {
	k := c.GetKey()
	sealed := len(k.GetSealedSecret()) != 0 && k.GetSecretKeyId() != ""
	if k.GetAccessKeyId() == "" || (k.GetSecret() == "") == !sealed {
		return Invalid("create access key: id and either a secret or a sealed secret are required")
	}
	if _, err := GetUser(b, k.GetNamespace(), k.GetUser()); err != nil {
		return err
	}
	ok, err := GetProto(b, accessKeyKey(k.GetAccessKeyId()), &cairnpb.AccessKey{})
	if err != nil {
		return err
	}
	if ok {
		// IDs are 160 random bits: a clash is a bug, not bad luck.
		return Invalid("create access key: id %q is taken", k.GetAccessKeyId())
	}
	if k.GetCreatedUnixNano() == 0 {
		k.CreatedUnixNano = now
	}
	if err := putProto(b, accessKeyKey(k.GetAccessKeyId()), k); err != nil {
		return err
	}
	if err := b.Set(userKeyIndex(k.GetNamespace(), k.GetUser(), k.GetAccessKeyId()), nil, nil); err != nil {
		return fmt.Errorf("meta: write access key index: %w", err)
	}
	return nil
}

func applySetAccessKeyActive(b *pebble.Batch, c *cairnpb.SetAccessKeyActiveCmd) error {
	k, err := GetAccessKey(b, c.GetAccessKeyId())
	if err != nil {
		return err
	}
	k.Active = c.GetActive()
	return putProto(b, accessKeyKey(k.GetAccessKeyId()), k)
}

func applyDeleteAccessKey(b *pebble.Batch, c *cairnpb.DeleteAccessKeyCmd) error {
	k, err := GetAccessKey(b, c.GetAccessKeyId())
	if err != nil {
		return err
	}
	if err := del(b, userKeyIndex(k.GetNamespace(), k.GetUser(), k.GetAccessKeyId())); err != nil {
		return err
	}
	return del(b, accessKeyKey(k.GetAccessKeyId()))
}
