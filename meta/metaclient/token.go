package metaclient

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// bearerToken sends the admin token as "authorization: Bearer <token>" on
// every call. The meta port is plaintext gRPC on a private network, so the
// credentials do not demand transport security.
type bearerToken string

var _ credentials.PerRPCCredentials = bearerToken("")

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// WithAdminToken returns the dial options of a client whose calls carry the
// admin token that the Admin service accepts, over plaintext unless a
// transport credential follows them. An empty token sends none.
func WithAdminToken(token string) []grpc.DialOption {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearerToken(token)))
	}
	return opts
}
