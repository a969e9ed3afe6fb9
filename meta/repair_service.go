package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

func (a *adminService) SetNodeState(ctx context.Context, req *cairnpb.SetNodeStateRequest) (*cairnpb.SetNodeStateResponse, error) {
	if err := validName("node id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if _, ok := cairnpb.NodeState_name[int32(req.GetState())]; !ok {
		return nil, fsm.Invalid("unknown node state %d", req.GetState())
	}
	return routeAdmin(ctx, a.s, req, a.s.setNodeState, cairnpb.AdminClient.SetNodeState)
}

func (a *adminService) RepairStatus(ctx context.Context, req *cairnpb.RepairStatusRequest) (*cairnpb.RepairStatusResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.repairStatus, cairnpb.AdminClient.RepairStatus)
}

func (m *metaService) ReportCorruptShard(ctx context.Context, req *cairnpb.ReportCorruptShardRequest) (*cairnpb.ReportCorruptShardResponse, error) {
	if err := validName("node id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if err := validName("shard id", req.GetShardId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.reportCorruptShard, cairnpb.MetaClient.ReportCorruptShard)
}

func (m *metaService) ReportUnreadable(ctx context.Context, req *cairnpb.ReportUnreadableRequest) (*cairnpb.ReportUnreadableResponse, error) {
	rep := req.GetReport()
	if rep.GetBucket() == "" || rep.GetVersionId() == "" {
		return nil, fsm.Invalid("an unreadable report names a bucket and a version")
	}
	if rep.GetReporter() == "" {
		// Stamped by the first meta node, from the caller's certificate;
		// a forwarded report arrives stamped.
		rep = proto.Clone(rep).(*cairnpb.UnreadableReport)
		rep.Reporter = "unknown"
		if c, ok := rpcauth.CallerFrom(ctx); ok && c.Identity.ID != "" {
			rep.Reporter = c.Identity.String()
		}
		req = &cairnpb.ReportUnreadableRequest{Report: rep}
	}
	return route(ctx, m.s, req, m.s.reportUnreadable, cairnpb.MetaClient.ReportUnreadable)
}

// reportUnreadable records a gateway's failed read on the leader.
func (s *Server) reportUnreadable(_ context.Context, req *cairnpb.ReportUnreadableRequest) (*cairnpb.ReportUnreadableResponse, error) {
	rep := proto.Clone(req.GetReport()).(*cairnpb.UnreadableReport)
	rep.UnixNano = s.cfg.Now().UnixNano()
	s.node.jobSet.ReportUnreadable(rep)
	s.cfg.Logger.Error("object version unreadable", "namespace", rep.GetNamespace(), "bucket", rep.GetBucket(),
		"key", rep.GetKey(), "version", rep.GetVersionId(), "shards_readable", rep.GetShardsReadable(),
		"shards_needed", rep.GetShardsNeeded(), "reporter", rep.GetReporter(), "detail", rep.GetDetail())
	return &cairnpb.ReportUnreadableResponse{}, nil
}

// setNodeState commits a node's new state and starts a repair round.
func (s *Server) setNodeState(ctx context.Context, req *cairnpb.SetNodeStateRequest) (*cairnpb.SetNodeStateResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetNodeState{SetNodeState: &cairnpb.SetNodeStateCmd{
		NodeId: req.GetNodeId(), State: req.GetState(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// The command has applied, so the index is at or past its own.
	resp := &cairnpb.SetNodeStateResponse{AppliedIndex: s.node.store.AppliedIndex()}
	s.cfg.Logger.Info("data node state changed", "node", req.GetNodeId(), "state", req.GetState().String())
	s.node.jobSet.KickRepair()
	err := s.node.store.View(func(r pebble.Reader) error {
		var err error
		resp.Node, err = fsm.GetNode(r, req.GetNodeId())
		return err
	})
	return resp, err
}

func (s *Server) repairStatus(ctx context.Context, _ *cairnpb.RepairStatusRequest) (*cairnpb.RepairStatusResponse, error) {
	if err := s.node.readBarrier(ctx); err != nil {
		return nil, err
	}
	return &cairnpb.RepairStatusResponse{Status: s.node.jobSet.RepairStatus()}, nil
}

func (s *Server) reportCorruptShard(ctx context.Context, req *cairnpb.ReportCorruptShardRequest) (*cairnpb.ReportCorruptShardResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: &cairnpb.ReportCorruptShardCmd{
		Shard: &cairnpb.CorruptShard{NodeId: req.GetNodeId(), ShardId: req.GetShardId(), Reason: "checksum"},
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	s.cfg.Logger.Warn("corrupt shard reported", "node", req.GetNodeId(), "shard", req.GetShardId())
	s.node.jobSet.KickRepair()
	return &cairnpb.ReportCorruptShardResponse{}, nil
}
