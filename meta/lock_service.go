package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (m *metaService) SetVersionLock(ctx context.Context, req *cairnpb.SetVersionLockRequest) (*cairnpb.SetVersionLockResponse, error) {
	if err := validVersionRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetVersionId()); err != nil {
		return nil, err
	}
	if r := req.GetRetention(); r != nil {
		if err := fsm.ValidRetention(r.GetMode(), r.GetRetainUntilUnixNano()); err != nil {
			return nil, err
		}
	}
	return route(ctx, m.s, req, m.s.setVersionLock, cairnpb.MetaClient.SetVersionLock)
}

func (s *Server) setVersionLock(ctx context.Context, req *cairnpb.SetVersionLockRequest) (*cairnpb.SetVersionLockResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetVersionLock{SetVersionLock: &cairnpb.SetVersionLockCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(), VersionId: req.GetVersionId(),
		Retention: req.GetRetention(), LegalHold: req.LegalHold, BypassGovernance: req.GetBypassGovernance(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	resp := &cairnpb.SetVersionLockResponse{VersionId: req.GetVersionId()}
	if resp.VersionId == "" {
		_ = s.node.store.View(func(r pebble.Reader) error {
			bk, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
			if err != nil {
				return err
			}
			_, v, err := fsm.FindVersion(r, bk.GetId(), req.GetKey(), "")
			resp.VersionId = fsm.S3VersionID(v)
			return err
		})
	}
	return resp, nil
}
