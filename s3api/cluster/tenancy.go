package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// LookupAccessKey returns a user's access key with its secret; an unknown
// key is rpcerr.ErrKeyNotFound.
func (m *Meta) LookupAccessKey(ctx context.Context, accessKeyID string) (*cairnpb.LookupAccessKeyResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.LookupAccessKeyResponse, error) {
		return c.LookupAccessKey(ctx, &cairnpb.LookupAccessKeyRequest{AccessKeyId: accessKeyID})
	})
}
