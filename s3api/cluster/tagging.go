package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// CommitObjectIf commits v if cond holds for the key's current version;
// meta checks it in the apply that commits.
func (m *Meta) CommitObjectIf(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return c.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: ns, Bucket: bucket, Version: v, Condition: cond})
	})
	return err
}

func (m *Meta) SetObjectTags(ctx context.Context, ns, bucket, key string, tags map[string]string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetObjectTagsResponse, error) {
		return c.SetObjectTags(ctx, &cairnpb.SetObjectTagsRequest{Namespace: ns, Bucket: bucket, Key: key, Tags: tags})
	})
	return err
}
