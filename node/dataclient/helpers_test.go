package dataclient_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// testLogger sends warnings and worse to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// serve serves srv as a Data server on a loopback listener with the
// options a data node uses, and returns its address.
func serve(t *testing.T, srv cairnpb.DataServer) string {
	t.Helper()
	return serveAt(t, "127.0.0.1:0", srv)
}

// serveAt is serve on a given address.
func serveAt(t *testing.T, addr string, srv cairnpb.DataServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(node.ServerOptions()...)
	cairnpb.RegisterDataServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// startNode serves a real node.Server over an in-memory store and returns
// its address.
func startNode(t *testing.T) string {
	t.Helper()
	addr, _ := startNodeStore(t)
	return addr
}

// startNodeStore is startNode that also returns the node's store.
func startNodeStore(t *testing.T) (string, *node.Store) {
	t.Helper()
	return startNodeStoreAt(t, "127.0.0.1:0")
}

// startNodeStoreAt is startNodeStore on a given address.
func startNodeStoreAt(t *testing.T, addr string) (string, *node.Store) {
	t.Helper()
	opts := node.StoreOptions{FS: vfs.NewMem(), Logger: testLogger(t), MemTableSize: 4 << 20, CacheSize: 4 << 20, NodeID: "n1"}
	s, err := node.OpenStore(context.Background(), "/data", opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return serveAt(t, addr, node.NewServer("n1", s, testLogger(t), nil)), s
}

// deadAddr returns a loopback address nobody listens on (just released).
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

// newPool returns a plaintext pool closed at the end of the test.
func newPool(t *testing.T) *dataclient.Pool {
	t.Helper()
	p := dataclient.New(nil)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// blocks returns n blocks of deterministic content; the last is short.
func blocks(seed uint64, n, size int) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]byte, n)
	for i := range out {
		l := size
		if i == n-1 {
			l = size/2 + 1
		}
		out[i] = make([]byte, l)
		for j := range out[i] {
			out[i][j] = byte(r.Uint32())
		}
	}
	return out
}
