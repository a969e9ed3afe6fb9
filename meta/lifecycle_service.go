package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *metaService) SetBucketLifecycle(ctx context.Context, req *cairnpb.SetBucketLifecycleRequest) (*cairnpb.SetBucketLifecycleResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidLifecycle(req.GetLifecycle()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setBucketLifecycle, cairnpb.MetaClient.SetBucketLifecycle)
}

func (s *Server) setBucketLifecycle(ctx context.Context, req *cairnpb.SetBucketLifecycleRequest) (*cairnpb.SetBucketLifecycleResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetBucketLifecycle{SetBucketLifecycle: &cairnpb.SetBucketLifecycleCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Lifecycle: req.GetLifecycle(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetBucketLifecycleResponse{}, nil
}
