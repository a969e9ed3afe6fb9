package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// CommitVersion commits v (under cond when not nil) and returns its S3
// version ID, empty in a bucket that never had versioning.
func (m *Meta) CommitVersion(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) (string, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CommitVersionResponse, error) {
		return c.CommitVersion(ctx, &cairnpb.CommitVersionRequest{Namespace: ns, Bucket: bucket, Version: v, Condition: cond})
	})
	if err != nil {
		return "", err
	}
	return r.GetVersionId(), nil
}

func (m *Meta) GetObjectVersion(ctx context.Context, ns, bucket, key, versionID string) (*cairnpb.GetObjectVersionResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetObjectVersionResponse, error) {
		return c.GetObjectVersion(ctx, &cairnpb.GetObjectVersionRequest{Namespace: ns, Bucket: bucket, Key: key, VersionId: versionID})
	})
}

func (m *Meta) DeleteVersion(ctx context.Context, ns, bucket, key, versionID string, cond *cairnpb.WriteCondition, bypassGovernance bool) (*cairnpb.DeleteVersionResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.DeleteVersionResponse, error) {
		return c.DeleteVersion(ctx, &cairnpb.DeleteVersionRequest{
			Namespace: ns, Bucket: bucket, Key: key, VersionId: versionID, Condition: cond, BypassGovernance: bypassGovernance,
		})
	})
}

func (m *Meta) SetVersionLock(ctx context.Context, req *cairnpb.SetVersionLockRequest) (string, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetVersionLockResponse, error) {
		return c.SetVersionLock(ctx, req)
	})
	if err != nil {
		return "", err
	}
	return r.GetVersionId(), nil
}

func (m *Meta) SetVersionTags(ctx context.Context, ns, bucket, key, versionID string, tags map[string]string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetVersionTagsResponse, error) {
		return c.SetVersionTags(ctx, &cairnpb.SetVersionTagsRequest{Namespace: ns, Bucket: bucket, Key: key, VersionId: versionID, Tags: tags})
	})
	return err
}

func (m *Meta) ListObjectVersions(ctx context.Context, req *cairnpb.ListObjectVersionsRequest) (*cairnpb.ListObjectVersionsResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListObjectVersionsResponse, error) {
		return c.ListObjectVersions(ctx, req)
	})
}
