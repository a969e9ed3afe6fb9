package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *metaService) SetObjectTags(ctx context.Context, req *cairnpb.SetObjectTagsRequest) (*cairnpb.SetObjectTagsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validKey(req.GetKey()); err != nil {
		return nil, err
	}
	if err := fsm.ValidTags(req.GetTags(), fsm.MaxObjectTags); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setObjectTags, cairnpb.MetaClient.SetObjectTags)
}

func (s *Server) setObjectTags(ctx context.Context, req *cairnpb.SetObjectTagsRequest) (*cairnpb.SetObjectTagsResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetObjectTags{SetObjectTags: &cairnpb.SetObjectTagsCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(), Tags: req.GetTags(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetObjectTagsResponse{}, nil
}
