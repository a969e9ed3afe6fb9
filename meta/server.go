package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("meta: server closed")

// gracefulStopTimeout bounds how long Serve waits for in-flight calls when
// its context ends before it cuts them off.
const gracefulStopTimeout = 5 * time.Second

// Server is one meta node: its Raft member and its gRPC services.
type Server struct {
	cfg   Config
	authz *rpcauth.Authorizer
	node  *node
	fwd   *forwarder

	mu      sync.Mutex
	servers map[*grpc.Server]struct{}
	closed  bool
}

// New starts the meta node described by cfg: it wipes and reopens the FSM
// database, opens the Raft log and snapshots under cfg.Dir, bootstraps the
// group if asked, and starts Raft, which restores the latest snapshot and
// replays the log. Call Serve to accept gRPC calls and Close when done.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Logger = cfg.Logger.With("meta", cfg.ID)
	n, err := startNode(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, authz: rpcauth.NewAuthorizer(cfg.Transport, cfg.AdminToken, "meta "+cfg.ID), node: n, fwd: newForwarder(cfg.Transport), servers: map[*grpc.Server]struct{}{}}
	if cfg.RestoreFrom != "" {
		if err := s.restoreFrom(ctx, cfg.RestoreFrom); err != nil {
			return nil, errors.Join(err, s.Close())
		}
	}
	return s, nil
}

// streamWorkers is the number of goroutines the gRPC server keeps to run
// calls on. A call that finds them all busy gets a goroutine of its own,
// so this bounds nothing; it only sets how many grown stacks are kept.
func streamWorkers() uint32 { return uint32(8 * runtime.GOMAXPROCS(0)) }

// Serve serves the Meta and Admin services on lis until ctx ends (then it
// stops gracefully and returns nil) or Close is called (then it returns nil
// too). Serve may be called for several listeners.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	// The port admits clients without a certificate (cairnctl with the
	// admin token); the authorizer refuses their calls except on rows
	// that accept the token. The error edge comes first, so it sees the
	// errors of every service method (domain errors, translated there
	// once) and of the authorizer (already statuses, passed unchanged).
	//
	// Calls run on a pool of long-lived goroutines (streamWorkers): a
	// fresh goroutine per call grew its stack, copying it, on nearly every
	// call, about a tenth of a leader's CPU under small reads.
	opts := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize),
		grpc.NumStreamWorkers(streamWorkers()), s.cfg.Transport.Server(true)}, rpcerr.ServerOptions()...)
	opts = append(opts, s.authz.ServerOptions()...)
	gs := grpc.NewServer(opts...)
	cairnpb.RegisterMetaServer(gs, &metaService{s: s})
	cairnpb.RegisterAdminServer(gs, &adminService{s: s})

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		lis.Close()
		return ErrClosed
	}
	s.servers[gs] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.servers, gs)
		s.mu.Unlock()
	}()

	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("meta: serve gRPC on %s: %w", lis.Addr(), err)
	case <-ctx.Done():
		stopped := make(chan struct{})
		go func() {
			gs.GracefulStop()
			close(stopped)
		}()
		t := time.NewTimer(gracefulStopTimeout)
		defer t.Stop()
		select {
		case <-stopped:
		case <-t.C:
			gs.Stop()
			<-stopped
		}
		<-errc
		return nil
	}
}

// Close stops serving, shuts Raft down and closes every store. The node's
// directory keeps the Raft log and snapshots; a later New on the same Dir
// resumes from them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers := make([]*grpc.Server, 0, len(s.servers))
	for gs := range s.servers {
		servers = append(servers, gs)
	}
	s.mu.Unlock()
	for _, gs := range servers {
		gs.Stop()
	}
	err := errors.Join(s.node.close(), s.fwd.close())
	if err != nil {
		return fmt.Errorf("meta: close %s: %w", s.cfg.ID, err)
	}
	return nil
}

// ID returns the node's Raft server ID.
func (s *Server) ID() string { return s.cfg.ID }

// IsLeader reports whether this node currently leads the group.
func (s *Server) IsLeader() bool { return s.node.isLeader() }

// WaitLeader blocks until this node can serve requests: either it leads and
// its post-election barrier is done, or another node leads and this node
// knows the leader's gRPC address to forward to.
func (s *Server) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if s.hasUsableLeader() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("meta: %s waiting for a leader: %w", s.cfg.ID, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Server) hasUsableLeader() bool {
	if ld := s.node.leadership(); ld != nil {
		select {
		case <-ld.ready:
			return true
		default:
			return false
		}
	}
	_, id := s.node.raft.LeaderWithID()
	if id == "" || string(id) == s.cfg.ID {
		return false
	}
	var m *cairnpb.MetaMember
	_ = s.node.store.View(func(r pebble.Reader) error {
		var err error
		m, err = fsm.GetMember(r, string(id))
		return err
	})
	return m.GetGrpcAddr() != ""
}

// Run starts a meta node and serves lis until ctx ends, then closes it.
func Run(ctx context.Context, cfg Config, lis net.Listener) error {
	s, err := New(ctx, cfg)
	if err != nil {
		lis.Close()
		return err
	}
	serveErr := s.Serve(ctx, lis)
	return errors.Join(serveErr, s.Close())
}
