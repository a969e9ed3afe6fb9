package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Work requests of the native API (meta/fsm/workrequest.go): the gateway
// records each one finished, with the ID it drew; any gateway reads it.

func (m *metaService) RecordWorkRequest(ctx context.Context, req *cairnpb.WorkRequestRecordRequest) (*cairnpb.WorkRequestRecordResponse, error) {
	if err := validNamespace(req.GetWorkRequest().GetNamespace()); err != nil {
		return nil, err
	}
	if err := fsm.ValidWorkRequest(req.GetWorkRequest()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.recordWorkRequest, cairnpb.MetaClient.RecordWorkRequest)
}

func (m *metaService) GetWorkRequest(ctx context.Context, req *cairnpb.WorkRequestGetRequest) (*cairnpb.WorkRequestGetResponse, error) {
	if err := validNamespace(req.GetNamespace()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getWorkRequest, cairnpb.MetaClient.GetWorkRequest)
}

func (m *metaService) ListWorkRequests(ctx context.Context, req *cairnpb.WorkRequestListRequest) (*cairnpb.WorkRequestListResponse, error) {
	if err := validNamespace(req.GetNamespace()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listWorkRequests, cairnpb.MetaClient.ListWorkRequests)
}

func (s *Server) recordWorkRequest(ctx context.Context, req *cairnpb.WorkRequestRecordRequest) (*cairnpb.WorkRequestRecordResponse, error) {
	w := req.GetWorkRequest()
	cmd := &cairnpb.Command{UnixNano: s.cfg.Now().UnixNano(), Op: &cairnpb.Command_RecordWorkRequest{RecordWorkRequest: &cairnpb.WorkRequestRecordCmd{WorkRequest: w}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.WorkRequestRecordResponse{WorkRequest: w}, nil
}

func (s *Server) getWorkRequest(ctx context.Context, req *cairnpb.WorkRequestGetRequest) (*cairnpb.WorkRequestGetResponse, error) {
	resp := &cairnpb.WorkRequestGetResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.WorkRequest, err = fsm.GetWorkRequest(r, req.GetNamespace(), req.GetId())
		return err
	})
	return resp, err
}

func (s *Server) listWorkRequests(ctx context.Context, req *cairnpb.WorkRequestListRequest) (*cairnpb.WorkRequestListResponse, error) {
	resp := &cairnpb.WorkRequestListResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.WorkRequests, err = fsm.ListWorkRequests(r, req.GetNamespace(), req.GetCompartment())
		return err
	})
	return resp, err
}
