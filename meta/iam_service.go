package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// maxPolicyStatements and maxPolicyBytes bound a policy (OCI allows 50
// statements per policy; a few more do no harm). Every lookup of a key
// carries its user's statements, so they must stay small.
const (
	maxPolicyStatements = 100
	maxPolicyBytes      = 32 << 10
)

func validIAMRef(ns, what, name string) error {
	if err := validName("namespace", ns); err != nil {
		return err
	}
	return validName(what, name)
}

func (a *adminService) CreateCompartment(ctx context.Context, req *cairnpb.CreateCompartmentRequest) (*cairnpb.CreateCompartmentResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	if err := fsm.ValidIAMName("compartment name", req.GetName()); err != nil {
		return nil, err
	}
	if fsm.IsRootCompartment(req.GetName()) {
		return nil, fsm.Invalid("compartment name %q is the root compartment's", policy.RootCompartment)
	}
	return routeAdmin(ctx, a.s, req, a.s.createCompartment, cairnpb.AdminClient.CreateCompartment)
}

func (a *adminService) ListCompartments(ctx context.Context, req *cairnpb.ListCompartmentsRequest) (*cairnpb.ListCompartmentsResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.listCompartments, cairnpb.AdminClient.ListCompartments)
}

func (a *adminService) SetS3Compartment(ctx context.Context, req *cairnpb.SetS3CompartmentRequest) (*cairnpb.SetS3CompartmentResponse, error) {
	if err := validIAMRef(req.GetNamespace(), "compartment name", req.GetCompartment()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.setS3Compartment, cairnpb.AdminClient.SetS3Compartment)
}

// SetS3Compartment (Meta service) is the gateway's: the native API's
// UpdateNamespaceMetadata, which the gateway authorizes
// (OBJECTSTORAGE_NAMESPACE_UPDATE) before it calls.
func (m *metaService) SetS3Compartment(ctx context.Context, req *cairnpb.SetS3CompartmentRequest) (*cairnpb.SetS3CompartmentResponse, error) {
	if err := validIAMRef(req.GetNamespace(), "compartment name", req.GetCompartment()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setS3Compartment, cairnpb.MetaClient.SetS3Compartment)
}

func (a *adminService) CreateGroup(ctx context.Context, req *cairnpb.CreateGroupRequest) (*cairnpb.CreateGroupResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	if err := fsm.ValidIAMName("group name", req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.createGroup, cairnpb.AdminClient.CreateGroup)
}

func (a *adminService) ListGroups(ctx context.Context, req *cairnpb.ListGroupsRequest) (*cairnpb.ListGroupsResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.listGroups, cairnpb.AdminClient.ListGroups)
}

func (a *adminService) AddGroupMember(ctx context.Context, req *cairnpb.AddGroupMemberRequest) (*cairnpb.AddGroupMemberResponse, error) {
	if err := validIAMRef(req.GetNamespace(), "group name", req.GetGroup()); err != nil {
		return nil, err
	}
	if err := validName("user name", req.GetUser()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.addGroupMember, cairnpb.AdminClient.AddGroupMember)
}

func (a *adminService) RemoveGroupMember(ctx context.Context, req *cairnpb.RemoveGroupMemberRequest) (*cairnpb.RemoveGroupMemberResponse, error) {
	if err := validIAMRef(req.GetNamespace(), "group name", req.GetGroup()); err != nil {
		return nil, err
	}
	if err := validName("user name", req.GetUser()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.removeGroupMember, cairnpb.AdminClient.RemoveGroupMember)
}

func (a *adminService) CreatePolicy(ctx context.Context, req *cairnpb.CreatePolicyRequest) (*cairnpb.CreatePolicyResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	if err := fsm.ValidIAMName("policy name", req.GetName()); err != nil {
		return nil, err
	}
	size := 0
	for _, st := range req.GetStatements() {
		size += len(st) + 1
	}
	if size > maxPolicyBytes {
		return nil, fsm.Invalid("policy %q is %d bytes; at most %d are allowed", req.GetName(), size, maxPolicyBytes)
	}
	// Parse here too, so a bad statement fails before anything is proposed.
	sts, err := fsm.ParsePolicy(req.GetName(), req.GetStatements())
	if err != nil {
		return nil, err
	}
	if len(sts) > maxPolicyStatements {
		return nil, fsm.Invalid("policy %q has %d statements; at most %d are allowed", req.GetName(), len(sts), maxPolicyStatements)
	}
	return routeAdmin(ctx, a.s, req, a.s.createPolicy, cairnpb.AdminClient.CreatePolicy)
}

func (a *adminService) ListPolicies(ctx context.Context, req *cairnpb.ListPoliciesRequest) (*cairnpb.ListPoliciesResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.listPolicies, cairnpb.AdminClient.ListPolicies)
}

func (a *adminService) DeletePolicy(ctx context.Context, req *cairnpb.DeletePolicyRequest) (*cairnpb.DeletePolicyResponse, error) {
	if err := validIAMRef(req.GetNamespace(), "policy name", req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deletePolicy, cairnpb.AdminClient.DeletePolicy)
}

// The local operations below run on the leader.

func (s *Server) createCompartment(ctx context.Context, req *cairnpb.CreateCompartmentRequest) (*cairnpb.CreateCompartmentResponse, error) {
	ocid, err := fsm.NewOCID(fsm.OCIDCompartment)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	parent := req.GetParent()
	if fsm.IsRootCompartment(parent) {
		parent = policy.RootCompartment
	}
	c := &cairnpb.Compartment{Namespace: req.GetNamespace(), Name: req.GetName(), Parent: parent, CreatedUnixNano: now, Ocid: ocid}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateCompartment{CreateCompartment: &cairnpb.CreateCompartmentCmd{Compartment: c}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// Read back: a deduplicated retry answers with the OCID first stored.
	err = s.read(ctx, func(r pebble.Reader) error {
		var err error
		c, err = fsm.GetCompartment(r, req.GetNamespace(), req.GetName())
		return err
	})
	return &cairnpb.CreateCompartmentResponse{Compartment: c}, err
}

func (s *Server) listCompartments(ctx context.Context, req *cairnpb.ListCompartmentsRequest) (*cairnpb.ListCompartmentsResponse, error) {
	resp := &cairnpb.ListCompartmentsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		n, err := fsm.GetNamespace(r, req.GetNamespace())
		if err != nil {
			return err
		}
		comps, err := fsm.ListCompartments(r, req.GetNamespace())
		if err != nil {
			return err
		}
		// The root's OCID is the tenancy's ("" for a namespace from
		// before OCIDs until its first API key).
		root := &cairnpb.Compartment{Namespace: n.GetName(), Name: policy.RootCompartment, CreatedUnixNano: n.GetCreatedUnixNano(), Ocid: n.GetOcid()}
		resp.Compartments = append([]*cairnpb.Compartment{root}, comps...)
		resp.S3Compartment = n.GetS3Compartment()
		if resp.S3Compartment == "" {
			resp.S3Compartment = policy.RootCompartment
		}
		return nil
	})
	return resp, err
}

func (s *Server) setS3Compartment(ctx context.Context, req *cairnpb.SetS3CompartmentRequest) (*cairnpb.SetS3CompartmentResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetS3Compartment{SetS3Compartment: &cairnpb.SetS3CompartmentCmd{
		Namespace: req.GetNamespace(), Compartment: req.GetCompartment(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetS3CompartmentResponse{}, nil
}

func (s *Server) createGroup(ctx context.Context, req *cairnpb.CreateGroupRequest) (*cairnpb.CreateGroupResponse, error) {
	ocid, err := fsm.NewOCID(fsm.OCIDGroup)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	g := &cairnpb.Group{Namespace: req.GetNamespace(), Name: req.GetName(), CreatedUnixNano: now, Ocid: ocid}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateGroup{CreateGroup: &cairnpb.CreateGroupCmd{Group: g}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// Read back: a deduplicated retry answers with the OCID first stored.
	err = s.read(ctx, func(r pebble.Reader) error {
		var err error
		g, err = fsm.GetGroup(r, req.GetNamespace(), req.GetName())
		return err
	})
	return &cairnpb.CreateGroupResponse{Group: g}, err
}

func (s *Server) listGroups(ctx context.Context, req *cairnpb.ListGroupsRequest) (*cairnpb.ListGroupsResponse, error) {
	resp := &cairnpb.ListGroupsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		if _, err := fsm.GetNamespace(r, req.GetNamespace()); err != nil {
			return err
		}
		var err error
		resp.Groups, err = fsm.ListGroups(r, req.GetNamespace())
		return err
	})
	return resp, err
}

func (s *Server) setGroupMember(ctx context.Context, ns, group, user string, member bool) error {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetGroupMember{SetGroupMember: &cairnpb.SetGroupMemberCmd{
		Namespace: ns, Group: group, User: user, Member: member,
	}}}
	return s.node.propose(ctx, cmd)
}

func (s *Server) addGroupMember(ctx context.Context, req *cairnpb.AddGroupMemberRequest) (*cairnpb.AddGroupMemberResponse, error) {
	if err := s.setGroupMember(ctx, req.GetNamespace(), req.GetGroup(), req.GetUser(), true); err != nil {
		return nil, err
	}
	return &cairnpb.AddGroupMemberResponse{}, nil
}

func (s *Server) removeGroupMember(ctx context.Context, req *cairnpb.RemoveGroupMemberRequest) (*cairnpb.RemoveGroupMemberResponse, error) {
	if err := s.setGroupMember(ctx, req.GetNamespace(), req.GetGroup(), req.GetUser(), false); err != nil {
		return nil, err
	}
	return &cairnpb.RemoveGroupMemberResponse{}, nil
}

func (s *Server) createPolicy(ctx context.Context, req *cairnpb.CreatePolicyRequest) (*cairnpb.CreatePolicyResponse, error) {
	sts, err := fsm.ParsePolicy(req.GetName(), req.GetStatements())
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	p := &cairnpb.Policy{Namespace: req.GetNamespace(), Name: req.GetName(), CreatedUnixNano: now}
	for _, st := range sts {
		p.Statements = append(p.Statements, st.Text)
	}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreatePolicy{CreatePolicy: &cairnpb.CreatePolicyCmd{Policy: p}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.CreatePolicyResponse{Policy: p}, nil
}

func (s *Server) listPolicies(ctx context.Context, req *cairnpb.ListPoliciesRequest) (*cairnpb.ListPoliciesResponse, error) {
	resp := &cairnpb.ListPoliciesResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		if _, err := fsm.GetNamespace(r, req.GetNamespace()); err != nil {
			return err
		}
		var err error
		resp.Policies, err = fsm.ListPolicies(r, req.GetNamespace())
		return err
	})
	return resp, err
}

func (s *Server) deletePolicy(ctx context.Context, req *cairnpb.DeletePolicyRequest) (*cairnpb.DeletePolicyResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeletePolicy{DeletePolicy: &cairnpb.DeletePolicyCmd{
		Namespace: req.GetNamespace(), Name: req.GetName(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeletePolicyResponse{}, nil
}
