package meta

import (
	"context"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *metaService) RenameObject(ctx context.Context, req *cairnpb.RenameObjectRequest) (*cairnpb.RenameObjectResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	for _, k := range []string{req.GetSource(), req.GetNewName()} {
		if err := validKey(k); err != nil {
			return nil, err
		}
	}
	return route(ctx, m.s, req, m.s.renameObject, cairnpb.MetaClient.RenameObject)
}

func (s *Server) renameObject(ctx context.Context, req *cairnpb.RenameObjectRequest) (*cairnpb.RenameObjectResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_RenameObject{RenameObject: &cairnpb.RenameObjectCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Source: req.GetSource(), NewName: req.GetNewName(),
		SourceCondition: req.GetSourceCondition(), NewNameCondition: req.GetNewNameCondition(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.RenameObjectResponse{}, nil
}
