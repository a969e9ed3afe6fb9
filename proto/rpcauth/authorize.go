package rpcauth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Metadata keys.
const (
	// AuthorizationKey carries "Bearer <admin token>".
	AuthorizationKey = "authorization"
	bearerPrefix     = "Bearer "
	// onBehalfOfKey carries, on a call a meta node forwards to its
	// leader, the identity URI of the caller the meta node served.
	onBehalfOfKey = "cairn-on-behalf-of"
)

// Caller is who made a call, as established by Authorize.
type Caller struct {
	// Identity is the caller's certificate identity; zero when it
	// authenticated with the admin token only, or on a plaintext port.
	Identity pki.Identity
	// Token: the caller presented the valid admin token.
	Token bool
}

type callerKey struct{}

// CallerFrom returns the caller Authorize established for ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Authorizer applies the table to every call of one gRPC server.
type Authorizer struct {
	rules  map[string]Rule
	secure bool
	token  string
	server string // for messages: "meta meta-1", "data data-3"
}

// NewAuthorizer authorizes calls arriving over t. adminToken, when not
// empty, is accepted by the rows that say so. server names the process in
// refusals.
func NewAuthorizer(t *Transport, adminToken, server string) *Authorizer {
	return &Authorizer{rules: Table(), secure: t.Secure(), token: adminToken, server: server}
}

// ServerOptions are the interceptors that apply the table.
func (a *Authorizer) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(a.unary), grpc.ChainStreamInterceptor(a.stream)}
}

func (a *Authorizer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.Authorize(ctx, info.FullMethod, req)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *Authorizer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.Authorize(ss.Context(), info.FullMethod, nil)
	if err != nil {
		return err
	}
	return handler(srv, &callerStream{ServerStream: ss, ctx: ctx})
}

type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// Authorize decides one call: it returns ctx carrying the Caller, or a
// gRPC status error. req is nil for streaming methods.
func (a *Authorizer) Authorize(ctx context.Context, method string, req any) (context.Context, error) {
	rule, ok := a.rules[method]
	if !ok {
		return ctx, deny(rpcerr.ErrPermissionDenied, "%s has no authorization rule for %s", a.server, method)
	}
	var c Caller
	if rule.Token {
		ok, err := a.checkToken(ctx)
		if err != nil {
			return ctx, err
		}
		c.Token = ok
	}
	if a.secure {
		id, err := a.identity(ctx)
		if err != nil {
			return ctx, err
		}
		c.Identity = id
	}
	switch {
	case c.Token:
		// The admin token stands in for a certificate on this row.
	case !a.secure && !rule.adminOnly():
		// Plaintext (--insecure-internal): no identities to check; only
		// the Admin service still wants its token.
	case !a.secure || c.Identity.Role == "":
		if rule.Token {
			return ctx, deny(rpcerr.ErrUnauthenticated, "admin token required (cairnctl: --token-file or CAIRN_ADMIN_TOKEN), or an admin certificate (--cert and --key)")
		}
		return ctx, deny(rpcerr.ErrUnauthenticated, "%s needs a client certificate", method)
	case !slices.Contains(rule.Roles, c.Identity.Role):
		return ctx, deny(rpcerr.ErrPermissionDenied, "%s may not call %s (allowed: %v)", c.Identity, method, rule.Roles)
	case rule.Self != nil && c.Identity.Role == pki.RoleData && req != nil && rule.Self(req) != c.Identity.ID:
		return ctx, deny(rpcerr.ErrPermissionDenied, "%s may call %s only for itself, not for node %q", c.Identity, method, rule.Self(req))
	}
	return context.WithValue(ctx, callerKey{}, c), nil
}

// identity is the verified identity of the caller: its certificate's,
// or, on a call forwarded by a meta node, the caller that node served.
func (a *Authorizer) identity(ctx context.Context) (pki.Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return pki.Identity{}, nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.PeerCertificates) == 0 {
		return pki.Identity{}, nil
	}
	id, err := pki.IdentityOf(ti.State.PeerCertificates[0])
	if err != nil {
		return pki.Identity{}, deny(rpcerr.ErrUnauthenticated, "%v", err)
	}
	v := metadata.ValueFromIncomingContext(ctx, onBehalfOfKey)
	if len(v) == 0 {
		return id, nil
	}
	if id.Role != pki.RoleMeta {
		return pki.Identity{}, deny(rpcerr.ErrPermissionDenied, "%s may not call on behalf of another identity", id)
	}
	if v[0] == "" {
		// The forwarding node served a caller without a certificate.
		return pki.Identity{}, nil
	}
	orig, err := pki.ParseIdentity(v[0])
	if err != nil {
		return pki.Identity{}, deny(rpcerr.ErrUnauthenticated, "forwarded caller: %v", err)
	}
	return orig, nil
}

// checkToken reports whether the call carries the admin token. A token
// that is sent but wrong is refused outright.
func (a *Authorizer) checkToken(ctx context.Context) (bool, error) {
	vals := metadata.ValueFromIncomingContext(ctx, AuthorizationKey)
	if len(vals) == 0 {
		return false, nil
	}
	got, ok := strings.CutPrefix(vals[0], bearerPrefix)
	if a.token == "" {
		return false, deny(rpcerr.ErrUnauthenticated, "%s has no admin token configured; use an admin certificate", a.server)
	}
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
		return false, deny(rpcerr.ErrUnauthenticated, "admin token rejected: it does not match the cluster's token")
	}
	return true, nil
}

// Forward returns ctx for a call this meta node makes to its leader on
// behalf of the caller of the incoming ctx: the caller's identity and
// admin token go along, and the leader authorizes them again.
func Forward(ctx context.Context) context.Context {
	if v := metadata.ValueFromIncomingContext(ctx, AuthorizationKey); len(v) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, AuthorizationKey, v[0])
	}
	if c, ok := CallerFrom(ctx); ok {
		orig := ""
		if c.Identity.Role != "" {
			orig = c.Identity.String()
		}
		ctx = metadata.AppendToOutgoingContext(ctx, onBehalfOfKey, orig)
	}
	return ctx
}

func deny(sentinel error, format string, args ...any) error {
	return rpcerr.ToStatus(fmt.Errorf(format+": %w", append(args, sentinel)...))
}
