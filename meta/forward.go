package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// forwardedKey is the gRPC metadata key a follower sets, with its ID, on a
// request it forwards to the leader. A node never forwards such a request
// again, so a stale view of who leads cannot make requests bounce.
const forwardedKey = "cairn-forwarded-by"

// maxMsgSize bounds gRPC messages both ways; CommitObject carries inline
// object data.
const maxMsgSize = 16 << 20

// forwarder caches one client connection per leader gRPC address.
type forwarder struct {
	transport *rpcauth.Transport
	mu        sync.Mutex
	conns     map[string]*grpc.ClientConn
	closed    bool
}

var errForwarderClosed = errors.New("meta: forwarder closed")

func newForwarder(t *rpcauth.Transport) *forwarder {
	return &forwarder{transport: t, conns: map[string]*grpc.ClientConn{}}
}

func (f *forwarder) conn(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errForwarderClosed
	}
	if cc, ok := f.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, append(f.transport.DialOptions(pki.RoleMeta),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("meta: connect to leader at %s: %w", addr, err)
	}
	f.conns[addr] = cc
	return cc, nil
}

func (f *forwarder) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var errs []error
	for addr, cc := range f.conns {
		errs = append(errs, cc.Close())
		delete(f.conns, addr)
	}
	return errors.Join(errs...)
}

func forwardedBy(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, forwardedKey); len(v) > 0 {
		return v[0]
	}
	return ""
}

// leaderConn decides where a request runs: nil means here (this node leads),
// otherwise the connection to the leader. With no usable leader it returns
// rpcerr.ErrNoLeader; for a request that was already forwarded once,
// rpcerr.ErrNotLeader. When it forwards, it also names the leader's gRPC
// address to the caller in a response header (metaclient.LeaderHeader), so
// that a client which knows that address calls the leader directly next
// time instead of paying for this hop on every call.
func (s *Server) leaderConn(ctx context.Context) (*grpc.ClientConn, error) {
	n := s.node
	if n.isLeader() {
		return nil, nil
	}
	if by := forwardedBy(ctx); by != "" {
		return nil, fmt.Errorf("meta: %s forwarded a request here but %s does not lead: %w", by, s.cfg.ID, rpcerr.ErrNotLeader)
	}
	_, id := n.raft.LeaderWithID()
	switch id {
	case "":
		return nil, fmt.Errorf("meta: %w known to %s", rpcerr.ErrNoLeader, s.cfg.ID)
	case raft.ServerID(s.cfg.ID):
		return nil, nil // leading, a moment before raft.State says so
	}
	var m *cairnpb.MetaMember
	err := n.store.View(func(r pebble.Reader) error {
		var err error
		m, err = fsm.GetMember(r, string(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.GetGrpcAddr() == "" {
		return nil, fmt.Errorf("meta: leader %s has not published its gRPC address yet: %w", id, rpcerr.ErrNoLeader)
	}
	// Best effort: a header cannot be set once the response has begun, and
	// a client that misses the hint only keeps forwarding.
	_ = grpc.SetHeader(ctx, metadata.Pairs(metaclient.LeaderHeader, m.GetGrpcAddr()))
	return s.fwd.conn(m.GetGrpcAddr())
}

// route runs call here when this node leads and forwards req to the leader
// otherwise. Errors from the leader are gRPC statuses and pass through the
// edge conversion unchanged.
func route[Req, Resp any](
	ctx context.Context, s *Server, req Req,
	local func(context.Context, Req) (Resp, error),
	remote func(cairnpb.MetaClient, context.Context, Req, ...grpc.CallOption) (Resp, error),
) (Resp, error) {
	return routeVia(ctx, s, req, local, cairnpb.NewMetaClient, remote)
}

// routeVia is route for any service: newClient builds the service's client
// on the leader's connection.
func routeVia[Client, Req, Resp any](
	ctx context.Context, s *Server, req Req,
	local func(context.Context, Req) (Resp, error),
	newClient func(grpc.ClientConnInterface) Client,
	remote func(Client, context.Context, Req, ...grpc.CallOption) (Resp, error),
) (Resp, error) {
	cc, err := s.leaderConn(ctx)
	if err != nil {
		var zero Resp
		return zero, err
	}
	if cc == nil {
		return local(ctx, req)
	}
	ctx = metadata.AppendToOutgoingContext(withRequestID(rpcauth.Forward(ctx)), forwardedKey, s.cfg.ID)
	return remote(newClient(cc), ctx, req)
}
