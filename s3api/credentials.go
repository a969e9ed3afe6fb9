package s3api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// AccessKeyIndex is how the gateway finds users' access keys in meta.
type AccessKeyIndex interface {
	// LookupAccessKey returns the key's namespace, user, secret and
	// whether it is active. An unknown key is rpcerr.ErrKeyNotFound.
	LookupAccessKey(ctx context.Context, accessKeyID string) (*cairnpb.LookupAccessKeyResponse, error)
}

// credentialTTL is how long a looked-up key (or its absence) is trusted.
// A key deleted or deactivated in meta stops working on every gateway
// within this time plus one meta read.
const credentialTTL = 2 * time.Second

// maxCachedCredentials bounds the cache; past it, expired entries are
// dropped, and if none are, the whole cache.
const maxCachedCredentials = 10000

// maxAccessKeyLen: longer IDs are never looked up (meta's names are at most
// 255 bytes; Cairn's key IDs are 40).
const maxAccessKeyLen = 128

// errUnknownKey: no usable key (unknown, deleted or deactivated).
// authenticate wraps it with the signature scheme's own sentinel.
var errUnknownKey = errors.New("no active access key")

// keyring resolves access key IDs to a secret and the namespace the
// request acts in: the static (operator) credentials first, in the
// gateway's namespace, then users' keys from meta through a short cache.
type keyring struct {
	static   map[string]string
	staticNS string
	index    AccessKeyIndex
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	secret  string
	who     *principal
	usable  bool // known and active
	expires time.Time
}

func newKeyring(static map[string]string, staticNS string, index AccessKeyIndex, now func() time.Time) *keyring {
	return &keyring{static: static, staticNS: staticNS, index: index, now: now, cache: map[string]cachedKey{}}
}

// lookup returns the secret of access and the namespace its requests act
// in, or an error wrapping errUnknownKey. Other errors (meta unavailable)
// are returned as they are and not cached.
func (c *keyring) lookup(ctx context.Context, access string) (secret, ns string, err error) {
	secret, who, err := c.lookupPrincipal(ctx, access)
	if err != nil {
		return "", "", err
	}
	return secret, who.ns, nil
}

// lookupPrincipal is lookup returning who the key acts as: the operator
// (static credentials) or a user with the rights its groups' policies
// give it, both as cached (at most credentialTTL old).
func (c *keyring) lookupPrincipal(ctx context.Context, access string) (string, *principal, error) {
	if s, ok := c.static[access]; ok {
		return s, &principal{ns: c.staticNS, operator: true}, nil
	}
	if c.index == nil || access == "" || len(access) > maxAccessKeyLen ||
		strings.IndexByte(access, 0) >= 0 || !utf8.ValidString(access) {
		return "", nil, fmt.Errorf("access key %q: %w", access, errUnknownKey)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.cache[access]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		resp, err := c.index.LookupAccessKey(ctx, access)
		switch {
		case err == nil:
			e = cachedKey{who: userPrincipal(resp), secret: resp.GetSecret(), usable: resp.GetActive() && resp.GetSecret() != ""}
		case errors.Is(err, rpcerr.ErrKeyNotFound), errors.Is(err, rpcerr.ErrInvalidArgument):
			e = cachedKey{}
		default:
			return "", nil, fmt.Errorf("s3api: look up access key %q: %w", access, err)
		}
		e.expires = now.Add(credentialTTL)
		c.store(access, e, now)
	}
	if !e.usable {
		return "", nil, fmt.Errorf("access key %q: %w", access, errUnknownKey)
	}
	return e.secret, e.who, nil
}

func (c *keyring) store(access string, e cachedKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxCachedCredentials {
		for k, old := range c.cache {
			if !now.Before(old.expires) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCachedCredentials {
			clear(c.cache)
		}
	}
	c.cache[access] = e
}
