package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
)

// edgeServer serves one unary and one streaming method that fail with
// whatever fail holds, through the edge interceptors.
type edgeServer struct{ fail error }

func (s *edgeServer) unary(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	in := &emptypb.Empty{}
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(context.Context, any) (any, error) { return nil, s.fail }
	return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/edge.Edge/Unary"}, h)
}

func (s *edgeServer) stream(any, grpc.ServerStream) error { return s.fail }

func dialEdge(t *testing.T, s *edgeServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(ServerOptions()...)
	gs.RegisterService(&grpc.ServiceDesc{
		ServiceName: "edge.Edge",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: s.unary}},
		Streams:     []grpc.StreamDesc{{StreamName: "Stream", Handler: s.stream, ServerStreams: true}},
	}, s)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///edge",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// calls makes the unary and the streaming call and returns their errors.
func calls(t *testing.T, cc *grpc.ClientConn) map[string]error {
	t.Helper()
	ctx := context.Background()
	unary := cc.Invoke(ctx, "/edge.Edge/Unary", &emptypb.Empty{}, &emptypb.Empty{})
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/edge.Edge/Stream")
	if err == nil {
		if err = st.CloseSend(); err == nil {
			err = st.RecvMsg(&emptypb.Empty{})
		}
	}
	return map[string]error{"unary": unary, "stream": err}
}

// TestEdgeTranslatesOnce: a handler's domain error arrives as the status
// ToStatus makes of it, on unary and streaming methods alike, and turns
// back into the sentinel on the client.
func TestEdgeTranslatesOnce(t *testing.T) {
	s := &edgeServer{}
	cc := dialEdge(t, s)
	for _, row := range table {
		s.fail = fmt.Errorf("deep down: %w", row.Err)
		for method, err := range calls(t, cc) {
			if status.Code(err) != row.Code || Reason(err) != row.Reason {
				t.Fatalf("%s, %v: code %v reason %q, want %v %q", method, row.Err, status.Code(err), Reason(err), row.Code, row.Reason)
			}
			if back := FromStatus(err); !errors.Is(back, row.Err) || back.Error() != "rpc: deep down: "+row.Err.Error() {
				t.Fatalf("%s, %v: client sees %v", method, row.Err, back)
			}
		}
	}
	for _, c := range []struct {
		fail error
		code codes.Code
	}{
		{errors.New("disk on fire"), codes.Internal},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
	} {
		s.fail = c.fail
		for method, err := range calls(t, cc) {
			if status.Code(err) != c.code || Reason(err) != "" {
				t.Fatalf("%s, %v: code %v reason %q, want %v and no reason", method, c.fail, status.Code(err), Reason(err), c.code)
			}
		}
	}
}

// TestEdgeKeepsStatuses: an error that already is a status (a forwarded
// call's answer, an interceptor's refusal) leaves the edge unchanged.
func TestEdgeKeepsStatuses(t *testing.T) {
	forwarded := ToStatus(fmt.Errorf("at the leader: %w", ErrBucketNotFound))
	plain := status.Error(codes.Unavailable, "leader shutting down")
	for _, err := range []error{forwarded, plain} {
		got, gotErr := unaryEdge(context.Background(), nil, nil, func(context.Context, any) (any, error) { return nil, err })
		if got != nil || gotErr != err {
			t.Fatalf("unary edge changed %v into %v", err, gotErr)
		}
		if gotErr := streamEdge(nil, nil, nil, func(any, grpc.ServerStream) error { return err }); gotErr != err {
			t.Fatalf("stream edge changed %v into %v", err, gotErr)
		}
	}

	s := &edgeServer{fail: forwarded}
	for method, err := range calls(t, dialEdge(t, s)) {
		if status.Code(err) != codes.NotFound || Reason(err) != "BUCKET_NOT_FOUND" || status.Convert(err).Message() != status.Convert(forwarded).Message() {
			t.Fatalf("%s: forwarded status arrived as %v", method, err)
		}
	}
}

// TestEdgeLetsSuccessThrough: a handler's answer is not touched.
func TestEdgeLetsSuccessThrough(t *testing.T) {
	want := &emptypb.Empty{}
	got, err := unaryEdge(context.Background(), nil, nil, func(context.Context, any) (any, error) { return want, nil })
	if got != want || err != nil {
		t.Fatalf("got %v, %v", got, err)
	}
	if err := streamEdge(nil, nil, nil, func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
