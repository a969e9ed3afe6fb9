package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Pre-authenticated requests of the native API (meta/fsm/par.go): the
// gateway draws the ID and the token and sends only the token's hash.

func (m *metaService) CreatePAR(ctx context.Context, req *cairnpb.CreatePARRequest) (*cairnpb.CreatePARResponse, error) {
	if err := validBucketRef(req.GetPar().GetNamespace(), req.GetPar().GetBucket()); err != nil {
		return nil, err
	}
	if err := fsm.ValidPAR(req.GetPar()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.createPAR, cairnpb.MetaClient.CreatePAR)
}

func (m *metaService) GetPAR(ctx context.Context, req *cairnpb.GetPARRequest) (*cairnpb.GetPARResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getPAR, cairnpb.MetaClient.GetPAR)
}

func (m *metaService) ListPARs(ctx context.Context, req *cairnpb.ListPARsRequest) (*cairnpb.ListPARsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listPARs, cairnpb.MetaClient.ListPARs)
}

func (m *metaService) DeletePAR(ctx context.Context, req *cairnpb.DeletePARRequest) (*cairnpb.DeletePARResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.deletePAR, cairnpb.MetaClient.DeletePAR)
}

func (m *metaService) LookupPAR(ctx context.Context, req *cairnpb.LookupPARRequest) (*cairnpb.LookupPARResponse, error) {
	return route(ctx, m.s, req, m.s.lookupPAR, cairnpb.MetaClient.LookupPAR)
}

func (s *Server) createPAR(ctx context.Context, req *cairnpb.CreatePARRequest) (*cairnpb.CreatePARResponse, error) {
	p := req.GetPar()
	cmd := &cairnpb.Command{UnixNano: s.cfg.Now().UnixNano(), Op: &cairnpb.Command_CreatePar{CreatePar: &cairnpb.CreatePARCmd{Par: p}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	resp := &cairnpb.CreatePARResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Par, err = fsm.GetPAR(r, p.GetNamespace(), p.GetBucket(), p.GetId())
		return err
	})
	return resp, err
}

func (s *Server) getPAR(ctx context.Context, req *cairnpb.GetPARRequest) (*cairnpb.GetPARResponse, error) {
	resp := &cairnpb.GetPARResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Par, err = fsm.GetPAR(r, req.GetNamespace(), req.GetBucket(), req.GetId())
		return err
	})
	return resp, err
}

func (s *Server) listPARs(ctx context.Context, req *cairnpb.ListPARsRequest) (*cairnpb.ListPARsResponse, error) {
	resp := &cairnpb.ListPARsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Pars, err = fsm.ListPARs(r, req.GetNamespace(), req.GetBucket(), req.GetObjectNamePrefix())
		return err
	})
	return resp, err
}

func (s *Server) deletePAR(ctx context.Context, req *cairnpb.DeletePARRequest) (*cairnpb.DeletePARResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeletePar{DeletePar: &cairnpb.DeletePARCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Id: req.GetId(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeletePARResponse{}, nil
}

// lookupPAR answers with the PAR and its creator's authorization as it
// stands now, so that each use is judged by the creator's current rights.
func (s *Server) lookupPAR(ctx context.Context, req *cairnpb.LookupPARRequest) (*cairnpb.LookupPARResponse, error) {
	resp := &cairnpb.LookupPARResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		p, err := fsm.LookupPAR(r, req.GetTokenHash())
		if err != nil {
			return err
		}
		if _, err := fsm.GetUser(r, p.GetNamespace(), p.GetCreator()); err != nil {
			return err // a deleted creator's PARs grant nothing
		}
		authz := &cairnpb.LookupAccessKeyResponse{}
		if err := fsm.AuthorizationOf(r, p.GetNamespace(), p.GetCreator(), authz); err != nil {
			return err
		}
		resp.Par, resp.Groups, resp.Statements = p, authz.GetGroups(), authz.GetStatements()
		resp.Compartments, resp.S3Compartment = authz.GetCompartments(), authz.GetS3Compartment()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Admin: operators audit a namespace's PARs and revoke them
// (cairnctl par list|delete). Records go out without their token hashes.

func (a *adminService) AdminListPARs(ctx context.Context, req *cairnpb.AdminListPARsRequest) (*cairnpb.AdminListPARsResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	if b := req.GetBucket(); b != "" {
		if err := validName("bucket name", b); err != nil {
			return nil, err
		}
	}
	return routeAdmin(ctx, a.s, req, a.s.adminListPARs, cairnpb.AdminClient.AdminListPARs)
}

func (a *adminService) AdminDeletePAR(ctx context.Context, req *cairnpb.DeletePARRequest) (*cairnpb.DeletePARResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validName("PAR ID", req.GetId()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deletePAR, cairnpb.AdminClient.AdminDeletePAR)
}

func (s *Server) adminListPARs(ctx context.Context, req *cairnpb.AdminListPARsRequest) (*cairnpb.AdminListPARsResponse, error) {
	resp := &cairnpb.AdminListPARsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		if _, err := fsm.GetNamespace(r, req.GetNamespace()); err != nil {
			return err
		}
		var err error
		resp.Pars, err = fsm.ListNamespacePARs(r, req.GetNamespace(), req.GetBucket())
		return err
	})
	for _, p := range resp.GetPars() {
		p.TokenHash = nil
	}
	return resp, err
}
