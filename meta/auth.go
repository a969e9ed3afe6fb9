package meta

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Who may call what is proto/rpcauth's table. The Admin service accepts,
// besides an admin certificate, one shared secret: the admin token, sent
// by callers as "authorization: Bearer <token>" gRPC metadata.
const (
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
