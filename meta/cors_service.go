package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *metaService) SetBucketCors(ctx context.Context, req *cairnpb.SetBucketCorsRequest) (*cairnpb.SetBucketCorsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidCors(req.GetCors()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setBucketCors, cairnpb.MetaClient.SetBucketCors)
}

func (s *Server) setBucketCors(ctx context.Context, req *cairnpb.SetBucketCorsRequest) (*cairnpb.SetBucketCorsResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetBucketCors{SetBucketCors: &cairnpb.SetBucketCorsCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Cors: req.GetCors(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetBucketCorsResponse{}, nil
}
