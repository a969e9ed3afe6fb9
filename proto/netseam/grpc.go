package netseam

import (
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
)

// GRPC returns the dial options that make a gRPC client resolve its
// target through n; none for a nil n.
func (n *Net) GRPC() []grpc.DialOption {
	if n == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithResolvers(&builder{n: n})}
}

// retryEvery is how often a target whose name is not in the hosts file
// yet is looked up again (a "pod" the test has not started).
const retryEvery = 500 * time.Millisecond

// builder replaces gRPC's "dns" scheme, the one a "host:port" target
// gets, for one client connection.
type builder struct{ n *Net }

func (b *builder) Scheme() string { return "dns" }

func (b *builder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	r := &fileResolver{n: b.n, cc: cc, target: t.Endpoint(), done: make(chan struct{})}
	r.ResolveNow(resolver.ResolveNowOptions{})
	return r, nil
}

// fileResolver resolves one target from the hosts file; while the name is
// missing it reports the error and tries again every retryEvery.
type fileResolver struct {
	n      *Net
	cc     resolver.ClientConn
	target string

	mu       sync.Mutex
	retrying bool
	closed   bool
	done     chan struct{}
}

func (r *fileResolver) ResolveNow(resolver.ResolveNowOptions) {
	addr, err := r.n.ResolveAddr(r.target)
	if err == nil {
		_ = r.cc.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: addr}}})
		return
	}
	r.cc.ReportError(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.retrying || r.closed {
		return
	}
	r.retrying = true
	go func() {
		select {
		case <-time.After(retryEvery):
		case <-r.done:
			return
		}
		r.mu.Lock()
		r.retrying = false
		r.mu.Unlock()
		r.ResolveNow(resolver.ResolveNowOptions{})
	}()
}

func (r *fileResolver) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.done)
	}
}
