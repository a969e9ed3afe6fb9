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

// LookupAPIKey returns the user and public key a native API signature's
// keyId names; an unknown one is rpcerr.ErrKeyNotFound.
func (m *Meta) LookupAPIKey(ctx context.Context, tenancyOCID, userOCID, fingerprint string) (*cairnpb.LookupAPIKeyResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.LookupAPIKeyResponse, error) {
		return c.LookupAPIKey(ctx, &cairnpb.LookupAPIKeyRequest{TenancyOcid: tenancyOCID, UserOcid: userOCID, Fingerprint: fingerprint})
	})
}

// SetS3Compartment designates compartment (a name) as where S3
// CreateBucket puts ns's new buckets; the caller has authorized it.
func (m *Meta) SetS3Compartment(ctx context.Context, ns, compartment string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.SetS3CompartmentResponse, error) {
		return c.SetS3Compartment(ctx, &cairnpb.SetS3CompartmentRequest{Namespace: ns, Compartment: compartment})
	})
	return err
}
