package meta

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Membership changes go through Raft's configuration (AddVoter,
// RemoveServer), one change at a time, on the leader. A new member must
// already be running, started without bootstrapping: it has no
// configuration and waits for the leader to contact it. Before a member is
// added its gRPC address is recorded through the log, so every node knows
// where to forward once it leads.

// membershipTimeout bounds how long the leader waits to enqueue a
// configuration change; the change itself is bounded by the caller's ctx.
const membershipTimeout = 10 * time.Second

func (a *adminService) ListMetaMembers(ctx context.Context, req *cairnpb.ListMetaMembersRequest) (*cairnpb.ListMetaMembersResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.listMetaMembers, cairnpb.AdminClient.ListMetaMembers)
}

func (a *adminService) AddMetaMember(ctx context.Context, req *cairnpb.AddMetaMemberRequest) (*cairnpb.AddMetaMemberResponse, error) {
	if err := validName("member id", req.GetId()); err != nil {
		return nil, err
	}
	for what, addr := range map[string]string{"raft address": req.GetRaftAddr(), "gRPC address": req.GetGrpcAddr()} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fsm.Invalid("%s %q: want host:port", what, addr)
		}
	}
	return routeAdmin(ctx, a.s, req, a.s.addMetaMember, cairnpb.AdminClient.AddMetaMember)
}

func (a *adminService) RemoveMetaMember(ctx context.Context, req *cairnpb.RemoveMetaMemberRequest) (*cairnpb.RemoveMetaMemberResponse, error) {
	if err := validName("member id", req.GetId()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.removeMetaMember, cairnpb.AdminClient.RemoveMetaMember)
}

func (a *adminService) TransferLeadership(ctx context.Context, req *cairnpb.TransferLeadershipRequest) (*cairnpb.TransferLeadershipResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.transferLeadership, cairnpb.AdminClient.TransferLeadership)
}

// metaMembers describes the Raft configuration with the recorded gRPC
// addresses.
func (s *Server) metaMembers() ([]*cairnpb.MetaMemberInfo, string, error) {
	var records map[string]*cairnpb.MetaMember
	err := s.node.store.View(func(r pebble.Reader) error {
		var err error
		records, err = fsm.ListMembers(r)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	servers, err := s.raftServers()
	if err != nil {
		return nil, "", err
	}
	_, leader := s.node.raft.LeaderWithID()
	out := make([]*cairnpb.MetaMemberInfo, 0, len(servers))
	for _, srv := range servers {
		out = append(out, &cairnpb.MetaMemberInfo{
			Id:       string(srv.ID),
			RaftAddr: string(srv.Address),
			GrpcAddr: records[string(srv.ID)].GetGrpcAddr(),
			Suffrage: srv.Suffrage.String(),
			Leader:   srv.ID == leader,
		})
	}
	return out, string(leader), nil
}

func (s *Server) listMetaMembers(ctx context.Context, _ *cairnpb.ListMetaMembersRequest) (*cairnpb.ListMetaMembersResponse, error) {
	if err := s.node.readBarrier(ctx); err != nil {
		return nil, err
	}
	members, leader, err := s.metaMembers()
	if err != nil {
		return nil, err
	}
	return &cairnpb.ListMetaMembersResponse{LeaderId: leader, Members: members}, nil
}

func (s *Server) addMetaMember(ctx context.Context, req *cairnpb.AddMetaMemberRequest) (*cairnpb.AddMetaMemberResponse, error) {
	rec := &cairnpb.MetaMember{Id: req.GetId(), RaftAddr: req.GetRaftAddr(), GrpcAddr: req.GetGrpcAddr()}
	if err := s.node.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_SetMember{SetMember: &cairnpb.SetMemberCmd{Member: rec}}}); err != nil {
		return nil, err
	}
	id, addr := raft.ServerID(req.GetId()), raft.ServerAddress(req.GetRaftAddr())
	var f raft.IndexFuture
	if req.GetNonvoter() {
		f = s.node.raft.AddNonvoter(id, addr, 0, membershipTimeout)
	} else {
		f = s.node.raft.AddVoter(id, addr, 0, membershipTimeout)
	}
	if err := s.waitChange(ctx, f); err != nil {
		return nil, fmt.Errorf("meta: add member %s at %s: %w", id, addr, err)
	}
	s.cfg.Logger.Info("added meta member", "member", id, "raft_addr", addr, "grpc_addr", req.GetGrpcAddr(), "nonvoter", req.GetNonvoter())
	members, _, err := s.metaMembers()
	if err != nil {
		return nil, err
	}
	return &cairnpb.AddMetaMemberResponse{Members: members}, nil
}

func (s *Server) removeMetaMember(ctx context.Context, req *cairnpb.RemoveMetaMemberRequest) (*cairnpb.RemoveMetaMemberResponse, error) {
	servers, err := s.raftServers()
	if err != nil {
		return nil, err
	}
	found := false
	for _, srv := range servers {
		found = found || string(srv.ID) == req.GetId()
	}
	if !found {
		return nil, fmt.Errorf("meta: %q is not in the meta group: %w", req.GetId(), rpcerr.ErrMemberNotFound)
	}
	if len(servers) == 1 {
		return nil, fsm.Invalid("cannot remove %q: it is the group's only member", req.GetId())
	}
	if req.GetId() == s.cfg.ID {
		// A leader does not remove itself: it hands leadership over and
		// lets the caller retry, which reaches the new leader.
		if _, err := s.transferLeadership(ctx, &cairnpb.TransferLeadershipRequest{}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("meta: %s handed leadership over before its removal; retry: %w", s.cfg.ID, rpcerr.ErrNotLeader)
	}
	if err := s.waitChange(ctx, s.node.raft.RemoveServer(raft.ServerID(req.GetId()), 0, membershipTimeout)); err != nil {
		return nil, fmt.Errorf("meta: remove member %s: %w", req.GetId(), err)
	}
	s.cfg.Logger.Info("removed meta member", "member", req.GetId())
	members, _, err := s.metaMembers()
	if err != nil {
		return nil, err
	}
	// The leader that removed itself lists the configuration it committed.
	return &cairnpb.RemoveMetaMemberResponse{Members: members}, nil
}

// waitChange waits for a configuration change and maps raft's errors.
func (s *Server) waitChange(ctx context.Context, f raft.Future) error {
	if err := waitFuture(ctx, f); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for the configuration change to commit (it may still): %w", err)
		}
		return raftErr(err)
	}
	return nil
}

// transferLeadership hands leadership over with read leases off: the
// target's voters elect it although they know this leader.
func (s *Server) transferLeadership(ctx context.Context, req *cairnpb.TransferLeadershipRequest) (resp *cairnpb.TransferLeadershipResponse, err error) {
	err = s.node.withoutLease(func() error {
		resp, err = s.transfer(ctx, req)
		return err
	})
	return resp, err
}

func (s *Server) transfer(ctx context.Context, req *cairnpb.TransferLeadershipRequest) (*cairnpb.TransferLeadershipResponse, error) {
	var f raft.Future
	if id := req.GetId(); id != "" {
		if id == s.cfg.ID {
			return &cairnpb.TransferLeadershipResponse{PreviousLeaderId: id, LeaderId: id}, nil
		}
		servers, err := s.raftServers()
		if err != nil {
			return nil, err
		}
		var target *raft.Server
		for i := range servers {
			if string(servers[i].ID) == id {
				target = &servers[i]
			}
		}
		if target == nil {
			return nil, fmt.Errorf("meta: %q is not in the meta group: %w", id, rpcerr.ErrMemberNotFound)
		}
		if target.Suffrage != raft.Voter {
			return nil, fsm.Invalid("%q is a %s and cannot lead", id, target.Suffrage)
		}
		f = s.node.raft.LeadershipTransferToServer(target.ID, target.Address)
	} else {
		f = s.node.raft.LeadershipTransfer()
	}
	if err := waitFuture(ctx, f); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("meta: transfer leadership: %w", err)
	}
	// The transfer returns once the target started its election; wait until
	// a leader other than this node is known.
	for {
		if _, id := s.node.raft.LeaderWithID(); id != "" && string(id) != s.cfg.ID {
			s.cfg.Logger.Info("transferred leadership", "to", id)
			return &cairnpb.TransferLeadershipResponse{PreviousLeaderId: s.cfg.ID, LeaderId: string(id)}, nil
		}
		if !leaderjob.Sleep(ctx, 20*time.Millisecond) {
			return nil, fmt.Errorf("meta: transfer leadership: waiting for the new leader: %w", ctx.Err())
		}
	}
}
