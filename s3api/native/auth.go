package native

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// DefaultClockSkew bounds how far a request's date may be from the
// gateway's clock, as OCI bounds it.
const DefaultClockSkew = 5 * time.Minute

// keyTTL is how long a looked-up API key (or its absence) is trusted: a
// deleted key, or a changed policy, takes effect within it.
const keyTTL = 2 * time.Second

// maxCachedKeys bounds the key cache; past it, the cache starts over.
const maxCachedKeys = 10000

// principal is who a native request acts as: a user of a namespace, with
// the rights its groups' policies give it.
type principal struct {
	ns, user    string
	tenancyOCID string
	userOCID    string
	authz       *policy.Authorizer
	pub         *rsa.PublicKey
	// s3Compartment is the namespace's designated S3 compartment.
	s3Compartment string
	// compartments are the namespace's compartments (not the root), with
	// their OCIDs; meta sends them only to users with a group.
	compartments []*cairnpb.Compartment
	// keyID is the signature's keyId the principal was looked up by
	// ("" for a PAR's creator).
	keyID string
}

// signature is a parsed Authorization: Signature header.
type signature struct {
	keyID     string
	algorithm string
	headers   []string
	sig       []byte
}

// parseSignature parses OCI's Authorization header: Signature followed by
// comma-separated key="value" parameters.
func parseSignature(h string) (*signature, error) {
	rest, ok := strings.CutPrefix(h, "Signature ")
	if !ok {
		return nil, errors.New("the Authorization header is not a Signature")
	}
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
			return nil, errors.New("malformed Signature parameters")
		}
		name := strings.TrimSpace(rest[:eq])
		end := strings.IndexByte(rest[eq+2:], '"')
		if end < 0 {
			return nil, errors.New("unterminated Signature parameter")
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("Signature parameter %q given twice", name)
		}
		params[name] = rest[eq+2 : eq+2+end]
		rest = strings.TrimSpace(rest[eq+2+end+1:])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, ","))
	}
	if v, ok := params["version"]; ok && v != "1" {
		return nil, fmt.Errorf("signature version %q is not supported", v)
	}
	s := &signature{keyID: params["keyId"], algorithm: params["algorithm"]}
	if s.keyID == "" || params["signature"] == "" {
		return nil, errors.New("the Signature has no keyId or no signature")
	}
	if s.algorithm != "rsa-sha256" {
		return nil, fmt.Errorf("algorithm %q is not supported (rsa-sha256 is)", s.algorithm)
	}
	hs := params["headers"]
	if hs == "" {
		hs = "date"
	}
	s.headers = strings.Fields(strings.ToLower(hs))
	var err error
	if s.sig, err = base64.StdEncoding.DecodeString(params["signature"]); err != nil {
		return nil, errors.New("the signature is not base64")
	}
	return s, nil
}

// signingString is what the client signed: one "name: value" line per
// signed header, in the order the signature lists them.
func signingString(r *http.Request, names []string) (string, error) {
	lines := make([]string, 0, len(names))
	for _, name := range names {
		var val string
		switch name {
		case "(request-target)":
			val = strings.ToLower(r.Method) + " " + r.RequestURI
		case "host":
			val = r.Host
		case "content-length":
			// Go's server may keep the length only in r.ContentLength.
			if val = r.Header.Get(name); val == "" && r.ContentLength >= 0 {
				val = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return "", fmt.Errorf("signed header %q is missing", name)
			}
			val = strings.Join(vals, ", ")
		}
		lines = append(lines, name+": "+val)
	}
	return strings.Join(lines, "\n"), nil
}

// KeyIndex is how the native front end finds API keys in meta.
type KeyIndex interface {
	// LookupAPIKey returns the user a keyId names, its public key and its
	// authorization; an unknown one is rpcerr.ErrKeyNotFound.
	LookupAPIKey(ctx context.Context, tenancyOCID, userOCID, fingerprint string) (*cairnpb.LookupAPIKeyResponse, error)
}

// keyCache caches principals by keyId for keyTTL.
type keyCache struct {
	index KeyIndex
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]cachedPrincipal
}

type cachedPrincipal struct {
	who     *principal // nil: no such key
	expires time.Time
}

// errNoKey: the keyId names no usable key.
var errNoKey = errors.New("no such API key")

func (c *keyCache) lookup(ctx context.Context, keyID string) (*principal, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[keyID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.who == nil {
			return nil, errNoKey
		}
		return e.who, nil
	}
	parts := strings.Split(keyID, "/")
	if len(parts) != 3 || len(keyID) > 1024 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, errNoKey
	}
	resp, err := c.index.LookupAPIKey(ctx, parts[0], parts[1], parts[2])
	switch {
	case err == nil:
		e = cachedPrincipal{who: principalOf(keyID, parts[0], parts[1], resp)}
	case errors.Is(err, rpcerr.ErrKeyNotFound), errors.Is(err, rpcerr.ErrInvalidArgument):
		e = cachedPrincipal{}
	default:
		return nil, fmt.Errorf("native: look up API key: %w", err)
	}
	e.expires = now.Add(keyTTL)
	c.mu.Lock()
	if len(c.entries) >= maxCachedKeys {
		clear(c.entries)
	}
	c.entries[keyID] = e
	c.mu.Unlock()
	if e.who == nil {
		return nil, errNoKey
	}
	return e.who, nil
}

// forget drops keyID's cached principal, so that the next request
// signed with it sees meta's state as it is now.
func (c *keyCache) forget(keyID string) {
	c.mu.Lock()
	delete(c.entries, keyID)
	c.mu.Unlock()
}

// principalOf builds a principal from meta's answer, compiling its
// policies exactly as the S3 front end does (meta/policy).
func principalOf(keyID, tenancy, user string, resp *cairnpb.LookupAPIKeyResponse) *principal {
	p := &principal{
		ns: resp.GetNamespace(), user: resp.GetUser(), tenancyOCID: tenancy, userOCID: user,
		authz:         authorizerOf(resp.GetStatements(), resp.GetGroups(), resp.GetCompartments()),
		s3Compartment: resp.GetS3Compartment(), compartments: resp.GetCompartments(), keyID: keyID,
	}
	if block, _ := pem.Decode([]byte(resp.GetPublicKeyPem())); block != nil {
		if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
			p.pub, _ = k.(*rsa.PublicKey)
		}
	}
	return p
}

// authorizerOf compiles a user's policies as meta sends them, exactly as
// the S3 front end does (meta/policy).
func authorizerOf(statements, groups []string, compartments []*cairnpb.Compartment) *policy.Authorizer {
	var stmts []policy.Statement
	for _, text := range statements {
		sts, err := policy.Parse(text)
		if err != nil {
			continue // meta stores only statements that parse
		}
		stmts = append(stmts, sts...)
	}
	tree := policy.Tree{}
	for _, c := range compartments {
		tree[c.GetName()] = c.GetParent()
	}
	return policy.NewAuthorizer(stmts, groups, tree)
}

// authenticate checks r's signature and date and returns its principal.
// bodySigned says whether the operation's body must be covered
// (x-content-sha256, content-type, content-length).
func (s *Server) authenticate(ctx context.Context, r *http.Request, bodySigned bool) (*principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, refuse(codeNotAuthenticated, "The required information to complete authentication was not provided")
	}
	sig, err := parseSignature(h)
	if err != nil {
		return nil, &Error{Code: codeNotAuthenticated, Message: err.Error()}
	}
	signed := map[string]bool{}
	for _, name := range sig.headers {
		signed[name] = true
	}
	need := []string{"(request-target)", "host"}
	if bodySigned {
		need = append(need, "x-content-sha256", "content-type", "content-length")
	}
	for _, name := range need {
		if !signed[name] {
			return nil, refuse(codeNotAuthenticated, "The signature must cover the %s header", name)
		}
	}
	dateHeader := "x-date"
	if !signed[dateHeader] {
		dateHeader = "date"
	}
	if !signed[dateHeader] {
		return nil, refuse(codeNotAuthenticated, "The signature must cover the date or x-date header")
	}
	when, err := http.ParseTime(r.Header.Get(dateHeader))
	if err != nil {
		return nil, refuse(codeNotAuthenticated, "The %s header is not an HTTP date", dateHeader)
	}
	if skew := s.now().Sub(when); skew > s.skew || skew < -s.skew {
		return nil, refuse(codeNotAuthenticated, "The %s header (%s) is more than %s away from the server's clock",
			dateHeader, when.UTC().Format(time.RFC1123), s.skew)
	}
	text, err := signingString(r, sig.headers)
	if err != nil {
		return nil, &Error{Code: codeNotAuthenticated, Message: err.Error()}
	}
	who, err := s.keys.lookup(ctx, sig.keyID)
	if errors.Is(err, errNoKey) {
		return nil, refuse(codeNotAuthenticated, "The key %q is not known", sig.keyID)
	}
	if err != nil {
		return nil, err
	}
	if who.pub == nil {
		return nil, refuse(codeNotAuthenticated, "The key %q is not usable", sig.keyID)
	}
	digest := sha256.Sum256([]byte(text))
	if err := rsa.VerifyPKCS1v15(who.pub, crypto.SHA256, digest[:], sig.sig); err != nil {
		return nil, refuse(codeNotAuthenticated, "The signature does not match the request")
	}
	return who, nil
}
