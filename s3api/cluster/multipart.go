package cluster

import (
	"context"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *Meta) CreateMultipartUpload(ctx context.Context, ns, bucket string, u *cairnpb.MultipartUpload) (*cairnpb.MultipartUpload, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CreateMultipartUploadResponse, error) {
		return c.CreateMultipartUpload(ctx, &cairnpb.CreateMultipartUploadRequest{Namespace: ns, Bucket: bucket, Upload: u})
	})
	if err != nil {
		return nil, err
	}
	return r.GetUpload(), nil
}

func (m *Meta) GetMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) (*cairnpb.MultipartUpload, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetMultipartUploadResponse, error) {
		return c.GetMultipartUpload(ctx, &cairnpb.GetMultipartUploadRequest{Namespace: ns, Bucket: bucket, Key: key, UploadId: uploadID})
	})
	if err != nil {
		return nil, err
	}
	return r.GetUpload(), nil
}

func (m *Meta) CommitPart(ctx context.Context, ns, bucket, key, uploadID string, p *cairnpb.UploadedPart) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CommitPartResponse, error) {
		return c.CommitPart(ctx, &cairnpb.CommitPartRequest{Namespace: ns, Bucket: bucket, Key: key, UploadId: uploadID, Part: p})
	})
	return err
}

func (m *Meta) CompleteMultipartUpload(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CompleteMultipartUploadResponse, error) {
		return c.CompleteMultipartUpload(ctx, req)
	})
}

func (m *Meta) AbortMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.AbortMultipartUploadResponse, error) {
		return c.AbortMultipartUpload(ctx, &cairnpb.AbortMultipartUploadRequest{Namespace: ns, Bucket: bucket, Key: key, UploadId: uploadID})
	})
	return err
}

func (m *Meta) ListParts(ctx context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListPartsResponse, error) {
		return c.ListParts(ctx, req)
	})
}

func (m *Meta) ListMultipartUploads(ctx context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListMultipartUploadsResponse, error) {
		return c.ListMultipartUploads(ctx, req)
	})
}
