package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// SetBucketPolicy replaces a bucket's policy ("" removes it); public is
// the gateway's judgement of the document, which meta checks against the
// bucket's BlockPublicPolicy.
func (m *Meta) SetBucketPolicy(ctx context.Context, ns, bucket, policy string, public bool) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetBucketPolicyResponse, error) {
		return c.SetBucketPolicy(ctx, &cairnpb.SetBucketPolicyRequest{Namespace: ns, Bucket: bucket, Policy: policy, Public: public})
	})
	return err
}

// SetPublicAccessBlock replaces a bucket's public access block (nil
// removes it).
func (m *Meta) SetPublicAccessBlock(ctx context.Context, ns, bucket string, block *cairnpb.PublicAccessBlock) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetPublicAccessBlockResponse, error) {
		return c.SetPublicAccessBlock(ctx, &cairnpb.SetPublicAccessBlockRequest{Namespace: ns, Bucket: bucket, Block: block})
	})
	return err
}
