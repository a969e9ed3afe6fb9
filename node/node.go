package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Defaults for Config.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
)

// Config configures a data node.
type Config struct {
	// ID names the node in the cluster map. Required.
	ID string
	// Dir is the data directory holding the store. Required.
	Dir string
	// Listen is the address Run listens on, e.g. "127.0.0.1:0".
	Listen string
	// Advertise is the address other processes dial; default: the address
	// the listener actually got.
	Advertise string
	// MetaAddrs are the meta nodes' gRPC addresses. Empty: the node does
	// not register or heartbeat (tests, tools).
	MetaAddrs []string
	// Zone, Rack and Host are the failure-domain labels sent to meta.
	Zone, Rack, Host string
	// Weight is the node's placement weight; default 1.
	Weight float64
	// HeartbeatInterval is the time between heartbeats; default 2s.
	HeartbeatInterval time.Duration
	// ShutdownTimeout bounds the graceful stop of the gRPC server; streams
	// still running after it are cut. Default 10s.
	ShutdownTimeout time.Duration
	// Logger receives the node's logs; default slog.Default() with a "node"
	// attribute (a given Logger is used as is).
	Logger *slog.Logger
	// Now is the node's clock; default time.Now.
	Now func() time.Time
	// Store holds store tuning; its FS, Logger and Now default to the
	// node's (FS: the real filesystem). Its NodeID is always ID.
	Store StoreOptions
	// DialOptions are added to the meta client's.
	DialOptions []grpc.DialOption
	// Transport secures the Data port (mutual TLS, callers authorized by
	// proto/rpcauth's table) and the node's connections to meta and to
	// other data nodes. Nil is plaintext with no caller identities (tests;
	// --insecure-internal).
	Transport *rpcauth.Transport
	// ScrubInterval is the pause between scrub passes, which re-read and
	// verify every stored block; default 24h, negative disables scrubbing.
	ScrubInterval time.Duration
	// ScrubBytesPerSecond bounds the scrubber's read rate; default 32 MiB/s,
	// negative means unlimited.
	ScrubBytesPerSecond int64
}

func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		return c, errors.New("node: config: ID is required")
	}
	if c.Dir == "" {
		return c, errors.New("node: config: Dir is required")
	}
	if c.Weight == 0 {
		c.Weight = 1
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = DefaultScrubInterval
	}
	if c.ScrubBytesPerSecond == 0 {
		c.ScrubBytesPerSecond = DefaultScrubBytesPerSec
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default().With("node", c.ID)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Store.Logger == nil {
		c.Store.Logger = c.Logger
	}
	if c.Store.Now == nil {
		c.Store.Now = c.Now
	}
	if c.Store.FS == nil {
		c.Store.FS = vfs.Default
	}
	c.Store.NodeID = c.ID
	return c, nil
}

// Node is a data node: a Store, the Data gRPC service over it, and the
// registration and heartbeat loop towards meta.
type Node struct {
	cfg   Config
	store *Store
	srv   *Server

	mu      sync.Mutex
	addr    string
	serving bool

	// contact is when meta last accepted a registration or heartbeat
	// (Unix nanoseconds; 0 before the first).
	contact atomic.Int64
}

// New opens the node's store. Serve it with Serve; release it with Close.
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(context.Background(), cfg.Dir, cfg.Store)
	if err != nil {
		return nil, err
	}
	return &Node{
		cfg:   cfg,
		store: st,
		srv:   NewServer(cfg.ID, st, cfg.Logger, cfg.Transport),
		addr:  cfg.Advertise,
	}, nil
}

// Store returns the node's store.
func (n *Node) Store() *Store { return n.store }

// Counters returns the store's counters.
func (n *Node) Counters() Counters { return n.store.Counters() }

// Addr is the address the node advertises: Config.Advertise, or else the
// address of the listener given to Serve ("" before Serve).
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// Serve serves the Data service on lis until ctx ends, then stops
// gracefully (cutting streams after Config.ShutdownTimeout). Meanwhile it
// registers with meta (retrying until meta answers), heartbeats, and sweeps
// orphaned blocks once. If meta refuses the data directory as another
// cluster's, Serve stops the same way and returns an error wrapping
// ErrForeignCluster. It does not close the store; Close does. Serve may be
// called once.
func (n *Node) Serve(ctx context.Context, lis net.Listener) error {
	n.mu.Lock()
	if n.serving {
		n.mu.Unlock()
		return errors.New("node: Serve called twice")
	}
	n.serving = true
	if n.addr == "" {
		n.addr = lis.Addr().String()
		if tcp, ok := lis.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
			n.cfg.Logger.Warn("listening on an unspecified address; set Advertise so others can dial it", "addr", n.addr)
		}
	}
	addr := n.addr
	n.mu.Unlock()

	var mc *metaclient.Client
	if len(n.cfg.MetaAddrs) > 0 {
		c, err := metaclient.New(n.cfg.MetaAddrs, append(n.cfg.Transport.DialOptions(pki.RoleMeta), n.cfg.DialOptions...)...)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("node: meta client: %w", err)
		}
		defer c.Close()
		mc = c
	}

	// ServerOptions brings the error edge, ahead of the authorizer.
	opts := append(ServerOptions(), n.cfg.Transport.Server(false))
	opts = append(opts, rpcauth.NewAuthorizer(n.cfg.Transport, "", "data "+n.cfg.ID).ServerOptions()...)
	gs := grpc.NewServer(opts...)
	cairnpb.RegisterDataServer(gs, n.srv)

	bgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	fatal := make(chan error, 1)
	wg.Go(func() {
		if k, err := n.store.SweepOrphans(bgCtx); err != nil && bgCtx.Err() == nil {
			n.cfg.Logger.Error("orphan sweep failed", "err", err)
		} else if k > 0 {
			n.cfg.Logger.Warn("orphan sweep removed blocks", "seqs", k)
		}
	})
	if mc != nil {
		wg.Go(func() {
			if err := n.heartbeatLoop(bgCtx, mc, addr); err != nil {
				fatal <- err
			}
		})
		wg.Go(func() { n.readFaultLoop(bgCtx, mc) })
	}
	if n.cfg.ScrubInterval > 0 {
		wg.Go(func() { n.scrubLoop(bgCtx, mc) })
	}

	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	n.cfg.Logger.Info("data node serving", "addr", addr, "dir", n.cfg.Dir)

	var err error
	select {
	case err = <-served:
		if err != nil {
			err = fmt.Errorf("node: serve: %w", err)
		}
	case err = <-fatal:
		n.cfg.Logger.Error("data node stopping", "err", err)
		n.gracefulStop(gs)
		<-served
	case <-ctx.Done():
		n.gracefulStop(gs)
		<-served
	}
	gs.Stop()
	_ = n.srv.peers.Close() // connections RebuildShard opened to other data nodes
	cancel()
	wg.Wait()
	return err
}

// ErrNotReady: the node is not known to meta, or has lost touch with it
// (Ready).
var ErrNotReady = errors.New("node: not ready")

// readyWindow is how long after its last accepted registration or
// heartbeat the node still calls itself ready: three heartbeats (6 s by
// default), inside the time meta gives a silent node before it calls it
// unhealthy (meta.DefaultHealthWindow, 10 s).
func (n *Node) readyWindow() time.Duration { return 3 * n.cfg.HeartbeatInterval }

// Ready reports, for a readiness probe, whether meta counts this node: it
// registered, and meta accepted a registration or heartbeat from it within
// the last three heartbeat intervals. A node that reports no meta
// addresses (a test or tool) is ready once it serves. An orchestrator that
// waits for readiness before restarting the next data node (a StatefulSet's
// rolling update) then waits until meta counts this one again.
func (n *Node) Ready(context.Context) error {
	n.mu.Lock()
	serving := n.serving
	n.mu.Unlock()
	if !serving {
		return fmt.Errorf("%w: not serving yet", ErrNotReady)
	}
	if len(n.cfg.MetaAddrs) == 0 {
		return nil
	}
	last := n.contact.Load()
	if last == 0 {
		return fmt.Errorf("%w: not yet registered with meta", ErrNotReady)
	}
	if since := n.cfg.Now().Sub(time.Unix(0, last)); since > n.readyWindow() {
		return fmt.Errorf("%w: meta has not accepted a heartbeat for %v", ErrNotReady, since.Round(time.Second))
	}
	return nil
}

// gracefulStop stops gs, letting calls in flight finish for at most
// Config.ShutdownTimeout before cutting them.
func (n *Node) gracefulStop(gs *grpc.Server) {
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(n.cfg.ShutdownTimeout):
		n.cfg.Logger.Warn("graceful stop timed out; cutting streams")
		gs.Stop()
		<-stopped
	}
}

// Close closes the store. Call it after Serve has returned.
func (n *Node) Close() error { return n.store.Close() }

// Run opens the node, listens on cfg.Listen, serves until ctx ends and
// closes everything.
func Run(ctx context.Context, cfg Config) error {
	n, err := New(cfg)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("node: listen %s: %w", cfg.Listen, err), n.Close())
	}
	serr := n.Serve(ctx, lis)
	return errors.Join(serr, n.Close())
}

// heartbeatLoop registers the node with meta, retrying until it works, and
// then heartbeats every interval, registering again if meta forgot it. It
// returns nil when ctx ends, or the error that must stop the node (meta
// refused the data directory: ErrForeignCluster).
func (n *Node) heartbeatLoop(ctx context.Context, mc *metaclient.Client, addr string) error {
	log := n.cfg.Logger
	registered := false
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if !registered {
			if err := n.register(ctx, mc, addr); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, ErrForeignCluster) {
					return err
				}
				log.Warn("register with meta failed; retrying", "err", err, "in", backoff)
				if !sleep(ctx, backoff) {
					return nil
				}
				backoff = min(2*backoff, n.cfg.HeartbeatInterval)
				continue
			}
			registered = true
			n.contact.Store(n.cfg.Now().UnixNano())
			backoff = 100 * time.Millisecond
			id := n.store.Identity()
			log.Info("registered with meta", "addr", addr, "cluster", id.ClusterID, "incarnation", fmt.Sprintf("%016x", id.Incarnation))
		}
		if !sleep(ctx, n.cfg.HeartbeatInterval) {
			return nil
		}
		err := n.heartbeat(ctx, mc)
		switch {
		case err == nil:
			n.contact.Store(n.cfg.Now().UnixNano())
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, rpcerr.ErrNodeNotFound):
			log.Warn("meta does not know this node; registering again")
			registered = false
		default:
			log.Warn("heartbeat failed", "err", err)
		}
	}
	return nil
}

// register registers the node with meta, with its data directory's
// incarnation and cluster ID, and records the cluster ID meta answers if
// the directory had none. Meta refusing the directory (FAILED_PRECONDITION)
// or naming another cluster is ErrForeignCluster.
func (n *Node) register(ctx context.Context, mc *metaclient.Client, addr string) error {
	u, err := n.store.Usage(ctx)
	if err != nil {
		return err
	}
	ident := n.store.Identity()
	req := &cairnpb.RegisterNodeRequest{
		Node: &cairnpb.DataNode{
			Id:                 n.cfg.ID,
			Addr:               addr,
			Zone:               n.cfg.Zone,
			Rack:               n.cfg.Rack,
			Host:               n.cfg.Host,
			Weight:             n.cfg.Weight,
			CapacityBytes:      u.Capacity(),
			UsedBytes:          u.LiveBytes,
			RegisteredUnixNano: n.cfg.Now().UnixNano(),
			Incarnation:        ident.Incarnation,
		},
		ClusterId: ident.ClusterID,
	}
	// Bound one registration round so a fresh usage figure goes with the
	// next one.
	rctx, cancel := context.WithTimeout(ctx, 5*n.cfg.HeartbeatInterval)
	defer cancel()
	resp, err := metaclient.Meta(rctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.RegisterNodeResponse, error) {
		return c.RegisterNode(ctx, req)
	})
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("%w: meta refused data directory %s, formatted for cluster %s: %w; "+
			"point the node (--dir) at this cluster's data directory for it, or empty the directory to join as a new disk",
			ErrForeignCluster, n.cfg.Dir, clusterName(ident.ClusterID), err)
	}
	if err != nil {
		return err
	}
	switch theirs := resp.GetClusterId(); {
	case theirs == "" || theirs == ident.ClusterID:
	case ident.ClusterID != "":
		return fmt.Errorf("%w: data directory %s is formatted for cluster %s, but meta runs cluster %s; "+
			"point the node (--dir) at this cluster's data directory for it, or empty the directory to join as a new disk",
			ErrForeignCluster, n.cfg.Dir, clusterName(ident.ClusterID), clusterName(theirs))
	default:
		if err := n.store.SetClusterID(theirs); err != nil {
			return fmt.Errorf("node: record cluster ID %q: %w", theirs, err)
		}
		n.cfg.Logger.Info("data directory joined cluster", "cluster", theirs)
	}
	return nil
}

// clusterName quotes a cluster ID for a message.
func clusterName(id string) string {
	if id == "" {
		return "(none recorded)"
	}
	return strconv.Quote(id)
}

func (n *Node) heartbeat(ctx context.Context, mc *metaclient.Client) error {
	u, err := n.store.Usage(ctx)
	if err != nil {
		return err
	}
	req := &cairnpb.HeartbeatRequest{NodeId: n.cfg.ID, CapacityBytes: u.Capacity(), UsedBytes: u.LiveBytes}
	hctx, cancel := context.WithTimeout(ctx, 2*n.cfg.HeartbeatInterval)
	defer cancel()
	_, err = metaclient.Meta(hctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.HeartbeatResponse, error) {
		return c.Heartbeat(ctx, req)
	})
	return err
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
