package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// requireInstalled returns the absolute path of what, a client or a file
// of one: path is a command looked up in PATH when it has no slash, else a
// file. `make test` installs every client, so in CI its absence fails the
// test; elsewhere the test is skipped with the make target that installs
// it. Call it before starting a cluster.
func requireInstalled(t *testing.T, what, target, path string) string {
	t.Helper()
	var err error
	if strings.ContainsRune(path, filepath.Separator) {
		_, err = os.Stat(path)
	} else {
		path, err = exec.LookPath(path)
	}
	if err == nil {
		path, err = filepath.Abs(path)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no %s (%v), though `make test` installs it (make %s)", what, err, target)
		}
		t.Skipf("no %s (%v) outside CI: run `make %s`", what, err, target)
	}
	return path
}

// binPath is a path under the repository's bin/, where the Makefile puts
// the clients it installs.
func binPath(parts ...string) string {
	return filepath.Join(append([]string{moduleRoot, "bin"}, parts...)...)
}

// cleanEnv is the whole environment a client runs with: a search path, a
// HOME of its own, no AWS_* or proxy variables of the caller (a client that
// reads AWS_CA_BUNDLE or a shared config file would otherwise test the
// caller's machine, not Cairn), and the variables in extra ("NAME=value").
func cleanEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8", "TZ=UTC",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		env = append(env, "JAVA_HOME="+jh)
	}
	return append(env, extra...)
}

// clusterEnv names c's gateway for the client scripts under test/clients:
// EP, AK, SK, REGION, and BUCKET, the bucket the script creates.
func clusterEnv(c *harness.Cluster, bucket string) []string {
	return []string{"EP=" + c.Endpoint, "AK=" + c.AccessKey, "SK=" + c.SecretKey, "REGION=" + c.Region, "BUCKET=" + bucket}
}

// runClient runs a client to completion within limit, in dir when it is not
// empty, with env as its whole environment, and returns its standard
// output. A client that fails fails the test, with all it printed.
func runClient(t *testing.T, limit time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
