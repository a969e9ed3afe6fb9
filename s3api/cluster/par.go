package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// CreatePAR records a pre-authenticated request; the answer carries what
// meta stamped (creation time, bucket ID).
func (m *Meta) CreatePAR(ctx context.Context, p *cairnpb.PAR) (*cairnpb.PAR, error) {
	resp, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CreatePARResponse, error) {
		return c.CreatePAR(ctx, &cairnpb.CreatePARRequest{Par: p})
	})
	return resp.GetPar(), err
}

// GetPAR returns a bucket's PAR by ID.
func (m *Meta) GetPAR(ctx context.Context, ns, bucket, id string) (*cairnpb.PAR, error) {
	resp, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetPARResponse, error) {
		return c.GetPAR(ctx, &cairnpb.GetPARRequest{Namespace: ns, Bucket: bucket, Id: id})
	})
	return resp.GetPar(), err
}

// ListPARs returns a bucket's PARs whose object name starts with prefix.
func (m *Meta) ListPARs(ctx context.Context, ns, bucket, prefix string) ([]*cairnpb.PAR, error) {
	resp, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListPARsResponse, error) {
		return c.ListPARs(ctx, &cairnpb.ListPARsRequest{Namespace: ns, Bucket: bucket, ObjectNamePrefix: prefix})
	})
	return resp.GetPars(), err
}

// DeletePAR removes a bucket's PAR.
func (m *Meta) DeletePAR(ctx context.Context, ns, bucket, id string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.DeletePARResponse, error) {
		return c.DeletePAR(ctx, &cairnpb.DeletePARRequest{Namespace: ns, Bucket: bucket, Id: id})
	})
	return err
}

// LookupPAR returns the PAR whose token hashes to hash, with its
// creator's current authorization.
func (m *Meta) LookupPAR(ctx context.Context, hash []byte) (*cairnpb.LookupPARResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.LookupPARResponse, error) {
		return c.LookupPAR(ctx, &cairnpb.LookupPARRequest{TokenHash: hash})
	})
}
