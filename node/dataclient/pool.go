package dataclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/experimental"

	"github.com/cairn-store/cairn/proto/bufpool"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// MaxMessageSize bounds one gRPC message to or from a data node, both ways:
// a block of 4 MiB or more plus framing must fit. The Data server takes
// the same limit.
const MaxMessageSize = 16 << 20

// Flow-control windows. A data node may send at most StreamWindow bytes
// ahead of the client reading one stream, and ConnWindow over all streams
// to that client, so a client's memory stays flat however many reads run.
// A Data server grants its clients the same windows for PutShard.
const (
	StreamWindow = 1 << 20
	ConnWindow   = 4 * StreamWindow
)

// ReadBuffer is the size of the read buffer gRPC puts between a data-path
// connection and its HTTP/2 framer, on both ends: none. Every connection
// is TLS, and crypto/tls already buffers whole records, so a second buffer
// would only copy each shard byte once more.
const ReadBuffer = 0

// retryWait bounds the wait after a reconnect is forced on a failed
// connection. gRPC keeps such a connection in TRANSIENT_FAILURE until it
// is READY, so no other state change is to be expected.
const retryWait = 300 * time.Millisecond

// forceEvery spaces the reconnects WaitReady forces on one address for
// impatient callers (a patience below forceEvery: a node the cluster map
// calls unhealthy). Such a caller that finds a connection failed within
// forceEvery of the last forced attempt fails at once: a dead node costs
// one retryWait per forceEvery, not one per call. gRPC's own backoff goes
// on reconnecting in between, so a node that is back is still found. A
// patient caller (a node the map calls healthy, perhaps just restarted)
// always forces its own attempt.
const forceEvery = time.Second

// connectParams keep reconnects to a restarted node quick.
func connectParams() grpc.ConnectParams {
	return grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
		MinConnectTimeout: 3 * time.Second,
	}
}

// Sentinels of the client side. Errors from a data node come back as the
// rpcerr sentinels instead.
var (
	// ErrUnreachable: a data node's connection could not be made ready
	// within the caller's patience.
	ErrUnreachable = errors.New("dataclient: data node unreachable")
	// ErrClosed: the Pool was closed.
	ErrClosed = errors.New("dataclient: pool closed")
)

// Pool keeps one gRPC connection per data-node address. Connections are
// made on first use and kept until Close. It is safe for concurrent use.
type Pool struct {
	transport *rpcauth.Transport
	// bufs backs every connection's gRPC buffers without zeroing them
	// (proto/bufpool): shard blocks are most of the bytes they carry.
	bufs *bufpool.Pool

	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	forced map[string]time.Time // when WaitReady last forced a reconnect
	closed bool
}

// New returns an empty pool whose connections t secures (nil: plaintext).
func New(t *rpcauth.Transport) *Pool {
	return &Pool{transport: t, bufs: bufpool.New(), conns: make(map[string]*grpc.ClientConn), forced: make(map[string]time.Time)}
}

// mayForce reports whether a caller may force a reconnect to addr now,
// and if so counts this as the latest forced attempt.
func (p *Pool) mayForce(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if last, ok := p.forced[addr]; ok && now.Sub(last) < forceEvery {
		return false
	}
	p.forced[addr] = now
	return true
}

// Close closes every connection. Calls made after Close fail with
// ErrClosed; streams still open on a closed connection fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for a, cc := range p.conns {
		errs = append(errs, cc.Close())
		delete(p.conns, a)
	}
	return errors.Join(errs...)
}

// conn returns the pooled connection to addr, making it on first use.
// gRPC connects lazily, so this does no I/O.
func (p *Pool) conn(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("dataclient: dial data node %s: %w", addr, ErrClosed)
	}
	if cc, ok := p.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, append(p.transport.DialOptions(pki.RoleData),
		grpc.WithConnectParams(connectParams()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize),
			grpc.ForceCodecV2(NewCodec(p.bufs))),
		grpc.WithInitialWindowSize(StreamWindow), grpc.WithInitialConnWindowSize(ConnWindow),
		grpc.WithReadBufferSize(ReadBuffer),
		experimental.WithBufferPool(p.bufs),
	)...)
	if err != nil {
		return nil, fmt.Errorf("dataclient: dial data node %s: %w", addr, err)
	}
	p.conns[addr] = cc
	return cc, nil
}

// client returns a Data client on the pooled connection to addr.
func (p *Pool) client(addr string) (cairnpb.DataClient, error) {
	cc, err := p.conn(addr)
	if err != nil {
		return nil, err
	}
	return cairnpb.NewDataClient(cc), nil
}

// WaitReady waits at most patience for the connection to addr to be
// ready. A node that was down and is back is tried at once rather than
// after gRPC's reconnect backoff; a node that refuses that fresh attempt
// fails fast, and so does every impatient caller until forceEvery has
// passed since the attempt. The error wraps ErrUnreachable, or ErrClosed.
//
// Calls made without WaitReady follow gRPC's default: they fail at once
// while the connection is in TRANSIENT_FAILURE and wait while it connects.
func (p *Pool) WaitReady(ctx context.Context, addr string, patience time.Duration) error {
	cc, err := p.conn(addr)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	retried := false
	for {
		st := cc.GetState()
		wait := wctx
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.Idle:
			cc.Connect()
		case connectivity.TransientFailure:
			if retried {
				return fmt.Errorf("%s: %w", addr, ErrUnreachable)
			}
			if !p.mayForce(addr) && patience < forceEvery {
				return fmt.Errorf("%s: failed a reconnect less than %s ago: %w", addr, forceEvery, ErrUnreachable)
			}
			cc.ResetConnectBackoff()
			retried = true
			var rcancel context.CancelFunc
			wait, rcancel = context.WithTimeout(wctx, retryWait)
			defer rcancel()
		case connectivity.Shutdown:
			return fmt.Errorf("%s: connection shut down: %w", addr, ErrUnreachable)
		}
		if !cc.WaitForStateChange(wait, st) {
			return fmt.Errorf("%s: not ready within %s: %w", addr, patience, ErrUnreachable)
		}
	}
}
