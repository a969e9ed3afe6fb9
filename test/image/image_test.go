package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// moduleRoot is the directory of the go.mod this test belongs to.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func run(t *testing.T, ctx context.Context, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestImageIsReproducibleAndRuns builds the image twice from this commit
// and checks that both builds are byte-identical, then looks inside.
func TestImageIsReproducibleAndRuns(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the image builder needs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	tmp := t.TempDir()
	builder := filepath.Join(tmp, "image-builder")
	run(t, ctx, root, "go", "build", "-o", builder, "./deploy/image")

	var digests [2]string
	var tars [2][]byte
	for i := range 2 {
		out := filepath.Join(tmp, "run"+string(rune('a'+i)), "cairn-image.tar")
		args := []string{"-C", root, "-out", out}
		if i == 1 {
			args = append(args, "-oci", filepath.Join(tmp, "oci"))
		}
		fields := strings.Fields(run(t, ctx, root, builder, args...))
		if len(fields) != 3 || !strings.HasPrefix(fields[2], "sha256:") {
			t.Fatalf("builder printed %q, want <file> <tag> <digest>", fields)
		}
		digests[i] = fields[2]
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		tars[i] = b
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of one commit gave digests %s and %s", digests[0], digests[1])
	}
	if !bytes.Equal(tars[0], tars[1]) {
		t.Fatal("two builds of one commit gave different tarballs")
	}

	revision := run(t, ctx, root, "git", "rev-parse", "HEAD")
	commitTime := run(t, ctx, root, "git", "log", "-1", "--format=%ct", "HEAD")

	// The OCI layout keeps the manifest, so its digest is the builder's;
	// a docker-archive keeps the config, so its image ID is the layout's.
	img := checkOCILayout(t, filepath.Join(tmp, "oci"), digests[0])
	archived, err := tarball.ImageFromPath(filepath.Join(tmp, "runa", "cairn-image.tar"), nil)
	if err != nil {
		t.Fatalf("the docker-archive does not load: %v", err)
	}
	want, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := archived.ConfigName(); err != nil || got != want {
		t.Fatalf("docker-archive image ID %v (%v), OCI layout's %v", got, err, want)
	}
	checkConfig(t, archived, revision, commitTime)
	bin := extract(t, archived, filepath.Join(tmp, "rootfs"))

	out := run(t, ctx, tmp, bin, "version")
	if !strings.Contains(out, "revision "+revision) {
		t.Fatalf("cairn version from the image says %q, want revision %s", out, revision)
	}
}

func checkConfig(t *testing.T, img v1.Image, revision, commitTime string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532 (non-root)", cf.Config.User)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/cairn" {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
	if got := cf.Config.Labels["org.opencontainers.image.revision"]; got != revision {
		t.Errorf("revision label %q, want %s", got, revision)
	}
	for _, l := range []string{"version", "source", "created"} {
		if cf.Config.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("label org.opencontainers.image.%s is missing", l)
		}
	}
	want, err := strconv.ParseInt(commitTime, 10, 64)
	if err != nil {
		t.Fatalf("commit time %q: %v", commitTime, err)
	}
	if got := cf.Created.Unix(); got != want {
		t.Errorf("config created %v, want the commit time %s", cf.Created, commitTime)
	}
	if cf.OS != "linux" {
		t.Errorf("os %q", cf.OS)
	}
}

func checkOCILayout(t *testing.T, dir, digest string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != digest {
		t.Fatalf("OCI layout index lists %v, want the one image %s", m.Manifests, digest)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := img.Digest(); err != nil || d.String() != digest {
		t.Fatalf("OCI layout image digest %v (%v), want %s", d, err, digest)
	}
	return img
}

// extract unpacks the image's file system into dir, checks what is (and
// is not) in it, and returns the path of the extracted cairn binary.
func extract(t *testing.T, img v1.Image, dir string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("image has %d layers (%v), want 1", len(layers), err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]int{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "/")
		seen[strings.TrimSuffix(name, "/")] = h.Uid
		p := filepath.Join(dir, name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"usr/local/bin/cairn", "usr/local/bin/cairnctl", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group"} {
		if uid, ok := seen[want]; !ok || uid != 0 {
			t.Errorf("%s: in image %v, owner %d; want present and root-owned", want, ok, uid)
		}
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, ok := seen[shell]; ok {
			t.Errorf("the image has a shell: %s", shell)
		}
	}
	passwd, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if err != nil || !strings.Contains(string(passwd), ":65532:65532:") {
		t.Errorf("etc/passwd lacks the uid 65532 user: %q (%v)", passwd, err)
	}
	return filepath.Join(dir, "usr/local/bin/cairn")
}
