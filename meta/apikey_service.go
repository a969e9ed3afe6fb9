package meta

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Smallest and largest RSA keys accepted for API signing (OCI asks for
// 2048 bits or more).
const (
	minAPIKeyBits = 2048
	maxAPIKeyBits = 8192
	maxPEMBytes   = 16 << 10
)

// apiKeyFingerprint parses a PEM public key (PKIX "PUBLIC KEY", or PKCS #1
// "RSA PUBLIC KEY") and returns it re-encoded as PKIX PEM with OCI's
// fingerprint: the MD5 of its DER (PKIX) encoding, as colon-separated hex.
func apiKeyFingerprint(pemText string) (canonical, fingerprint string, err error) {
	if len(pemText) > maxPEMBytes {
		return "", "", fsm.Invalid("public key: longer than %d bytes", maxPEMBytes)
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return "", "", fsm.Invalid("public key: no PEM block found")
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return "", "", fsm.Invalid("public key: PEM block is %q, want PUBLIC KEY (a private key must never be uploaded)", block.Type)
	}
	if err != nil {
		return "", "", fsm.Invalid("public key: %v", err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return "", "", fsm.Invalid("public key: not an RSA key (OCI API keys are RSA)")
	}
	if n := rk.N.BitLen(); n < minAPIKeyBits || n > maxAPIKeyBits {
		return "", "", fsm.Invalid("public key: %d bits, want %d to %d", n, minAPIKeyBits, maxAPIKeyBits)
	}
	der, err := x509.MarshalPKIXPublicKey(rk)
	if err != nil {
		return "", "", fsm.Invalid("public key: %v", err)
	}
	sum := md5.Sum(der)
	hexed := hex.EncodeToString(sum[:])
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(hexed); i += 2 {
		parts = append(parts, hexed[i:i+2])
	}
	canonical = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return canonical, strings.Join(parts, ":"), nil
}

func (a *adminService) UploadAPIKey(ctx context.Context, req *cairnpb.UploadAPIKeyRequest) (*cairnpb.UploadAPIKeyResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetUser()); err != nil {
		return nil, err
	}
	if _, _, err := apiKeyFingerprint(req.GetPublicKeyPem()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.uploadAPIKey, cairnpb.AdminClient.UploadAPIKey)
}

func (a *adminService) ListAPIKeys(ctx context.Context, req *cairnpb.ListAPIKeysRequest) (*cairnpb.ListAPIKeysResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetUser()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.listAPIKeys, cairnpb.AdminClient.ListAPIKeys)
}

func (a *adminService) DeleteAPIKey(ctx context.Context, req *cairnpb.DeleteAPIKeyRequest) (*cairnpb.DeleteAPIKeyResponse, error) {
	if err := validUserRef(req.GetNamespace(), req.GetUser()); err != nil {
		return nil, err
	}
	if err := validName("fingerprint", req.GetFingerprint()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.deleteAPIKey, cairnpb.AdminClient.DeleteAPIKey)
}

func (m *metaService) LookupAPIKey(ctx context.Context, req *cairnpb.LookupAPIKeyRequest) (*cairnpb.LookupAPIKeyResponse, error) {
	for what, v := range map[string]string{"tenancy OCID": req.GetTenancyOcid(), "user OCID": req.GetUserOcid(), "fingerprint": req.GetFingerprint()} {
		if err := validName(what, v); err != nil {
			return nil, err
		}
	}
	return route(ctx, m.s, req, m.s.lookupAPIKey, cairnpb.MetaClient.LookupAPIKey)
}

func (s *Server) uploadAPIKey(ctx context.Context, req *cairnpb.UploadAPIKeyRequest) (*cairnpb.UploadAPIKeyResponse, error) {
	canonical, fp, err := apiKeyFingerprint(req.GetPublicKeyPem())
	if err != nil {
		return nil, err
	}
	nsOCID, err := fsm.NewOCID("tenancy")
	if err != nil {
		return nil, err
	}
	userOCID, err := fsm.NewOCID("user")
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	k := &cairnpb.APIKey{Namespace: req.GetNamespace(), User: req.GetUser(), Fingerprint: fp, PublicKeyPem: canonical, CreatedUnixNano: now}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_UploadApiKey{UploadApiKey: &cairnpb.UploadAPIKeyCmd{
		Key: k, UserOcid: userOCID, NamespaceOcid: nsOCID,
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// The OCIDs in force are read back: the user or namespace may have
	// had them already.
	resp := &cairnpb.UploadAPIKeyResponse{Key: k}
	err = s.read(ctx, func(r pebble.Reader) error {
		n, err := fsm.GetNamespace(r, req.GetNamespace())
		if err != nil {
			return err
		}
		u, err := fsm.GetUser(r, req.GetNamespace(), req.GetUser())
		if err != nil {
			return err
		}
		resp.NamespaceOcid, resp.UserOcid = n.GetOcid(), u.GetOcid()
		return nil
	})
	return resp, err
}

func (s *Server) listAPIKeys(ctx context.Context, req *cairnpb.ListAPIKeysRequest) (*cairnpb.ListAPIKeysResponse, error) {
	resp := &cairnpb.ListAPIKeysResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		n, err := fsm.GetNamespace(r, req.GetNamespace())
		if err != nil {
			return err
		}
		u, err := fsm.GetUser(r, req.GetNamespace(), req.GetUser())
		if err != nil {
			return err
		}
		resp.NamespaceOcid, resp.UserOcid = n.GetOcid(), u.GetOcid()
		resp.Keys, err = fsm.ListAPIKeys(r, req.GetNamespace(), req.GetUser())
		return err
	})
	return resp, err
}

func (s *Server) deleteAPIKey(ctx context.Context, req *cairnpb.DeleteAPIKeyRequest) (*cairnpb.DeleteAPIKeyResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeleteApiKey{DeleteApiKey: &cairnpb.DeleteAPIKeyCmd{
		Namespace: req.GetNamespace(), User: req.GetUser(), Fingerprint: req.GetFingerprint(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteAPIKeyResponse{}, nil
}

func (s *Server) lookupAPIKey(ctx context.Context, req *cairnpb.LookupAPIKeyRequest) (*cairnpb.LookupAPIKeyResponse, error) {
	resp := &cairnpb.LookupAPIKeyResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		tenancy, err := fsm.ResolveOCID(r, req.GetTenancyOcid())
		if err != nil {
			return err
		}
		user, err := fsm.ResolveOCID(r, req.GetUserOcid())
		if err != nil {
			return err
		}
		if tenancy.GetUser() != "" || user.GetUser() == "" || user.GetNamespace() != tenancy.GetNamespace() {
			return fmt.Errorf("meta: OCIDs %q/%q do not name a user of a tenancy: %w",
				req.GetTenancyOcid(), req.GetUserOcid(), rpcerr.ErrKeyNotFound)
		}
		k, err := fsm.GetAPIKey(r, user.GetNamespace(), user.GetUser(), req.GetFingerprint())
		if err != nil {
			return err
		}
		authz := &cairnpb.LookupAccessKeyResponse{}
		if err := fsm.AuthorizationOf(r, user.GetNamespace(), user.GetUser(), authz); err != nil {
			return err
		}
		resp.Namespace, resp.User, resp.PublicKeyPem = user.GetNamespace(), user.GetUser(), k.GetPublicKeyPem()
		resp.Groups, resp.Statements = authz.GetGroups(), authz.GetStatements()
		resp.Compartments, resp.S3Compartment = authz.GetCompartments(), authz.GetS3Compartment()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
