package meta

import (
	"context"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

func (a *adminService) SetNodeWeight(ctx context.Context, req *cairnpb.SetNodeWeightRequest) (*cairnpb.SetNodeWeightResponse, error) {
	if err := validName("node id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if w := req.GetWeight(); math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
		return nil, fsm.Invalid("weight must be a positive number, not %v", w)
	}
	return routeAdmin(ctx, a.s, req, a.s.setNodeWeight, cairnpb.AdminClient.SetNodeWeight)
}

func (a *adminService) Rebalance(ctx context.Context, req *cairnpb.RebalanceRequest) (*cairnpb.RebalanceResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.startRebalance, cairnpb.AdminClient.Rebalance)
}

func (a *adminService) RebalanceStatus(ctx context.Context, req *cairnpb.RebalanceStatusRequest) (*cairnpb.RebalanceStatusResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.rebalanceStatus, cairnpb.AdminClient.RebalanceStatus)
}

// setNodeWeight commits a node's new placement weight; the rebalancer then
// moves what the new weight changes (unless it is manual only).
func (s *Server) setNodeWeight(ctx context.Context, req *cairnpb.SetNodeWeightRequest) (*cairnpb.SetNodeWeightResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetNodeWeight{SetNodeWeight: &cairnpb.SetNodeWeightCmd{
		NodeId: req.GetNodeId(), Weight: req.GetWeight(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("data node weight changed", "node", req.GetNodeId(), "weight", req.GetWeight())
	s.node.jobSet.KickRebalance(false)
	resp := &cairnpb.SetNodeWeightResponse{}
	err := s.node.store.View(func(r pebble.Reader) error {
		var err error
		resp.Node, err = fsm.GetNode(r, req.GetNodeId())
		return err
	})
	return resp, err
}

// startRebalance asks the leader's rebalancer for a pass now.
func (s *Server) startRebalance(ctx context.Context, _ *cairnpb.RebalanceRequest) (*cairnpb.RebalanceResponse, error) {
	if err := s.node.readBarrier(ctx); err != nil {
		return nil, err
	}
	s.node.jobSet.KickRebalance(true)
	return &cairnpb.RebalanceResponse{Status: s.node.jobSet.RebalanceStatus()}, nil
}

func (s *Server) rebalanceStatus(ctx context.Context, _ *cairnpb.RebalanceStatusRequest) (*cairnpb.RebalanceStatusResponse, error) {
	if err := s.node.readBarrier(ctx); err != nil {
		return nil, err
	}
	return &cairnpb.RebalanceStatusResponse{Status: s.node.jobSet.RebalanceStatus()}, nil
}
