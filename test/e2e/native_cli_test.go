package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// ociCLI runs the OCI CLI that `make ocienv` installs against one
// gateway, with a config file and key of its own in a temporary
// directory (never the caller's ~/.oci) and nothing from the caller's
// environment.
type ociCLI struct {
	bin, config, endpoint string
	env                   []string
}

// newOCICLI writes k's identity into a CLI config file under a temporary
// directory and returns the CLI pointed at c's gateway.
func newOCICLI(t *testing.T, c *harness.Cluster, k *ociKey) *ociCLI {
	t.Helper()
	bin := requireInstalled(t, "OCI CLI", "ocienv", binPath("ocienv", "bin", "oci"))
	dir := t.TempDir()
	key, err := os.ReadFile(k.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, config := filepath.Join(dir, "key.pem"), filepath.Join(dir, "config")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	profile := fmt.Sprintf("[cairn]\ntenancy=%s\nuser=%s\nfingerprint=%s\nkey_file=%s\nregion=us-ashburn-1\n",
		k.TenancyOCID, k.UserOCID, k.Fingerprint, keyFile)
	if err := os.WriteFile(config, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	// The CLI reads no rc file, asks nothing and leaves no state in HOME.
	env := cleanEnv(t, "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING=True", "SUPPRESS_LABEL_WARNING=True",
		"OCI_CLI_RC_FILE="+filepath.Join(dir, "no-rc"), "PYTHONWARNINGS=ignore")
	return &ociCLI{bin: bin, config: config, endpoint: c.Endpoint, env: env}
}

// run runs `oci` with args and the gateway, config and profile flags,
// and returns what it printed.
func (o *ociCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	all := append([]string{"--config-file", o.config, "--profile", "cairn", "--endpoint", o.endpoint,
		"--no-retry", "--output", "json"}, args...)
	return runClient(t, 60*time.Second, "", o.env, o.bin, all...)
}

// testOCICLI drives the OCI CLI through the native API: put, get, copy
// and list one object, bulk-upload a tree whose largest file goes in parts,
// bulk-download it again, and a PAR the CLI creates, used with curl.
func testOCICLI(t *testing.T, c *harness.Cluster, k *ociKey) {
	cli := newOCICLI(t, c, k)
	const bucket = "cli-bucket"
	cli.run(t, "os", "bucket", "create", "--name", bucket, "--compartment-id", k.TenancyOCID)

	work := t.TempDir()
	small := filepath.Join(work, "small.txt")
	if err := os.WriteFile(small, []byte("hello from the OCI CLI\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.run(t, "os", "object", "put", "-bn", bucket, "--file", small, "--name", "one/small.txt",
		"--metadata", `{"origin":"cli"}`, "--content-type", "text/plain")
	got := filepath.Join(work, "got.txt")
	cli.run(t, "os", "object", "get", "-bn", bucket, "--name", "one/small.txt", "--file", got)
	sameFile(t, small, got)
	var head map[string]any
	if err := json.Unmarshal([]byte(cli.run(t, "os", "object", "head", "-bn", bucket, "--name", "one/small.txt")), &head); err != nil {
		t.Fatal(err)
	}
	if head["opc-meta-origin"] != "cli" || head["content-type"] != "text/plain" {
		t.Errorf("head after put: %v", head)
	}

	// CopyObject: the CLI waits on the work request until it is over.
	var copied struct {
		Data struct {
			Status        string `json:"status"`
			OperationType string `json:"operation-type"`
		} `json:"data"`
	}
	out := cli.run(t, "os", "object", "copy", "-bn", bucket, "--source-object-name", "one/small.txt",
		"--destination-bucket", bucket, "--destination-object-name", "one/copy.txt", "--destination-region", c.Region,
		"--wait-for-state", "COMPLETED", "--wait-for-state", "FAILED", "--wait-interval-seconds", "1")
	if err := json.Unmarshal([]byte(out), &copied); err != nil || copied.Data.Status != "COMPLETED" || copied.Data.OperationType != "COPY_OBJECT" {
		t.Fatalf("object copy printed %q (%v)", out, err)
	}
	cli.run(t, "os", "object", "get", "-bn", bucket, "--name", "one/copy.txt", "--file", got)
	sameFile(t, small, got)

	// A tree: a file the CLI sends in 5 MiB parts (it goes multipart for a
	// file larger than --part-size; bulk-upload has no threshold flag) and
	// small ones.
	src := filepath.Join(work, "src")
	tree := map[string][]byte{
		"big.bin":         randomBytes(t, 12<<20+12345),
		"a.txt":           []byte("a"),
		"sub/b.txt":       []byte("bee"),
		"sub/deep/c.json": []byte(`{"c":3}`),
	}
	for name, data := range tree {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var up struct {
		UploadedObjects map[string]any `json:"uploaded-objects"`
		SkippedObjects  []any          `json:"skipped-objects"`
		UploadFailures  map[string]any `json:"upload-failures"`
	}
	out = cli.run(t, "os", "object", "bulk-upload", "-bn", bucket, "--src-dir", src, "--prefix", "tree/",
		"--part-size", "5", "--parallel-upload-count", "2")
	if err := json.Unmarshal([]byte(out), &up); err != nil {
		t.Fatalf("bulk-upload printed %q: %v", out, err)
	}
	if len(up.UploadedObjects) != len(tree) || len(up.UploadFailures) != 0 {
		t.Fatalf("bulk-upload: %s", out)
	}
	var big map[string]any
	if err := json.Unmarshal([]byte(cli.run(t, "os", "object", "head", "-bn", bucket, "--name", "tree/big.bin")), &big); err != nil {
		t.Fatal(err)
	}
	if mp, _ := big["opc-multipart-md5"].(string); !strings.HasSuffix(mp, "-3") {
		t.Errorf("tree/big.bin was not written in 3 parts: %v", big)
	}

	var list struct {
		Data []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(cli.run(t, "os", "object", "list", "-bn", bucket, "--prefix", "tree/", "--all")), &list); err != nil {
		t.Fatal(err)
	}
	listed := map[string]int64{}
	for _, o := range list.Data {
		listed[o.Name] = o.Size
	}
	for name, data := range tree {
		if size, ok := listed["tree/"+name]; !ok || size != int64(len(data)) {
			t.Errorf("list: tree/%s is %d bytes (listed %v), want %d", name, size, ok, len(data))
		}
	}
	if len(listed) != len(tree) {
		t.Errorf("list under tree/: %v", listed)
	}

	dst := filepath.Join(work, "dst")
	cli.run(t, "os", "object", "bulk-download", "-bn", bucket, "--prefix", "tree/", "--download-dir", dst)
	for name := range tree {
		sameFile(t, filepath.Join(src, name), filepath.Join(dst, "tree", name))
	}

	// A PAR made by the CLI, used with no credentials.
	var par struct {
		Data struct {
			AccessURI string `json:"access-uri"`
			FullPath  string `json:"full-path"`
		} `json:"data"`
	}
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	out = cli.run(t, "os", "preauth-request", "create", "-bn", bucket, "--name", "cli-read", "--access-type", "ObjectRead",
		"--object-name", "tree/big.bin", "--time-expires", expires)
	if err := json.Unmarshal([]byte(out), &par); err != nil || !strings.HasPrefix(par.Data.AccessURI, "/p/") {
		t.Fatalf("preauth-request create printed %q (%v)", out, err)
	}
	status, body := curlDo(t, http.MethodGet, c.Endpoint+par.Data.AccessURI, nil)
	if status != 200 || !bytes.Equal(body, tree["big.bin"]) {
		t.Errorf("curl GET through the CLI's PAR: %d, %d bytes (want %d)", status, len(body), len(tree["big.bin"]))
	}
	if status, _ := curlDo(t, http.MethodGet, strings.Replace(c.Endpoint+par.Data.AccessURI, "big.bin", "sub/b.txt", 1), nil); status != 404 {
		t.Errorf("curl GET of another object through the CLI's PAR: %d, want 404", status)
	}
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sameFile fails t unless the files at want and got hold the same bytes.
func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s: %d bytes differ from the %d written", got, len(b), len(a))
	}
}
