package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairn-store/cairn/test/harness"
)

// requireBoto3 returns the python that has boto3. `make test` installs it
// (make pyenv), so in CI its absence fails the test; elsewhere the test
// is skipped with the command that installs it. Call it before starting a
// cluster.
func requireBoto3(t *testing.T) string {
	t.Helper()
	return requirePython(t, "boto3")
}

// requirePython returns the python that can import module (the venv `make
// pyenv` builds, else python3). In CI its absence fails the test;
// elsewhere the test is skipped with the command that installs it.
func requirePython(t *testing.T, module string) string {
	t.Helper()
	if py := pythonWith(module); py != "" {
		return py
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no python with %s: run make pyenv", module)
	}
	t.Skipf("no python with %s: run make pyenv", module)
	return ""
}

// pythonWith returns a python that can import module: the venv `make
// pyenv` builds under bin/, else python3 if it has it, else "".
func pythonWith(module string) string {
	for _, p := range []string{filepath.Join(moduleRoot, "bin", "pyenv", "bin", "python"), "python3"} {
		if exec.Command(p, "-c", "import "+module).Run() == nil {
			return p
		}
	}
	return ""
}

// runBoto3 runs a boto3 script against c's gateway and returns what it
// printed. The script finds the endpoint, credentials and region in EP,
// AK, SK and REGION, and anything else in env ("NAME=value"); no AWS
// configuration file of the machine is read. A script that fails fails
// the test, with its stderr.
func runBoto3(t *testing.T, py string, c *harness.Cluster, script string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "EP="+c.Endpoint, "AK="+c.AccessKey, "SK="+c.SecretKey, "REGION="+c.Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PYTHONWARNINGS=ignore")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	return out
}
