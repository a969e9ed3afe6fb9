package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// SetBucketLifecycle replaces a bucket's lifecycle configuration (nil:
// removes it).
func (m *Meta) SetBucketLifecycle(ctx context.Context, ns, bucket string, l *cairnpb.BucketLifecycle) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetBucketLifecycleResponse, error) {
		return c.SetBucketLifecycle(ctx, &cairnpb.SetBucketLifecycleRequest{Namespace: ns, Bucket: bucket, Lifecycle: l})
	})
	return err
}
