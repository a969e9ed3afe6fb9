package s3api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/bucketpolicy"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sigv4"
)

// principal is who a request acts as: the operator (the gateway's static
// credentials, with every right in the gateway's namespace) or a user of
// a namespace, with the rights its groups' policies give it.
type principal struct {
	ns       string
	user     string
	groups   []string
	operator bool
	authz    *policy.Authorizer
	// s3Compartment is where S3 CreateBucket puts the namespace's buckets
	// ("" is the root compartment).
	s3Compartment string

	// compartments remembers the compartments of buckets looked up for
	// this principal's requests, for as long as the principal itself is
	// cached (credentialTTL), so compartment-scoped statements cost one
	// meta read per bucket and key, not one per request.
	mu           sync.Mutex
	compartments map[string]string
}

// maxPrincipalBuckets bounds principal.compartments.
const maxPrincipalBuckets = 1024

func (p *principal) cachedCompartment(bucket string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.compartments[bucket]
	return c, ok
}

func (p *principal) rememberCompartment(bucket, compartment string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.compartments == nil || len(p.compartments) >= maxPrincipalBuckets {
		p.compartments = map[string]string{}
	}
	p.compartments[bucket] = compartment
}

// userPrincipal builds a user's principal from meta's answer to
// LookupAccessKey.
func userPrincipal(resp *cairnpb.LookupAccessKeyResponse) *principal {
	var stmts []policy.Statement
	for _, text := range resp.GetStatements() {
		sts, err := policy.Parse(text)
		if err != nil {
			continue // meta stores only statements that parse; a bad one allows nothing
		}
		stmts = append(stmts, sts...)
	}
	tree := policy.Tree{}
	for _, c := range resp.GetCompartments() {
		tree[c.GetName()] = c.GetParent()
	}
	return &principal{
		ns:            resp.GetNamespace(),
		user:          resp.GetUser(),
		groups:        resp.GetGroups(),
		authz:         policy.NewAuthorizer(stmts, resp.GetGroups(), tree),
		s3Compartment: resp.GetS3Compartment(),
	}
}

// errAccessDenied: the request's principal lacks a permission it needs.
var errAccessDenied = errors.New("access denied")

// needKind says how a need is checked.
type needKind uint8

const (
	// needPerm: perm on bucket.
	needPerm needKind = iota
	// needWrite: writing key in bucket, which takes OBJECT_CREATE for a
	// new key and OBJECT_OVERWRITE for an existing one.
	needWrite
	// needCreateBucket: BUCKET_CREATE in the namespace's S3 compartment.
	needCreateBucket
	// needListBuckets: BUCKET_INSPECT somewhere; the listing is then
	// filtered bucket by bucket.
	needListBuckets
)

type need struct {
	kind   needKind
	perm   policy.Permission
	bucket string
	key    string
	// action is the S3 action a bucket policy judges the need by; ""
	// when the handler judges it key by key (access.keysInBody).
	action string
}

// accessRule is how an operation's access is checked; opTable gives
// each operation one.
type accessRule uint8

const (
	// accessUnset: the row says nothing. authorize refuses such an
	// operation to everyone but the operator; TestOpTable fails on it.
	accessUnset accessRule = iota
	// accessRefused: the operation is refused (405, 501) before anything
	// is looked at, so there is nothing to check and every authenticated
	// caller gets the same answer. Only refusing handlers may have it
	// (TestOpTable).
	accessRefused
	// accessPerm: perm on the request's bucket (versionPerm instead, when
	// set and the request names a version).
	accessPerm
	// accessWrite: writing the request's key (OBJECT_CREATE for a new
	// key, OBJECT_OVERWRITE for an existing one).
	accessWrite
	// accessCopy: accessWrite, and OBJECT_READ on the copy source's
	// bucket.
	accessCopy
	// accessCreateBucket: BUCKET_CREATE in the namespace's S3 compartment.
	accessCreateBucket
	// accessListBuckets: BUCKET_INSPECT somewhere; the listing is then
	// filtered bucket by bucket.
	accessListBuckets
	// accessByHandler: the request is neither authenticated nor
	// authorized before its handler runs. The handler authenticates it
	// from what only it reads (a browser form's signed policy, POST
	// uploads) and authorizes it with authorizeAccess, or answers from
	// public configuration only (CORS preflights, which carry no
	// credentials).
	accessByHandler
)

// access is what an operation needs from the caller's policies: the
// permissions OCI documents for the S3 operation (see docs/policies.md).
type access struct {
	rule        accessRule
	perm        policy.Permission
	versionPerm policy.Permission
	// bypass: the operation honours x-amz-bypass-governance-retention.
	// A request that sends it true gets request.bypassGovernance when its
	// principal also has OBJECT_BYPASS_GOVERNANCE on the bucket; without
	// the permission the header changes nothing (a locked version stays
	// locked, and meta refuses with AccessDenied).
	bypass bool
	// ownerAlways: the operator is never refused this operation by a
	// bucket policy, so no policy can lock a namespace out of its own
	// bucket's policy (the bucket-policy operations).
	ownerAlways bool
	// keysInBody: the request names its keys in its body (DeleteObjects),
	// so its need carries no action and the handler applies the bucket
	// policy key by key (policyDeniesKey): a Deny refuses that key, and
	// an Allow grants nothing OCI policies do not.
	keysInBody bool
}

// s3Action is the S3 action an operation is named by in bucket policies:
// name, or version when the request names a version and the operation
// has a version action of its own.
type s3Action struct{ name, version string }

func act(name string, version ...string) s3Action {
	a := s3Action{name: name}
	if len(version) > 0 {
		a.version = version[0]
	}
	return a
}

// of is the action req is judged by.
func (a s3Action) of(req *request) string {
	if a.version != "" && req.versionID != "" {
		return a.version
	}
	return a.name
}

func refused() access                     { return access{rule: accessRefused} }
func onBucket(p policy.Permission) access { return access{rule: accessPerm, perm: p} }

// needs returns the checks a's rule makes for req, which is judged by
// action in bucket policies (a copy source by read, GetObject's action).
// It is empty for accessRefused and accessUnset, which authorize handles
// first.
func (a access) needs(req *request, action, read s3Action) []need {
	b, k, act := req.bucket, req.key, action.of(req)
	if a.keysInBody {
		act = ""
	}
	switch a.rule {
	case accessPerm:
		p := a.perm
		if a.versionPerm != 0 && req.versionID != "" {
			p = a.versionPerm
		}
		return []need{{kind: needPerm, perm: p, bucket: b, key: k, action: act}}
	case accessWrite:
		return []need{{kind: needWrite, bucket: b, key: k, action: act}}
	case accessCopy:
		out := []need{{kind: needWrite, bucket: b, key: k, action: act}}
		// A copy source that does not parse fails the operation before
		// anything is read.
		if src, err := req.source(); err == nil {
			srcAct := read.name
			if src.versionID != "" {
				srcAct = read.version
			}
			out = append(out, need{kind: needPerm, perm: policy.ObjectRead, bucket: src.bucket, key: src.key, action: srcAct})
		}
		return out
	case accessCreateBucket:
		return []need{{kind: needCreateBucket, perm: policy.BucketCreate, bucket: b}}
	case accessListBuckets:
		return []need{{kind: needListBuckets}}
	}
	return nil
}

// authorize checks that the request's principal may do what it asks: it
// must act in its own namespace (a namespace named by the Host must be
// the key's), and each need of the operation must be granted by the
// bucket's policy or, unless it is the operator, by some OCI policy
// statement of its groups, with no Deny in the bucket's policy
// (docs/policies.md). An unsigned request (no principal) is served only
// when the bucket's policy allows it.
func (s *Server) authorize(ctx context.Context, req *request) error {
	who := req.who
	if who != nil && req.hostNS != "" && req.hostNS != who.ns {
		return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: key of namespace %q used on namespace %q: %w", who.ns, req.hostNS, errAccessDenied))
	}
	return s.authorizeAccess(ctx, req, s.ops[req.op].access)
}

// authorizeAccess checks that req's principal has what a grants.
func (s *Server) authorizeAccess(ctx context.Context, req *request, a access) error {
	who := req.who
	switch {
	case a.rule == accessUnset:
		return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: %s has no access rule: %w", s.ops[req.op].label, errAccessDenied))
	case who == nil && (a.rule == accessRefused || a.rule == accessByHandler):
		// Unsigned requests get what they got before bucket policies:
		// AccessDenied, whatever the operation.
		return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: %w", sigv4.ErrMissingAuth))
	case a.rule == accessRefused, a.rule == accessByHandler:
		return nil
	}
	buckets := map[string]*cairnpb.Bucket{}
	for _, n := range a.needs(req, s.ops[req.op].action, s.ops[OpGetObject].action) {
		d, err := s.bucketPolicyDecision(ctx, req, n, a, buckets)
		if err != nil {
			return err
		}
		switch {
		case d == bucketpolicy.Denied:
			return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: the policy of bucket %q denies %s: %w", n.bucket, n.action, errAccessDenied))
		case d == bucketpolicy.Allowed:
			continue
		case who == nil:
			return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: no bucket policy allows an unsigned %s on %q: %w", n.action, n.bucket, sigv4.ErrMissingAuth))
		case who.operator:
			continue
		}
		ok, err := s.allowed(ctx, req, n, buckets)
		if err != nil {
			return err
		}
		if !ok {
			return s3err.Wrap(s3err.AccessDenied, fmt.Errorf("s3api: user %q of namespace %q lacks %s on bucket %q: %w",
				who.user, who.ns, describeNeed(n), n.bucket, errAccessDenied))
		}
	}
	switch {
	case !a.bypass || !req.asksBypass || who == nil:
	case who.operator:
		req.bypassGovernance = true
	default:
		ok, err := s.allowed(ctx, req, need{kind: needPerm, perm: policy.ObjectBypassGovernance, bucket: req.bucket}, buckets)
		if err != nil {
			return err
		}
		req.bypassGovernance = ok
	}
	return nil
}

func describeNeed(n need) string {
	switch n.kind {
	case needWrite:
		return "OBJECT_CREATE or OBJECT_OVERWRITE"
	case needListBuckets:
		return "BUCKET_INSPECT"
	}
	return n.perm.String()
}

// allowed checks one need. buckets memoizes the bucket records looked up
// for this request (nil entry: no such bucket).
func (s *Server) allowed(ctx context.Context, req *request, n need, buckets map[string]*cairnpb.Bucket) (bool, error) {
	who := req.who
	target := policy.Target{Bucket: n.bucket, CompartmentOf: func() (string, error) {
		if c, ok := who.cachedCompartment(n.bucket); ok {
			return c, nil
		}
		bk, ok := buckets[n.bucket]
		if !ok {
			var err error
			bk, err = s.cfg.Index.GetBucket(ctx, req.ns, n.bucket)
			switch {
			case errors.Is(err, rpcerr.ErrBucketNotFound):
				bk = nil
			case err != nil:
				return "", fmt.Errorf("s3api: authorize: find bucket %q: %w", n.bucket, err)
			}
			buckets[n.bucket] = bk
		}
		if bk == nil {
			// Judged as if it were where S3 would create it: the answer
			// is then NoSuchBucket for those who may see the bucket.
			return who.s3Compartment, nil
		}
		who.rememberCompartment(n.bucket, bk.GetCompartment())
		return bk.GetCompartment(), nil
	}}
	switch n.kind {
	case needListBuckets:
		return who.authz.AllowedSomewhere(policy.BucketInspect), nil
	case needCreateBucket:
		target.CompartmentOf = func() (string, error) { return who.s3Compartment, nil }
		return who.authz.Allowed(policy.BucketCreate, target)
	case needWrite:
		return who.authz.AllowedWrite(target, func() (bool, error) {
			_, err := s.cfg.Index.GetObject(ctx, req.ns, n.bucket, n.key)
			switch {
			case err == nil:
				return true, nil
			case errors.Is(err, rpcerr.ErrObjectNotFound), errors.Is(err, rpcerr.ErrBucketNotFound):
				return false, nil
			default:
				return false, fmt.Errorf("s3api: authorize: does %s/%s exist: %w", n.bucket, n.key, err)
			}
		})
	}
	return who.authz.Allowed(n.perm, target)
}

// mayListBucket reports whether the request's principal may see bk in
// ListBuckets (BUCKET_INSPECT on it).
func (s *Server) mayListBucket(req *request, bk *cairnpb.Bucket) bool {
	if req.who == nil || req.who.operator {
		return req.who != nil
	}
	ok, _ := req.who.authz.Allowed(policy.BucketInspect, policy.Target{Bucket: bk.GetName(),
		CompartmentOf: func() (string, error) { return bk.GetCompartment(), nil }})
	return ok
}
