package meta

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The Admin service is guarded by one shared secret, the admin token, sent
// by callers as "authorization: Bearer <token>" gRPC metadata. The Meta
// service (gateways, data nodes) is not: keep the meta port on a private
// network.
const (
	authorizationKey = "authorization"
	bearerPrefix     = "Bearer "
	adminServicePath = "/cairn.v1.Admin/"

	// AdminTokenFile is the name, under a meta node's directory, of the
	// token generated when none is configured.
	AdminTokenFile = "admin.token"
	// adminTokenBytes is the entropy of a generated token.
	adminTokenBytes = 32
	// minAdminTokenLen is the shortest token a node accepts.
	minAdminTokenLen = 16
)

// ErrAdminToken marks a missing or unusable admin token configuration.
var ErrAdminToken = errors.New("meta: admin token")

// LoadAdminToken returns the token from file when file is set, otherwise
// env's value when set, otherwise the token stored in dir/admin.token,
// which is generated (mode 0600) on first use. path names the file the
// token came from (empty for env), for the caller to log; the token itself
// is never logged.
func LoadAdminToken(file, env, dir string) (token, path string, err error) {
	switch {
	case file != "":
		token, err = readTokenFile(file)
		return token, file, err
	case env != "":
		token = strings.TrimSpace(env)
		if len(token) < minAdminTokenLen {
			return "", "", fmt.Errorf("%w: CAIRN_ADMIN_TOKEN is shorter than %d characters", ErrAdminToken, minAdminTokenLen)
		}
		return token, "", nil
	}
	path = filepath.Join(dir, AdminTokenFile)
	token, err = readTokenFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return token, path, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("%w: create %s: %w", ErrAdminToken, dir, err)
	}
	raw := make([]byte, adminTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("%w: generate: %w", ErrAdminToken, err)
	}
	token = hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("%w: write %s: %w", ErrAdminToken, path, err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", "", fmt.Errorf("%w: write %s: %w", ErrAdminToken, path, err)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("%w: write %s: %w", ErrAdminToken, path, err)
	}
	return token, path, nil
}

func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: read %s: %w", ErrAdminToken, path, err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < minAdminTokenLen {
		return "", fmt.Errorf("%w: %s holds fewer than %d characters", ErrAdminToken, path, minAdminTokenLen)
	}
	return token, nil
}

// checkAdmin authorizes a call: methods outside the Admin service pass;
// Admin methods need the configured token.
func (s *Server) checkAdmin(ctx context.Context, method string) error {
	if !strings.HasPrefix(method, adminServicePath) {
		return nil
	}
	if s.cfg.AdminToken == "" {
		return rpcerr.ToStatus(fmt.Errorf("meta %s has no admin token configured, admin calls are disabled: %w", s.cfg.ID, rpcerr.ErrUnauthenticated))
	}
	vals := metadata.ValueFromIncomingContext(ctx, authorizationKey)
	if len(vals) == 0 {
		return rpcerr.ToStatus(fmt.Errorf("admin token required (cairnctl: --token, --token-file or CAIRN_ADMIN_TOKEN): %w", rpcerr.ErrUnauthenticated))
	}
	got, ok := strings.CutPrefix(vals[0], bearerPrefix)
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AdminToken)) != 1 {
		return rpcerr.ToStatus(fmt.Errorf("admin token rejected: it does not match the cluster's token: %w", rpcerr.ErrUnauthenticated))
	}
	return nil
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.checkAdmin(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.checkAdmin(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// withCallerAuth copies the caller's authorization metadata onto a request
// this node forwards to the leader, which checks it again.
func withCallerAuth(ctx context.Context) context.Context {
	if v := metadata.ValueFromIncomingContext(ctx, authorizationKey); len(v) > 0 {
		return metadata.AppendToOutgoingContext(ctx, authorizationKey, v[0])
	}
	return ctx
}
