package meta

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadAdminToken: a file beats the environment, which beats the token
// generated (once, mode 0600) into the node's directory.
func TestLoadAdminToken(t *testing.T) {
	dir := t.TempDir()
	gen, path, err := LoadAdminToken("", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, AdminTokenFile) || len(gen) != 2*adminTokenBytes {
		t.Fatalf("generated %d characters into %s", len(gen), path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode: %v %v", fi.Mode(), err)
	}
	again, _, err := LoadAdminToken("", "", dir)
	if err != nil || again != gen {
		t.Fatalf("second start: %q %v, want the generated token again", again, err)
	}
	env, path, err := LoadAdminToken("", " env-token-0123456789 ", dir)
	if err != nil || env != "env-token-0123456789" || path != "" {
		t.Fatalf("env: %q %q %v", env, path, err)
	}
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("file-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, path, err := LoadAdminToken(file, "env-token-0123456789", dir)
	if err != nil || got != "file-token-0123456789" || path != file {
		t.Fatalf("file: %q %q %v", got, path, err)
	}
	if _, _, err := LoadAdminToken("", "short", dir); !errors.Is(err, ErrAdminToken) {
		t.Fatalf("short env token: %v", err)
	}
	if _, _, err := LoadAdminToken(filepath.Join(dir, "missing"), "", dir); !errors.Is(err, ErrAdminToken) {
		t.Fatalf("missing file: %v", err)
	}
}
