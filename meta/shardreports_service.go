package meta

import (
	"context"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Meta.ReportShards: a gateway's shards that failed a read, which the
// leader checks on their nodes (jobs/shardchecks.go) before it records
// anything.

func (m *metaService) ReportShards(ctx context.Context, req *cairnpb.ReportShardsRequest) (*cairnpb.ReportShardsResponse, error) {
	if len(req.GetProblems()) > jobs.MaxShardProblems {
		return nil, fsm.Invalid("at most %d shard problems per report, not %d", jobs.MaxShardProblems, len(req.GetProblems()))
	}
	for _, p := range req.GetProblems() {
		if err := validName("node id", p.GetNodeId()); err != nil {
			return nil, err
		}
		if err := validName("version id", p.GetVersionId()); err != nil {
			return nil, err
		}
		if p.GetIndex() < 0 || p.GetPartNumber() < 0 {
			return nil, fsm.Invalid("shard problem: negative index or part number")
		}
	}
	return route(ctx, m.s, req, m.s.reportShards, cairnpb.MetaClient.ReportShards)
}

// reportShards queues a gateway's problems for the leader's checks.
func (s *Server) reportShards(_ context.Context, req *cairnpb.ReportShardsRequest) (*cairnpb.ReportShardsResponse, error) {
	queued := s.node.jobSet.ReportShards(s.cfg.Now(), req.GetProblems())
	s.cfg.Logger.Debug("gateway reported shards", "problems", len(req.GetProblems()), "queued", queued)
	return &cairnpb.ReportShardsResponse{}, nil
}
