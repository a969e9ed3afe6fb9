package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageUID is the user (and group) the image runs as: not root, and the
// ID distroless images use, so volume permissions carry over.
const imageUID = 65532

// options are the builder's flags.
type options struct {
	repoDir  string // the module root to build from
	out      string // docker-archive tarball
	ociDir   string // OCI image layout directory (empty: none)
	repo     string // image name the tarball is tagged with
	source   string // org.opencontainers.image.source
	arch     string // GOARCH of the binaries and the image
	caBundle string // CA certificates copied into the image
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o options
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&o.repoDir, "C", ".", "the Cairn module root to build from")
	fs.StringVar(&o.out, "out", "bin/cairn-image.tar", "docker-archive tarball to write")
	fs.StringVar(&o.ociDir, "oci", "", "also write an OCI image layout to this directory (replaced)")
	fs.StringVar(&o.repo, "repo", "cairn", "image name; the tag is the version")
	fs.StringVar(&o.source, "source", "https://github.com/cairn-store/cairn", "source repository label")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH of the image")
	fs.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to put in the image")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	d, tag, err := build(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s %s\n", o.out, tag, d)
}

// commit is what the image is built from.
type commit struct {
	revision string    // full commit hash
	version  string    // git describe, -dirty when the tree has changes
	time     time.Time // commit time: SOURCE_DATE_EPOCH, every timestamp
}

func gitCommit(ctx context.Context, dir string) (commit, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var c commit
	var err error
	if c.revision, err = git("rev-parse", "HEAD"); err != nil {
		return c, err
	}
	if c.version, err = git("describe", "--tags", "--always", "--dirty"); err != nil {
		return c, err
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return c, err
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return c, fmt.Errorf("commit time %q: %w", ct, err)
	}
	c.time = time.Unix(sec, 0).UTC()
	return c, nil
}

// goBuild builds a static binary of pkg into out, reproducibly.
func goBuild(ctx context.Context, o options, c commit, pkg, out string) error {
	ldflags := strings.Join([]string{"-s", "-w", "-buildid=",
		"-X", "main.linkedVersion=" + c.version,
		"-X", "main.linkedRevision=" + c.revision,
		"-X", "main.linkedCommitTime=" + c.time.Format(time.RFC3339)}, " ")
	// -buildvcs=false: the commit goes in through -ldflags, so a clone and
	// a worktree (which Go does not stamp) build the same bytes.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags="+ldflags, "-o", out, pkg)
	cmd.Dir = o.repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch,
		"GOFLAGS=", "SOURCE_DATE_EPOCH="+strconv.FormatInt(c.time.Unix(), 10))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// layerFile is one entry of the image's only layer.
type layerFile struct {
	path string // without a leading slash
	mode int64
	uid  int
	dir  bool
	body []byte
}

// rootfs lists the layer's entries in the order they are written.
func rootfs(cairn, cairnctl, caCerts []byte) []layerFile {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\ncairn:x:%d:%d:cairn:/home/cairn:/sbin/nologin\n", imageUID, imageUID)
	group := fmt.Sprintf("root:x:0:\ncairn:x:%d:\n", imageUID)
	return []layerFile{
		{path: "etc/", mode: 0o755, dir: true},
		{path: "etc/group", mode: 0o644, body: []byte(group)},
		{path: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{path: "etc/ssl/", mode: 0o755, dir: true},
		{path: "etc/ssl/certs/", mode: 0o755, dir: true},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: caCerts},
		{path: "home/", mode: 0o755, dir: true},
		{path: "home/cairn/", mode: 0o700, uid: imageUID, dir: true},
		{path: "tmp/", mode: 0o1777, dir: true},
		{path: "usr/", mode: 0o755, dir: true},
		{path: "usr/local/", mode: 0o755, dir: true},
		{path: "usr/local/bin/", mode: 0o755, dir: true},
		{path: "usr/local/bin/cairn", mode: 0o755, body: cairn},
		{path: "usr/local/bin/cairnctl", mode: 0o755, body: cairnctl},
	}
}

// layerTar writes files as an uncompressed tar with fixed headers.
func layerTar(files []layerFile, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: mtime,
			Typeflag: tar.TypeReg, Size: int64(len(f.body)), Format: tar.FormatPAX,
		}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}

// build makes the image and writes it; it returns the image digest and
// the tag it carries.
func build(ctx context.Context, o options) (v1.Hash, name.Tag, error) {
	var tag name.Tag
	c, err := gitCommit(ctx, o.repoDir)
	if err != nil {
		return v1.Hash{}, tag, err
	}
	tmp, err := os.MkdirTemp("", "cairn-image-")
	if err != nil {
		return v1.Hash{}, tag, err
	}
	defer os.RemoveAll(tmp)
	bins := map[string][]byte{}
	for _, b := range []string{"cairn", "cairnctl"} {
		out := filepath.Join(tmp, b)
		if err := goBuild(ctx, o, c, "./cmd/"+b, out); err != nil {
			return v1.Hash{}, tag, err
		}
		if bins[b], err = os.ReadFile(out); err != nil {
			return v1.Hash{}, tag, err
		}
	}
	ca, err := os.ReadFile(o.caBundle)
	if err != nil {
		return v1.Hash{}, tag, fmt.Errorf("CA bundle: %w", err)
	}
	raw, err := layerTar(rootfs(bins["cairn"], bins["cairnctl"], ca), c.time)
	if err != nil {
		return v1.Hash{}, tag, err
	}
	img, err := assemble(raw, c, o)
	if err != nil {
		return v1.Hash{}, tag, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Hash{}, tag, fmt.Errorf("digest: %w", err)
	}
	if tag, err = name.NewTag(o.repo + ":" + strings.ReplaceAll(c.version, "+", "-")); err != nil {
		return v1.Hash{}, tag, fmt.Errorf("image tag: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return v1.Hash{}, tag, err
	}
	if err := tarball.WriteToFile(o.out, tag, img); err != nil {
		return v1.Hash{}, tag, fmt.Errorf("write %s: %w", o.out, err)
	}
	if o.ociDir != "" {
		if err := os.RemoveAll(o.ociDir); err != nil {
			return v1.Hash{}, tag, err
		}
		p, err := layout.Write(o.ociDir, empty.Index)
		if err != nil {
			return v1.Hash{}, tag, fmt.Errorf("OCI layout %s: %w", o.ociDir, err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": tag.TagStr(),
		})); err != nil {
			return v1.Hash{}, tag, fmt.Errorf("OCI layout %s: %w", o.ociDir, err)
		}
	}
	return d, tag, nil
}

// assemble makes an OCI image of one layer holding raw (a tar).
func assemble(raw []byte, c commit, o options) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	created := v1.Time{Time: c.time}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: created, CreatedBy: "cairn deploy/image: cairn, cairnctl, CA certificates, passwd"}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture = "linux", o.arch
	cf.Author = "Cairn"
	cf.Config = v1.Config{
		User:       strconv.Itoa(imageUID) + ":" + strconv.Itoa(imageUID),
		Entrypoint: []string{"/usr/local/bin/cairn"},
		Env:        []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir: "/home/cairn",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "cairn",
			"org.opencontainers.image.version":  c.version,
			"org.opencontainers.image.revision": c.revision,
			"org.opencontainers.image.source":   o.source,
			"org.opencontainers.image.created":  c.time.Format(time.RFC3339),
		},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return img, nil
}
