package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// RecordWorkRequest records a finished work request of the native API.
func (m *Meta) RecordWorkRequest(ctx context.Context, w *cairnpb.WorkRequest) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.WorkRequestRecordResponse, error) {
		return c.RecordWorkRequest(ctx, &cairnpb.WorkRequestRecordRequest{WorkRequest: w})
	})
	return err
}

// GetWorkRequest returns a namespace's work request by ID.
func (m *Meta) GetWorkRequest(ctx context.Context, ns, id string) (*cairnpb.WorkRequest, error) {
	resp, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.WorkRequestGetResponse, error) {
		return c.GetWorkRequest(ctx, &cairnpb.WorkRequestGetRequest{Namespace: ns, Id: id})
	})
	return resp.GetWorkRequest(), err
}

// ListWorkRequests returns a namespace's work requests, newest first, of
// one compartment (all when compartment is empty).
func (m *Meta) ListWorkRequests(ctx context.Context, ns, compartment string) ([]*cairnpb.WorkRequest, error) {
	resp, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.WorkRequestListResponse, error) {
		return c.ListWorkRequests(ctx, &cairnpb.WorkRequestListRequest{Namespace: ns, Compartment: compartment})
	})
	return resp.GetWorkRequests(), err
}
