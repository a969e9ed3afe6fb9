package metaclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
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
			err := rpcerr.FromStatus(f(actx, c.conns[i]))
			cancel()
			if err == nil {
				c.remember(i)
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("metaclient: %w (last error: %v)", ctx.Err(), err)
			}
			// A per-attempt timeout arrives as a DeadlineExceeded status,
			// which errors.Is(err, context.DeadlineExceeded) does not match.
			if !rpcerr.Retryable(err) && status.Code(err) != codes.DeadlineExceeded {
				c.remember(i)
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
