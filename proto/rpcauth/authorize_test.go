package rpcauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

const (
	testToken = "s3cret-admin-token"
	// onBehalfOfWire is the metadata key of a forwarded caller, as it goes
	// on the wire between meta nodes of possibly different versions.
	onBehalfOfWire = "cairn-on-behalf-of"
)

// fixture is a cluster's certificates and a meta node's secure transport.
type fixture struct {
	tr    *Transport
	certs map[string]*x509.Certificate // by ID
	ids   map[string]pki.Identity      // by ID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ids := []pki.Identity{
		{Role: pki.RoleMeta, ID: "meta-1"}, {Role: pki.RoleMeta, ID: "meta-2"},
		{Role: pki.RoleData, ID: "data-1"}, {Role: pki.RoleData, ID: "data-2"},
		{Role: pki.RoleGateway, ID: "gateway-1"}, {Role: pki.RoleAdmin, ID: "admin-1"},
	}
	if _, err := pki.EnsureDir(dir, "c1", ids, []string{"127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{certs: map[string]*x509.Certificate{}, ids: map[string]pki.Identity{}}
	for _, id := range ids {
		c, _ := pki.LeafFiles(dir, id)
		cert, err := pki.ReadCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pki.IdentityOf(cert)
		if err != nil {
			t.Fatal(err)
		}
		f.certs[id.ID], f.ids[id.ID] = cert, got
	}
	src, err := pki.Load(pki.DirFiles(dir, ids[0]), ids[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	f.tr = MTLS(src)
	return f
}

// roleID is the fixture's certificate of each role.
func roleID(r pki.Role) string {
	return map[pki.Role]string{pki.RoleMeta: "meta-2", pki.RoleData: "data-1", pki.RoleGateway: "gateway-1", pki.RoleAdmin: "admin-1"}[r]
}

// call is the context of one incoming call.
type call struct {
	cert  *x509.Certificate // the peer's verified certificate
	tls   bool              // a TLS peer (implied by cert): false is no peer at all
	token string            // authorization header value, "" for none
	md    []string          // more incoming metadata pairs
}

func (c call) ctx() context.Context {
	ctx := context.Background()
	if c.cert != nil || c.tls {
		var state tls.ConnectionState
		if c.cert != nil {
			state.PeerCertificates = []*x509.Certificate{c.cert}
		}
		ctx = peer.NewContext(ctx, &peer.Peer{
			Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
			AuthInfo: credentials.TLSInfo{State: state},
		})
	}
	pairs := slices.Clone(c.md)
	if c.token != "" {
		pairs = append(pairs, AuthorizationKey, c.token)
	}
	if len(pairs) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(pairs...))
	}
	return ctx
}

// selfRequest is a request of a method whose row names the node it speaks
// for, made for node; nil for other methods.
func selfRequest(method, node string) any {
	switch method {
	case cairnpb.Meta_RegisterNode_FullMethodName:
		return &cairnpb.RegisterNodeRequest{Node: &cairnpb.DataNode{Id: node}}
	case cairnpb.Meta_Heartbeat_FullMethodName:
		return &cairnpb.HeartbeatRequest{NodeId: node}
	case cairnpb.Meta_ReportCorruptShard_FullMethodName:
		return &cairnpb.ReportCorruptShardRequest{NodeId: node, ShardId: "s1"}
	}
	return nil
}

func sortedMethods() []string {
	var out []string
	for m := range Table() {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// wantDenied checks err is a status with code and, through rpcerr, the
// matching sentinel.
func wantDenied(t *testing.T, err error, code codes.Code) {
	t.Helper()
	sentinel := map[codes.Code]error{codes.PermissionDenied: rpcerr.ErrPermissionDenied, codes.Unauthenticated: rpcerr.ErrUnauthenticated}[code]
	if got := status.Code(err); got != code {
		t.Fatalf("code %v (%v), want %v", got, err, code)
	}
	if !errors.Is(rpcerr.FromStatus(err), sentinel) {
		t.Fatalf("%v does not carry the reason of %v", err, sentinel)
	}
}

// wantCaller checks Authorize let the call through with caller.
func wantCaller(t *testing.T, ctx context.Context, err error, want Caller) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	got, ok := CallerFrom(ctx)
	if !ok {
		t.Fatal("no Caller in the authorized context")
	}
	if got != want {
		t.Fatalf("Caller %+v, want %+v", got, want)
	}
}

// TestEveryRowEveryRole: on a secure port, each row admits exactly its
// roles, and a call without a certificate is unauthenticated.
func TestEveryRowEveryRole(t *testing.T) {
	f := newFixture(t)
	a := NewAuthorizer(f.tr, testToken, "meta meta-1")
	table := Table()
	for _, method := range sortedMethods() {
		rule := table[method]
		t.Run(method, func(t *testing.T) {
			req := selfRequest(method, "data-1")
			for _, role := range pki.Roles() {
				id := roleID(role)
				ctx, err := a.Authorize(call{cert: f.certs[id]}.ctx(), method, req)
				if slices.Contains(rule.Roles, role) {
					wantCaller(t, ctx, err, Caller{Identity: f.ids[id]})
					continue
				}
				wantDenied(t, err, codes.PermissionDenied)
				if _, ok := CallerFrom(ctx); ok {
					t.Fatalf("%s: a refused call's context carries a Caller", role)
				}
			}
			_, err := a.Authorize(call{}.ctx(), method, req)
			wantDenied(t, err, codes.Unauthenticated)
			_, err = a.Authorize(call{tls: true}.ctx(), method, req)
			wantDenied(t, err, codes.Unauthenticated)
		})
	}
}

// TestSelfRows: a data node speaks only for itself.
func TestSelfRows(t *testing.T) {
	f := newFixture(t)
	a := NewAuthorizer(f.tr, testToken, "meta meta-1")
	methods := []string{cairnpb.Meta_RegisterNode_FullMethodName, cairnpb.Meta_Heartbeat_FullMethodName, cairnpb.Meta_ReportCorruptShard_FullMethodName}
	for _, m := range methods {
		if Table()[m].Self == nil {
			t.Fatalf("%s has no Self check", m)
		}
	}
	cases := []struct {
		name, caller, node string
		ok                 bool
	}{
		{"data-1 for itself", "data-1", "data-1", true},
		{"data-2 for itself", "data-2", "data-2", true},
		{"data-1 for data-2", "data-1", "data-2", false},
		{"data-2 for data-1", "data-2", "data-1", false},
		{"data-1 for no node", "data-1", "", false},
		{"data-1 for a prefix of itself", "data-1", "data-", false},
	}
	for _, m := range methods {
		for _, c := range cases {
			t.Run(m+"/"+c.name, func(t *testing.T) {
				ctx, err := a.Authorize(call{cert: f.certs[c.caller]}.ctx(), m, selfRequest(m, c.node))
				if c.ok {
					wantCaller(t, ctx, err, Caller{Identity: f.ids[c.caller]})
					return
				}
				wantDenied(t, err, codes.PermissionDenied)
			})
		}
	}
}

func adminMethods() []string {
	var out []string
	for _, m := range cairnpb.Admin_ServiceDesc.Methods {
		out = append(out, "/"+cairnpb.Admin_ServiceDesc.ServiceName+"/"+m.MethodName)
	}
	for _, s := range cairnpb.Admin_ServiceDesc.Streams {
		out = append(out, "/"+cairnpb.Admin_ServiceDesc.ServiceName+"/"+s.StreamName)
	}
	return out
}

// TestAdminRows: an admin certificate or the admin token; a wrong token is
// refused whatever the certificate; no token configured accepts none.
func TestAdminRows(t *testing.T) {
	f := newFixture(t)
	withToken := NewAuthorizer(f.tr, testToken, "meta meta-1")
	noToken := NewAuthorizer(f.tr, "", "meta meta-1")
	bearer := "Bearer " + testToken
	cases := []struct {
		name string
		a    *Authorizer
		call call
		want Caller
		code codes.Code // OK: allowed with want
	}{
		{"admin certificate", withToken, call{cert: f.certs["admin-1"]}, Caller{Identity: f.ids["admin-1"]}, codes.OK},
		{"admin certificate and the token", withToken, call{cert: f.certs["admin-1"], token: bearer}, Caller{Identity: f.ids["admin-1"], Token: true}, codes.OK},
		{"token, no peer certificate", withToken, call{tls: true, token: bearer}, Caller{Token: true}, codes.OK},
		{"token, no peer at all", withToken, call{token: bearer}, Caller{Token: true}, codes.OK},
		{"token from a gateway", withToken, call{cert: f.certs["gateway-1"], token: bearer}, Caller{Identity: f.ids["gateway-1"], Token: true}, codes.OK},
		{"admin certificate, no token configured", noToken, call{cert: f.certs["admin-1"]}, Caller{Identity: f.ids["admin-1"]}, codes.OK},

		{"wrong token with an admin certificate", withToken, call{cert: f.certs["admin-1"], token: "Bearer wrong"}, Caller{}, codes.Unauthenticated},
		{"wrong token", withToken, call{tls: true, token: "Bearer wrong"}, Caller{}, codes.Unauthenticated},
		{"token with a suffix", withToken, call{tls: true, token: bearer + "x"}, Caller{}, codes.Unauthenticated},
		{"token without Bearer", withToken, call{tls: true, token: testToken}, Caller{}, codes.Unauthenticated},
		{"token with lower-case bearer", withToken, call{tls: true, token: "bearer " + testToken}, Caller{}, codes.Unauthenticated},
		{"empty bearer", withToken, call{tls: true, token: "Bearer "}, Caller{}, codes.Unauthenticated},
		{"no token, no certificate", withToken, call{tls: true}, Caller{}, codes.Unauthenticated},
		{"no token, no peer", withToken, call{}, Caller{}, codes.Unauthenticated},
		{"none configured: a token", noToken, call{tls: true, token: bearer}, Caller{}, codes.Unauthenticated},
		{"none configured: an empty token", noToken, call{tls: true, token: "Bearer "}, Caller{}, codes.Unauthenticated},
		{"none configured: a token with an admin certificate", noToken, call{cert: f.certs["admin-1"], token: bearer}, Caller{}, codes.Unauthenticated},
		{"none configured: nothing", noToken, call{tls: true}, Caller{}, codes.Unauthenticated},

		{"gateway certificate, no token", withToken, call{cert: f.certs["gateway-1"]}, Caller{}, codes.PermissionDenied},
		{"meta certificate, no token", withToken, call{cert: f.certs["meta-2"]}, Caller{}, codes.PermissionDenied},
	}
	methods := adminMethods()
	if len(methods) == 0 {
		t.Fatal("the Admin service declares no methods")
	}
	for _, m := range methods {
		if r := Table()[m]; !r.Token || !slices.Equal(r.Roles, []pki.Role{pki.RoleAdmin}) {
			t.Fatalf("%s: row %+v, want admin certificate or token", m, r)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range methods {
				ctx, err := c.a.Authorize(c.call.ctx(), m, nil)
				if c.code == codes.OK {
					wantCaller(t, ctx, err, c.want)
					continue
				}
				wantDenied(t, err, c.code)
			}
		})
	}
}

// TestGetClusterMapRow: the one row that admits roles and the token.
func TestGetClusterMapRow(t *testing.T) {
	f := newFixture(t)
	a := NewAuthorizer(f.tr, testToken, "meta meta-1")
	m := cairnpb.Meta_GetClusterMap_FullMethodName
	ctx, err := a.Authorize(call{tls: true, token: "Bearer " + testToken}.ctx(), m, &cairnpb.GetClusterMapRequest{})
	wantCaller(t, ctx, err, Caller{Token: true})
	_, err = a.Authorize(call{cert: f.certs["gateway-1"], token: "Bearer wrong"}.ctx(), m, &cairnpb.GetClusterMapRequest{})
	wantDenied(t, err, codes.Unauthenticated)
	_, err = a.Authorize(call{cert: f.certs["meta-2"]}.ctx(), m, &cairnpb.GetClusterMapRequest{})
	wantDenied(t, err, codes.PermissionDenied)
}

// TestOnBehalfOf: a meta node forwarding to its leader names the caller
// it served, and the leader authorizes that caller; nobody else may.
func TestOnBehalfOf(t *testing.T) {
	f := newFixture(t)
	a := NewAuthorizer(f.tr, testToken, "meta meta-1")
	gw, d1 := f.ids["gateway-1"].String(), f.ids["data-1"].String()
	createBucket, heartbeat := cairnpb.Meta_CreateBucket_FullMethodName, cairnpb.Meta_Heartbeat_FullMethodName
	deleteShard, adminRow := cairnpb.Data_DeleteShard_FullMethodName, adminMethods()[0]
	cases := []struct {
		name   string
		call   call
		method string
		req    any
		want   Caller
		code   codes.Code
	}{
		{"meta for a gateway, gateway row", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, gw}}, createBucket, nil, Caller{Identity: f.ids["gateway-1"]}, codes.OK},
		{"meta for a gateway, data row", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, gw}}, heartbeat, selfRequest(heartbeat, "gateway-1"), Caller{}, codes.PermissionDenied},
		{"meta for a gateway, meta row", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, gw}}, deleteShard, nil, Caller{}, codes.PermissionDenied},
		{"meta for a gateway, admin row", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, gw}}, adminRow, nil, Caller{}, codes.PermissionDenied},
		{"meta for data-1, itself", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, d1}}, heartbeat, selfRequest(heartbeat, "data-1"), Caller{Identity: f.ids["data-1"]}, codes.OK},
		{"meta for data-1, as data-2", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, d1}}, heartbeat, selfRequest(heartbeat, "data-2"), Caller{}, codes.PermissionDenied},
		{"meta for a token caller, admin row", call{cert: f.certs["meta-2"], token: "Bearer " + testToken, md: []string{onBehalfOfWire, ""}}, adminRow, nil, Caller{Token: true}, codes.OK},
		{"meta for a caller without identity, gateway row", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, ""}}, createBucket, nil, Caller{}, codes.Unauthenticated},
		{"meta for a malformed identity", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, "spiffe://cairn/c1/gateway"}}, createBucket, nil, Caller{}, codes.Unauthenticated},
		{"meta for a non-URI", call{cert: f.certs["meta-2"], md: []string{onBehalfOfWire, "gateway-1"}}, createBucket, nil, Caller{}, codes.Unauthenticated},

		{"gateway naming a gateway", call{cert: f.certs["gateway-1"], md: []string{onBehalfOfWire, gw}}, createBucket, nil, Caller{}, codes.PermissionDenied},
		{"gateway naming nobody", call{cert: f.certs["gateway-1"], md: []string{onBehalfOfWire, ""}}, createBucket, nil, Caller{}, codes.PermissionDenied},
		{"data node naming another", call{cert: f.certs["data-2"], md: []string{onBehalfOfWire, d1}}, heartbeat, selfRequest(heartbeat, "data-1"), Caller{}, codes.PermissionDenied},
		{"admin naming a gateway", call{cert: f.certs["admin-1"], md: []string{onBehalfOfWire, gw}}, createBucket, nil, Caller{}, codes.PermissionDenied},
		{"no certificate naming a gateway", call{tls: true, md: []string{onBehalfOfWire, gw}}, createBucket, nil, Caller{}, codes.Unauthenticated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, err := a.Authorize(c.call.ctx(), c.method, c.req)
			if c.code == codes.OK {
				wantCaller(t, ctx, err, c.want)
				return
			}
			wantDenied(t, err, c.code)
		})
	}
}

// TestForwardRoundTrip: a follower authorizes a call, Forward builds the
// metadata of its call to the leader, and the leader, seeing the follower
// as its peer, authorizes the original caller again.
func TestForwardRoundTrip(t *testing.T) {
	f := newFixture(t)
	follower := NewAuthorizer(f.tr, testToken, "meta meta-2")
	leader := NewAuthorizer(f.tr, testToken, "meta meta-1")
	bearer := "Bearer " + testToken
	createBucket, register := cairnpb.Meta_CreateBucket_FullMethodName, cairnpb.Meta_RegisterNode_FullMethodName
	adminRow := adminMethods()[0]
	cases := []struct {
		name       string
		in         call
		method     string
		req        any
		wantOnBeh  []string // the on-behalf-of values sent
		wantCaller Caller   // at the leader
	}{
		{"gateway", call{cert: f.certs["gateway-1"]}, createBucket, nil, []string{f.ids["gateway-1"].String()}, Caller{Identity: f.ids["gateway-1"]}},
		{"data node for itself", call{cert: f.certs["data-1"]}, register, selfRequest(register, "data-1"), []string{f.ids["data-1"].String()}, Caller{Identity: f.ids["data-1"]}},
		{"admin certificate", call{cert: f.certs["admin-1"]}, adminRow, nil, []string{f.ids["admin-1"].String()}, Caller{Identity: f.ids["admin-1"]}},
		{"token only", call{tls: true, token: bearer}, adminRow, nil, []string{""}, Caller{Token: true}},
		{"token and an admin certificate", call{cert: f.certs["admin-1"], token: bearer}, adminRow, nil, []string{f.ids["admin-1"].String()}, Caller{Identity: f.ids["admin-1"], Token: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, err := follower.Authorize(c.in.ctx(), c.method, c.req)
			if err != nil {
				t.Fatalf("follower refused: %v", err)
			}
			out, ok := metadata.FromOutgoingContext(Forward(ctx))
			if !ok {
				t.Fatal("Forward set no outgoing metadata")
			}
			if got := out.Get(onBehalfOfWire); !slices.Equal(got, c.wantOnBeh) {
				t.Fatalf("on-behalf-of %q, want %q", got, c.wantOnBeh)
			}
			if c.in.token != "" && !slices.Equal(out.Get(AuthorizationKey), []string{c.in.token}) {
				t.Fatalf("authorization %q, want the caller's", out.Get(AuthorizationKey))
			}
			if c.in.token == "" && len(out.Get(AuthorizationKey)) != 0 {
				t.Fatalf("authorization %q sent for a caller that sent none", out.Get(AuthorizationKey))
			}
			lctx := peer.NewContext(metadata.NewIncomingContext(context.Background(), out), tlsPeer(f.certs["meta-2"]))
			lctx, err = leader.Authorize(lctx, c.method, c.req)
			wantCaller(t, lctx, err, c.wantCaller)
		})
	}

	t.Run("a data node for another is refused by the follower and the leader", func(t *testing.T) {
		req := selfRequest(register, "data-2")
		_, err := follower.Authorize(call{cert: f.certs["data-1"]}.ctx(), register, req)
		wantDenied(t, err, codes.PermissionDenied)
		// A follower that forwarded anyway: the leader checks again.
		ctx := context.WithValue(call{cert: f.certs["data-1"]}.ctx(), callerKey{}, Caller{Identity: f.ids["data-1"]})
		out, _ := metadata.FromOutgoingContext(Forward(ctx))
		lctx := peer.NewContext(metadata.NewIncomingContext(context.Background(), out), tlsPeer(f.certs["meta-2"]))
		_, err = leader.Authorize(lctx, register, req)
		wantDenied(t, err, codes.PermissionDenied)
	})

	t.Run("forwarding an unauthorized context names no one", func(t *testing.T) {
		ctx := call{cert: f.certs["gateway-1"]}.ctx()
		out, _ := metadata.FromOutgoingContext(Forward(ctx))
		if v := out.Get(onBehalfOfWire); len(v) != 0 {
			t.Fatalf("on-behalf-of %q without an authorized caller", v)
		}
		// The leader then sees the meta node itself, which may not
		// create buckets.
		lctx := peer.NewContext(metadata.NewIncomingContext(context.Background(), out), tlsPeer(f.certs["meta-2"]))
		_, err := leader.Authorize(lctx, createBucket, nil)
		wantDenied(t, err, codes.PermissionDenied)
	})
}

func tlsPeer(cert *x509.Certificate) *peer.Peer {
	return &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40001},
		AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}},
	}
}

// TestInsecure: on plaintext ports identities are not checked, but the
// rows only an operator may call still need the admin token.
func TestInsecure(t *testing.T) {
	f := newFixture(t)
	table := Table()
	for _, tr := range []struct {
		name string
		tr   *Transport
	}{{"Insecure", Insecure()}, {"nil", nil}} {
		t.Run(tr.name, func(t *testing.T) {
			if tr.tr.Secure() {
				t.Fatal("an insecure transport reports Secure")
			}
			a := NewAuthorizer(tr.tr, testToken, "meta meta-1")
			for _, m := range sortedMethods() {
				rule := table[m]
				adminOnly := !slices.ContainsFunc(rule.Roles, func(r pki.Role) bool { return r != pki.RoleAdmin })
				req := selfRequest(m, "data-1")
				ctx, err := a.Authorize(call{}.ctx(), m, req)
				if !adminOnly {
					wantCaller(t, ctx, err, Caller{})
					// A forwarded identity means nothing here either.
					ctx, err = a.Authorize(call{md: []string{onBehalfOfWire, f.ids["admin-1"].String()}}.ctx(), m, req)
					wantCaller(t, ctx, err, Caller{})
					continue
				}
				wantDenied(t, err, codes.Unauthenticated)
				ctx, err = a.Authorize(call{token: "Bearer " + testToken}.ctx(), m, req)
				wantCaller(t, ctx, err, Caller{Token: true})
				_, err = a.Authorize(call{token: "Bearer nope"}.ctx(), m, req)
				wantDenied(t, err, codes.Unauthenticated)
			}
		})
	}
	t.Run("no token configured", func(t *testing.T) {
		a := NewAuthorizer(Insecure(), "", "meta meta-1")
		m := adminMethods()[0]
		_, err := a.Authorize(call{token: "Bearer "}.ctx(), m, nil)
		wantDenied(t, err, codes.Unauthenticated)
		_, err = a.Authorize(call{}.ctx(), m, nil)
		wantDenied(t, err, codes.Unauthenticated)
	})
}

func TestUnknownMethodRefused(t *testing.T) {
	f := newFixture(t)
	secure := NewAuthorizer(f.tr, testToken, "meta meta-1")
	insecure := NewAuthorizer(Insecure(), testToken, "meta meta-1")
	methods := []string{"", "/cairn.v1.Meta/NoSuchMethod", "/cairn.v1.Raft/AppendEntries", "cairn.v1.Meta/CreateBucket", "/cairn.v1.meta/CreateBucket"}
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			for _, c := range []call{
				{cert: f.certs["admin-1"], token: "Bearer " + testToken},
				{cert: f.certs["meta-2"]},
				{cert: f.certs["gateway-1"]},
			} {
				ctx, err := secure.Authorize(c.ctx(), m, nil)
				wantDenied(t, err, codes.PermissionDenied)
				if _, ok := CallerFrom(ctx); ok {
					t.Fatal("refused call carries a Caller")
				}
				_, err = insecure.Authorize(c.ctx(), m, nil)
				wantDenied(t, err, codes.PermissionDenied)
			}
		})
	}
}

func TestCallerFrom(t *testing.T) {
	f := newFixture(t)
	a := NewAuthorizer(f.tr, testToken, "meta meta-1")
	base := call{cert: f.certs["gateway-1"]}.ctx()
	if _, ok := CallerFrom(base); ok {
		t.Fatal("Caller before Authorize")
	}
	ctx, err := a.Authorize(base, cairnpb.Meta_GetObject_FullMethodName, &cairnpb.GetObjectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := CallerFrom(ctx)
	if !ok || c.Identity != f.ids["gateway-1"] || c.Token {
		t.Fatalf("CallerFrom = %+v, %v", c, ok)
	}
	if c.Identity.Cluster != "c1" || c.Identity.Role != pki.RoleGateway || c.Identity.ID != "gateway-1" {
		t.Fatalf("identity %+v", c.Identity)
	}
	// The incoming metadata and peer survive in the returned context.
	if p, ok := peer.FromContext(ctx); !ok || p.AuthInfo == nil {
		t.Fatal("Authorize dropped the peer")
	}
}
