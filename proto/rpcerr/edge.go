package rpcerr

import (
	"context"

	"google.golang.org/grpc"
)

// ServerOptions are the interceptors that make a gRPC server's errors
// statuses: every error a handler (or an interceptor chained after these)
// returns goes through ToStatus once, on its way out. Handlers return
// domain errors wrapping the sentinels; statuses pass through unchanged.
// Put them first, so that they see the errors of every later interceptor.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unaryEdge), grpc.ChainStreamInterceptor(streamEdge)}
}

func unaryEdge(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, ToStatus(err)
	}
	return resp, nil
}

func streamEdge(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return ToStatus(handler(srv, ss))
}
