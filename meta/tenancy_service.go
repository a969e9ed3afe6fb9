package meta

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Access key IDs are 20 random bytes in hex (40 characters) and secrets 32
// random bytes in base64 (44 characters), the shapes of OCI's customer
// secret keys.
const (
	accessKeyIDBytes = 20
	secretBytes      = 32
	maxNamespaceLen  = 63
)

// validNamespace accepts what may appear as a DNS label in a virtual-host
// endpoint: lowercase letters, digits and inner hyphens, 1 to 63 bytes.
func validNamespace(ns string) error {
	if ns == "" {
		return fsm.Invalid("namespace is required")
	}
	if len(ns) > maxNamespaceLen {
		return fsm.Invalid("namespace is longer than %d bytes", maxNamespaceLen)
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(ns)-1:
		default:
			return fsm.Invalid("namespace %q: use lowercase letters, digits and inner hyphens", ns)
		}
	}
	return nil
}

func validUserRef(ns, user string) error {
	if err := validName("namespace", ns); err != nil {
		return err
	}
	return validName("user name", user)
}

// routeAdmin is route for the Admin service.
func routeAdmin[Req, Resp any](
	ctx context.Context, s *Server, req Req,
	local func(context.Context, Req) (Resp, error),
	remote func(cairnpb.AdminClient, context.Context, Req, ...grpc.CallOption) (Resp, error),
) (Resp, error) {
	return routeVia(ctx, s, req, local, cairnpb.NewAdminClient, remote)
}

func (a *adminService) CreateNamespace(ctx context.Context, req *cairnpb.CreateNamespaceRequest) (*cairnpb.CreateNamespaceResponse, error) {
	if err := validNamespace(req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.createNamespace, cairnpb.AdminClient.CreateNamespace)
}

func (a *adminService) ListNamespaces(ctx context.Context, req *cairnpb.ListNamespacesRequest) (*cairnpb.ListNamespacesResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.listNamespaces, cairnpb.AdminClient.ListNamespaces)
}

func (a *adminService) GetNamespace(ctx context.Context, req *cairnpb.GetNamespaceRequest) (*cairnpb.GetNamespaceResponse, error) {
	if err := validName("namespace", req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.getNamespace, cairnpb.AdminClient.GetNamespace)
}

func (a *adminService) CreateUser(ctx context.Context, req *cairnpb.CreateUserRequest) (*cairnpb.CreateUserResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.createUser, cairnpb.AdminClient.CreateUser)
}

func (a *adminService) ListUsers(ctx context.Context, req *cairnpb.ListUsersRequest) (*cairnpb.ListUsersResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.listUsers, cairnpb.AdminClient.ListUsers)
}

func (a *adminService) DeleteUser(ctx context.Context, req *cairnpb.DeleteUserRequest) (*cairnpb.DeleteUserResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deleteUser, cairnpb.AdminClient.DeleteUser)
}

func (a *adminService) CreateAccessKey(ctx context.Context, req *cairnpb.CreateAccessKeyRequest) (*cairnpb.CreateAccessKeyResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetUser()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.createAccessKey, cairnpb.AdminClient.CreateAccessKey)
}

func (a *adminService) ListAccessKeys(ctx context.Context, req *cairnpb.ListAccessKeysRequest) (*cairnpb.ListAccessKeysResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	if req.GetUser() != "" {
		if err := validName("user name", req.GetUser()); err != nil {
			return nil, err
		}
	}
	return routeAdmin(ctx, a.s, req, a.s.listAccessKeys, cairnpb.AdminClient.ListAccessKeys)
}

func (a *adminService) DeactivateAccessKey(ctx context.Context, req *cairnpb.DeactivateAccessKeyRequest) (*cairnpb.DeactivateAccessKeyResponse, error) {
	if err := validName("access key id", req.GetAccessKeyId()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deactivateAccessKey, cairnpb.AdminClient.DeactivateAccessKey)
}

func (a *adminService) DeleteAccessKey(ctx context.Context, req *cairnpb.DeleteAccessKeyRequest) (*cairnpb.DeleteAccessKeyResponse, error) {
	if err := validName("access key id", req.GetAccessKeyId()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deleteAccessKey, cairnpb.AdminClient.DeleteAccessKey)
}

func (m *metaService) LookupAccessKey(ctx context.Context, req *cairnpb.LookupAccessKeyRequest) (*cairnpb.LookupAccessKeyResponse, error) {
	if err := validName("access key id", req.GetAccessKeyId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.lookupAccessKey, cairnpb.MetaClient.LookupAccessKey)
}

// The local operations below run on the leader.

func (s *Server) createNamespace(ctx context.Context, req *cairnpb.CreateNamespaceRequest) (*cairnpb.CreateNamespaceResponse, error) {
	ocid, err := fsm.NewOCID("tenancy")
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	n := &cairnpb.Namespace{Name: req.GetName(), CreatedUnixNano: now, Ocid: ocid}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateNamespace{CreateNamespace: &cairnpb.CreateNamespaceCmd{Namespace: n}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// Read back: a deduplicated retry answers with the OCID first stored.
	err = s.read(ctx, func(r pebble.Reader) error {
		var err error
		n, err = fsm.GetNamespace(r, req.GetName())
		return err
	})
	return &cairnpb.CreateNamespaceResponse{Namespace: n}, err
}

func (s *Server) listNamespaces(ctx context.Context, _ *cairnpb.ListNamespacesRequest) (*cairnpb.ListNamespacesResponse, error) {
	resp := &cairnpb.ListNamespacesResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Namespaces, err = fsm.ListNamespaces(r)
		return err
	})
	return resp, err
}

func (s *Server) getNamespace(ctx context.Context, req *cairnpb.GetNamespaceRequest) (*cairnpb.GetNamespaceResponse, error) {
	resp := &cairnpb.GetNamespaceResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		if resp.Namespace, err = fsm.GetNamespace(r, req.GetName()); err != nil {
			return err
		}
		users, err := fsm.ListUsers(r, req.GetName())
		if err != nil {
			return err
		}
		buckets, err := fsm.ListBuckets(r, req.GetName())
		resp.Users, resp.Buckets = int32(len(users)), int32(len(buckets))
		return err
	})
	return resp, err
}

func (s *Server) createUser(ctx context.Context, req *cairnpb.CreateUserRequest) (*cairnpb.CreateUserResponse, error) {
	ocid, err := fsm.NewOCID("user")
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	u := &cairnpb.User{Namespace: req.GetNamespace(), Name: req.GetName(), CreatedUnixNano: now, Ocid: ocid}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateUser{CreateUser: &cairnpb.CreateUserCmd{User: u}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// Read back: a deduplicated retry answers with the OCID first stored.
	err = s.read(ctx, func(r pebble.Reader) error {
		var err error
		u, err = fsm.GetUser(r, req.GetNamespace(), req.GetName())
		return err
	})
	return &cairnpb.CreateUserResponse{User: u}, err
}

func (s *Server) listUsers(ctx context.Context, req *cairnpb.ListUsersRequest) (*cairnpb.ListUsersResponse, error) {
	resp := &cairnpb.ListUsersResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		if _, err := fsm.GetNamespace(r, req.GetNamespace()); err != nil {
			return err
		}
		var err error
		resp.Users, err = fsm.ListUsers(r, req.GetNamespace())
		return err
	})
	return resp, err
}

func (s *Server) deleteUser(ctx context.Context, req *cairnpb.DeleteUserRequest) (*cairnpb.DeleteUserResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeleteUser{DeleteUser: &cairnpb.DeleteUserCmd{
		Namespace: req.GetNamespace(), Name: req.GetName(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteUserResponse{}, nil
}

func (s *Server) createAccessKey(ctx context.Context, req *cairnpb.CreateAccessKeyRequest) (*cairnpb.CreateAccessKeyResponse, error) {
	id := make([]byte, accessKeyIDBytes)
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("meta: draw access key id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("meta: draw secret key: %w", err)
	}
	now := s.cfg.Now().UnixNano()
	k := &cairnpb.AccessKey{
		AccessKeyId:     hex.EncodeToString(id),
		Namespace:       req.GetNamespace(),
		User:            req.GetUser(),
		Secret:          base64.StdEncoding.EncodeToString(secret),
		Active:          true,
		CreatedUnixNano: now,
	}
	stored, err := s.sealAccessKey(k)
	if err != nil {
		return nil, err
	}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateAccessKey{CreateAccessKey: &cairnpb.CreateAccessKeyCmd{Key: stored}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.CreateAccessKeyResponse{Key: k}, nil
}

func (s *Server) listAccessKeys(ctx context.Context, req *cairnpb.ListAccessKeysRequest) (*cairnpb.ListAccessKeysResponse, error) {
	resp := &cairnpb.ListAccessKeysResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		if _, err := fsm.GetNamespace(r, req.GetNamespace()); err != nil {
			return err
		}
		if req.GetUser() != "" {
			if _, err := fsm.GetUser(r, req.GetNamespace(), req.GetUser()); err != nil {
				return err
			}
		}
		var err error
		resp.Keys, err = fsm.ListAccessKeys(r, req.GetNamespace(), req.GetUser())
		return err
	})
	return resp, err
}

func (s *Server) deactivateAccessKey(ctx context.Context, req *cairnpb.DeactivateAccessKeyRequest) (*cairnpb.DeactivateAccessKeyResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetAccessKeyActive{SetAccessKeyActive: &cairnpb.SetAccessKeyActiveCmd{
		AccessKeyId: req.GetAccessKeyId(), Active: false,
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeactivateAccessKeyResponse{}, nil
}

func (s *Server) deleteAccessKey(ctx context.Context, req *cairnpb.DeleteAccessKeyRequest) (*cairnpb.DeleteAccessKeyResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeleteAccessKey{DeleteAccessKey: &cairnpb.DeleteAccessKeyCmd{
		AccessKeyId: req.GetAccessKeyId(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteAccessKeyResponse{}, nil
}

func (s *Server) lookupAccessKey(ctx context.Context, req *cairnpb.LookupAccessKeyRequest) (*cairnpb.LookupAccessKeyResponse, error) {
	var k *cairnpb.AccessKey
	authz := &cairnpb.LookupAccessKeyResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		if k, err = fsm.GetAccessKey(r, req.GetAccessKeyId()); err != nil {
			return err
		}
		return fsm.AuthorizationOf(r, k.GetNamespace(), k.GetUser(), authz)
	})
	if err != nil {
		return nil, err
	}
	secret, err := jobs.SecretOf(s.cfg.Keyring, k)
	if err != nil {
		return nil, err
	}
	return &cairnpb.LookupAccessKeyResponse{
		Namespace: k.GetNamespace(), User: k.GetUser(), Secret: secret, Active: k.GetActive(),
		Groups: authz.GetGroups(), Statements: authz.GetStatements(),
		Compartments: authz.GetCompartments(), S3Compartment: authz.GetS3Compartment(),
	}, nil
}
