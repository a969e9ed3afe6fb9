package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// SetBucketConfig sets or removes bucket configurations of every kind
// (meta/fsm/bucketconfig.go holds the kinds): checked here as the apply
// will check them, then proposed as one command.
func (m *metaService) SetBucketConfig(ctx context.Context, req *cairnpb.SetBucketConfigRequest) (*cairnpb.SetBucketConfigResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidBucketConfigs(req.GetConfigs()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setBucketConfig, cairnpb.MetaClient.SetBucketConfig)
}

func (s *Server) setBucketConfig(ctx context.Context, req *cairnpb.SetBucketConfigRequest) (*cairnpb.SetBucketConfigResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetBucketConfig{SetBucketConfig: &cairnpb.SetBucketConfigCmd{
		Namespace: req.GetNamespace(), Name: req.GetBucket(), Configs: req.GetConfigs(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetBucketConfigResponse{}, nil
}
