package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// comparator is a server built from its Go module source at a pinned
// version.
type comparator struct {
	Name    string // binary name under bin/compare
	Module  string
	Version string
	Pkg     string // the main package inside the module
}

// The pinned comparison servers.
//
// MinIO: the community repository's last state, RELEASE.2025-10-15T17-29-55Z
// plus eleven later commits (bug fixes, README); the module proxy serves no
// pseudo-version of the release commit itself.
//
// SeaweedFS: go install refuses the module (replace directives in its
// go.mod), so it is downloaded and ./weed built inside a writable copy.
func comparators() (minio, weed comparator) {
	return comparator{Name: "minio", Module: "github.com/minio/minio", Version: "v0.0.0-20260212201848-7aac2a2c5b7c", Pkg: "."},
		comparator{Name: "weed", Module: "github.com/seaweedfs/seaweedfs", Version: "v0.0.0-20261109003541-7506e5f91cd6", Pkg: "./weed"}
}

// cachePath is where a built comparator is kept: the version is in the
// name, so a new pin builds anew and an old binary is never reused for it.
func (c comparator) cachePath(binDir string) string {
	return filepath.Join(binDir, "compare", c.Name+"-"+c.Version)
}

// locate returns the binary to run for c: override when set (it must
// exist), else the cached build, else a fresh build into the cache.
func locate(ctx context.Context, c comparator, binDir, override string, log io.Writer) (string, error) {
	if override != "" {
		if _, err := os.Stat(override); err != nil {
			return "", fmt.Errorf("benchcompare: %s binary: %w", c.Name, err)
		}
		return override, nil
	}
	path := c.cachePath(binDir)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	fmt.Fprintf(log, "building %s %s@%s into %s (once; minutes)\n", c.Name, c.Module, c.Version, path)
	if err := build(ctx, c, path); err != nil {
		return "", err
	}
	return path, nil
}

// goEnv is the environment of the go commands that fetch and build a
// comparator: module mode (its go.sum decides), outside any workspace.
func goEnv() []string { return append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off") }

// build downloads c's module through the module proxy, copies it into a
// writable temporary directory and builds its main package to path.
func build(ctx context.Context, c comparator, path string) error {
	tmp, err := os.MkdirTemp("", "benchcompare-"+c.Name+"-")
	if err != nil {
		return fmt.Errorf("benchcompare: %w", err)
	}
	defer os.RemoveAll(tmp)
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", c.Module+"@"+c.Version)
	dl.Dir, dl.Env = tmp, goEnv()
	var out, errOut bytes.Buffer
	dl.Stdout, dl.Stderr = &out, &errOut
	dlErr := dl.Run()
	dir, err := moduleDir(out.Bytes())
	if err != nil {
		return fmt.Errorf("benchcompare: go mod download %s@%s: %w (%v: %s)", c.Module, c.Version, err, dlErr, errOut.String())
	}
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(dir)); err != nil {
		return fmt.Errorf("benchcompare: copying %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("benchcompare: %w", err)
	}
	abs, err := filepath.Abs(path + ".tmp")
	if err != nil {
		return fmt.Errorf("benchcompare: %w", err)
	}
	b := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", abs, c.Pkg)
	b.Dir, b.Env = src, goEnv()
	if out, err := b.CombinedOutput(); err != nil {
		return fmt.Errorf("benchcompare: building %s: %w\n%s", c.Name, err, out)
	}
	if err := os.Rename(abs, path); err != nil {
		return fmt.Errorf("benchcompare: %w", err)
	}
	return nil
}

// errDownload reports a `go mod download -json` answer without a module
// directory.
var errDownload = errors.New("module not downloaded")

// moduleDir reads the directory of the module from `go mod download
// -json` output, or the error it reports.
func moduleDir(out []byte) (string, error) {
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("%w: %w", errDownload, err)
	}
	if m.Error != "" {
		return "", fmt.Errorf("%w: %s", errDownload, m.Error)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("%w: no directory in the answer", errDownload)
	}
	return m.Dir, nil
}
