package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// SetBucketConfig sets or removes bucket configurations of any kind
// (CORS, lifecycle, policy, public access block, tags, versioning, object
// lock, metadata) on one bucket, all or none.
func (m *Meta) SetBucketConfig(ctx context.Context, ns, bucket string, cs ...*cairnpb.BucketConfig) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetBucketConfigResponse, error) {
		return c.SetBucketConfig(ctx, &cairnpb.SetBucketConfigRequest{Namespace: ns, Bucket: bucket, Configs: cs})
	})
	return err
}
