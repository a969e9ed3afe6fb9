package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Service glue of bucket policies and public access blocks: validate,
// then propose on the leader (see bucketpolicy_fsm.go for the state).

func (m *metaService) SetBucketPolicy(ctx context.Context, req *cairnpb.SetBucketPolicyRequest) (*cairnpb.SetBucketPolicyResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidBucketPolicy(req.GetPolicy()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setBucketPolicy, cairnpb.MetaClient.SetBucketPolicy)
}

func (s *Server) setBucketPolicy(ctx context.Context, req *cairnpb.SetBucketPolicyRequest) (*cairnpb.SetBucketPolicyResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetBucketPolicy{SetBucketPolicy: &cairnpb.SetBucketPolicyCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Policy: req.GetPolicy(), Public: req.GetPublic(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetBucketPolicyResponse{}, nil
}

func (m *metaService) SetPublicAccessBlock(ctx context.Context, req *cairnpb.SetPublicAccessBlockRequest) (*cairnpb.SetPublicAccessBlockResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setPublicAccessBlock, cairnpb.MetaClient.SetPublicAccessBlock)
}

func (s *Server) setPublicAccessBlock(ctx context.Context, req *cairnpb.SetPublicAccessBlockRequest) (*cairnpb.SetPublicAccessBlockResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetPublicAccessBlock{SetPublicAccessBlock: &cairnpb.SetPublicAccessBlockCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Block: req.GetBlock(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetPublicAccessBlockResponse{}, nil
}
