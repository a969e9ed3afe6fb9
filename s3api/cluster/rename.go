package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// RenameObject moves a key's current version to newName in one meta
// apply, when srcCond holds for the source and newCond for newName.
func (m *Meta) RenameObject(ctx context.Context, ns, bucket, source, newName string, srcCond, newCond *cairnpb.WriteCondition) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.RenameObjectResponse, error) {
		return c.RenameObject(ctx, &cairnpb.RenameObjectRequest{
			Namespace: ns, Bucket: bucket, Source: source, NewName: newName,
			SourceCondition: srcCond, NewNameCondition: newCond,
		})
	})
	return err
}
