package metaclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Client talks to a meta group through any of its nodes.
type Client struct {
	addrs []string
	conns []*grpc.ClientConn

	mu      sync.Mutex
	current int

	now func() time.Time // stamps each call's start; nil means time.Now
}

// LeaderHeader is the response header in which a meta node that forwarded
// a call to its leader names the leader's gRPC address. A Client that was
// built with that address sends its next calls there directly.
const LeaderHeader = "cairn-leader"

// ErrNoAddrs is returned by New when no meta address is given.
var ErrNoAddrs = errors.New("metaclient: no meta addresses")

// New prepares connections to every address. Connections are made lazily by
// gRPC, so New succeeds even when no meta node is up yet.
func New(addrs []string, opts ...grpc.DialOption) (*Client, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	c := &Client{addrs: append([]string(nil), addrs...)}
	opts = append(slices.Clip(opts), grpc.WithChainUnaryInterceptor(noteLeader))
	for _, a := range addrs {
		cc, err := grpc.NewClient(a, opts...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("metaclient: dial %s: %w", a, err)
		}
		c.conns = append(c.conns, cc)
	}
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// Addrs returns the addresses the client was built with.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// attemptTimeout bounds one try against one node, so a node that hangs
// (paused, cut off) does not eat the caller's whole deadline.
const attemptTimeout = 5 * time.Second

// retryPause is the wait between full rounds over all nodes.
const retryPause = 100 * time.Millisecond

// Current returns the address of the node the next call starts at.
func (c *Client) Current() string { return c.addrs[c.start()] }

func (c *Client) start() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

func (c *Client) remember(i int) {
	c.mu.Lock()
	c.current = i
	c.mu.Unlock()
}

// hintKey carries an attempt's *leaderHint from do to noteLeader.
type hintKey struct{}

// leaderHint is the leader address a forwarding node named, if any.
type leaderHint struct{ addr string }

// noteLeader asks for the response headers of a call made through do and
// keeps the leader address a forwarding node put there.
func noteLeader(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	h, ok := ctx.Value(hintKey{}).(*leaderHint)
	if !ok {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	var md metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&md))...)
	if v := md.Get(LeaderHeader); len(v) > 0 {
		h.addr = v[0]
	}
	return err
}

// next is the node to start the next call at after node i answered: the
// leader, when i forwarded to a leader this client has an address for.
func (c *Client) next(i int, h *leaderHint) int {
	if h.addr != "" {
		if j := slices.Index(c.addrs, h.addr); j >= 0 {
			return j
		}
	}
	return i
}

// do runs f against node after node until it succeeds, fails with an error
// no other node would change, or ctx ends. Every attempt carries the same
// request ID (requestid.go).
func (c *Client) do(ctx context.Context, f func(ctx context.Context, cc *grpc.ClientConn) error) error {
	ctx, err := c.withRequestID(ctx)
	if err != nil {
		return err
	}
	first := c.start()
	var last error
	for round := 0; ; round++ {
		for n := 0; n < len(c.conns); n++ {
			i := (first + n) % len(c.conns)
			if c.conns[i].GetState() == connectivity.TransientFailure {
				// The node may be back: try it now rather than after backoff.
				c.conns[i].ResetConnectBackoff()
			}
			actx, cancel := context.WithTimeout(ctx, attemptTimeout)
			hint := &leaderHint{}
			err := rpcerr.FromStatus(f(context.WithValue(actx, hintKey{}, hint), c.conns[i]))
			cancel()
			if err == nil {
				c.remember(c.next(i, hint))
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("metaclient: %w (last error: %v)", ctx.Err(), err)
			}
			// A per-attempt timeout arrives as a DeadlineExceeded status,
			// which errors.Is(err, context.DeadlineExceeded) does not match.
			if !rpcerr.Retryable(err) && status.Code(err) != codes.DeadlineExceeded {
				c.remember(c.next(i, hint))
				return err
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("metaclient: %w (last error: %v)", ctx.Err(), last)
		case <-time.After(retryPause):
		}
	}
}

// Meta runs f with a Meta client, with failover as described on Client.
func Meta[T any](ctx context.Context, c *Client, f func(context.Context, cairnpb.MetaClient) (T, error)) (T, error) {
	var out T
	err := c.do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		r, err := f(ctx, cairnpb.NewMetaClient(cc))
		if err == nil {
			out = r
		}
		return err
	})
	return out, err
}

// Admin runs f with an Admin client, with failover as described on Client.
func Admin[T any](ctx context.Context, c *Client, f func(context.Context, cairnpb.AdminClient) (T, error)) (T, error) {
	var out T
	err := c.do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		r, err := f(ctx, cairnpb.NewAdminClient(cc))
		if err == nil {
			out = r
		}
		return err
	})
	return out, err
}
