package metaclient

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// recordingMeta answers CommitObject with fail (nil for success) and
// records the request metadata of every call.
type recordingMeta struct {
	cairnpb.UnimplementedMetaServer
	fail error

	mu   sync.Mutex
	seen [][2]string // request id, start
}

func (m *recordingMeta) CommitObject(ctx context.Context, _ *cairnpb.CommitObjectRequest) (*cairnpb.CommitObjectResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var rec [2]string
	if v := md.Get(RequestIDKey); len(v) == 1 {
		rec[0] = v[0]
	}
	if v := md.Get(RequestStartKey); len(v) == 1 {
		rec[1] = v[0]
	}
	m.mu.Lock()
	m.seen = append(m.seen, rec)
	m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	return &cairnpb.CommitObjectResponse{}, nil
}

func (m *recordingMeta) calls() [][2]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][2]string(nil), m.seen...)
}

func serveMeta(t *testing.T, m *recordingMeta) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	cairnpb.RegisterMetaServer(gs, m)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func TestRetriesCarryOneRequestID(t *testing.T) {
	down := &recordingMeta{fail: status.Error(codes.Unavailable, "no leader here")}
	up := &recordingMeta{}
	c, err := New([]string{serveMeta(t, down), serveMeta(t, up)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Unix(1_700_000_000, 42)
	c.SetClock(func() time.Time { return start })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit := func() {
		t.Helper()
		_, err := Meta(ctx, c, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
			return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{})
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	commit() // fails on down, succeeds on up; the client now prefers up
	d, u := down.calls(), up.calls()
	if len(d) != 1 || len(u) != 1 {
		t.Fatalf("attempts: %d on the failing node, %d on the working one; want 1 and 1", len(d), len(u))
	}
	if len(d[0][0]) != 32 {
		t.Fatalf("request id %q: want 16 bytes in hex", d[0][0])
	}
	if d[0] != u[0] {
		t.Fatalf("retry carried %v, first attempt %v: want the same request id and start", u[0], d[0])
	}
	if want := strconv.FormatInt(start.UnixNano(), 10); d[0][1] != want {
		t.Fatalf("request start %q, want %q", d[0][1], want)
	}

	commit() // a new logical call: a new ID
	if u = up.calls(); len(u) != 2 || u[1][0] == u[0][0] {
		t.Fatalf("second call's request id %v repeats the first's", u)
	}

	// A caller that names the request keeps its ID on every attempt.
	named := metadata.AppendToOutgoingContext(ctx, RequestIDKey, "00112233445566778899aabbccddeeff", RequestStartKey, "7")
	if _, err := Meta(named, c, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return m.CommitObject(ctx, &cairnpb.CommitObjectRequest{})
	}); err != nil {
		t.Fatal(err)
	}
	if u = up.calls(); u[len(u)-1] != [2]string{"00112233445566778899aabbccddeeff", "7"} {
		t.Fatalf("caller's request id replaced: %v", u[len(u)-1])
	}
}
