package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-store/cairn/test/harness"
)

// awsCLIs returns the AWS CLIs that `make test` installs: v1 from PyPI
// (bin/awsenv) and v2 from Debian's packages (/usr/bin/aws, `make awscli2`).
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	v1 := filepath.Join(moduleRoot, "bin", "awsenv", "bin", "aws")
	if _, err := os.Stat(v1); err == nil {
		found["v1"] = v1
	}
	if out, err := exec.Command("/usr/bin/aws", "--version").Output(); err == nil && strings.HasPrefix(string(out), "aws-cli/2") {
		found["v2"] = "/usr/bin/aws"
	}
	for _, v := range []string{"v1", "v2"} {
		if found[v] == "" && os.Getenv("CI") != "" {
			t.Fatalf("no AWS CLI %s, though `make test` installs it (make awsenv awscli2)", v)
		}
	}
	return found
}

// TestAWSCLI drives a cluster with the AWS CLI, v1 and v2, as users run
// it: cp both ways (multipart above its 8 MiB threshold), sync,
// ls --recursive, s3api tagging calls and presign.
func TestAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
	for _, v := range []string{"v1", "v2"} {
		t.Run(v, func(t *testing.T) {
			if clis[v] == "" {
				t.Skipf("no AWS CLI %s (outside CI): run `make awsenv awscli2`", v)
			}
			testAWSCLI(t, clis[v])
		})
	}
}

func testAWSCLI(t *testing.T, aws string) {
	c := startCluster(t, harness.Options{Region: "eu-west-1"})
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", c.Endpoint}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.AccessKey, "AWS_SECRET_ACCESS_KEY="+c.SecretKey,
			"AWS_DEFAULT_REGION="+c.Region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"PYTHONWARNINGS=ignore")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	run("s3", "mb", "s3://cli-bucket")

	big := pattern(61, 20<<20+17)
	src := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	run("s3", "cp", src, "s3://cli-bucket/up/big.bin")
	back := filepath.Join(dir, "back.bin")
	run("s3", "cp", "s3://cli-bucket/up/big.bin", back)
	got, err := os.ReadFile(back)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(big) {
		t.Fatalf("cp round trip: %d bytes differ from %d (err %v)", len(got), len(big), err)
	}

	// sync a small tree up, then down into an empty directory.
	tree := filepath.Join(dir, "tree")
	files := map[string][]byte{"a.txt": []byte("alpha"), "sub/b.txt": []byte("bravo"), "sub/deeper/c.bin": pattern(62, 300<<10)}
	for name, body := range files {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("s3", "sync", tree, "s3://cli-bucket/tree")
	down := filepath.Join(dir, "down")
	run("s3", "sync", "s3://cli-bucket/tree", down)
	for name, body := range files {
		b, err := os.ReadFile(filepath.Join(down, name))
		if err != nil || !bytes.Equal(b, body) {
			t.Fatalf("sync down %s: %v", name, err)
		}
	}
	// A second sync up has nothing to do.
	if out := run("s3", "sync", tree, "s3://cli-bucket/tree"); strings.TrimSpace(out) != "" {
		t.Fatalf("second sync copied again:\n%s", out)
	}

	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(run("s3", "ls", "--recursive", "s3://cli-bucket")), "\n") {
		f := strings.Fields(line)
		listed = append(listed, f[len(f)-1])
	}
	sort.Strings(listed)
	if fmt.Sprint(listed) != "[tree/a.txt tree/sub/b.txt tree/sub/deeper/c.bin up/big.bin]" {
		t.Fatalf("ls --recursive: %v", listed)
	}

	run("s3api", "put-object-tagging", "--bucket", "cli-bucket", "--key", "tree/a.txt",
		"--tagging", `{"TagSet":[{"Key":"team","Value":"storage"},{"Key":"tier","Value":"hot"}]}`)
	tags := run("s3api", "get-object-tagging", "--bucket", "cli-bucket", "--key", "tree/a.txt")
	if !strings.Contains(tags, `"storage"`) || !strings.Contains(tags, `"tier"`) {
		t.Fatalf("get-object-tagging: %s", tags)
	}

	url := strings.TrimSpace(run("s3", "presign", "s3://cli-bucket/tree/a.txt", "--expires-in", "600"))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "alpha" {
		t.Fatalf("presigned URL %s: %d %q", url, resp.StatusCode, body)
	}
}
