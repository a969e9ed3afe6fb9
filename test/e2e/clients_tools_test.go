package e2e

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// TestClientTools drives one cluster with the command-line S3 clients
// users reach for, each at the version `make clients` installs: rclone and
// s3fs-fuse from Debian, s3cmd from PyPI. Each runs with a configuration
// file the test writes and an environment of its own (cleanEnv), so nothing
// of the caller's — an AWS_CA_BUNDLE, a ~/.s3cfg, an rclone.conf — decides
// whether it works.
func TestClientTools(t *testing.T) {
	rclone := requireInstalled(t, "rclone", "debclients", "rclone")
	s3cmd := requireInstalled(t, "s3cmd", "s3cmdenv", binPath("s3cmdenv", "bin", "s3cmd"))
	s3fs := requireInstalled(t, "s3fs", "debclients", "s3fs")
	c := startCluster(t, harness.Options{Region: sdkRegion})
	t.Run("rclone", func(t *testing.T) { testRclone(t, c, rclone) })
	t.Run("s3cmd", func(t *testing.T) { testS3cmd(t, c, s3cmd) })
	t.Run("s3fs", func(t *testing.T) { testS3fs(t, c, s3fs) })
}

// writeTree writes files (name -> contents) under dir.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree fails the test unless dir holds exactly files.
func sameTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	found := map[string]bool{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		found[name] = true
		want, ok := files[name]
		if !ok {
			return fmt.Errorf("%s: not expected", name)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: %d bytes differ from the %d written", name, len(got), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	for name := range files {
		if !found[name] {
			t.Fatalf("%s: %s missing", dir, name)
		}
	}
}

// lines returns out's non-empty lines, sorted.
func lines(out string) []string {
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	sort.Strings(l)
	return l
}

// testRclone: copy, sync, check and ls of a tree holding a 30 MiB file,
// once with rclone's defaults (single PUTs) and once with multipart uploads;
// a sync that deletes and adds; the tree copied back down byte for byte.
func testRclone(t *testing.T, c *harness.Cluster, rclone string) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "rclone.conf")
	writeTree(t, dir, map[string][]byte{"rclone.conf": []byte(fmt.Sprintf(
		"[cairn]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\nforce_path_style = true\n",
		c.AccessKey, c.SecretKey, c.Endpoint, c.Region))})
	env := cleanEnv(t, "RCLONE_CONFIG="+conf)
	run := func(args ...string) string {
		t.Helper()
		return runClient(t, 3*time.Minute, dir, env, rclone, append([]string{"--config", conf, "--low-level-retries", "1", "--retries", "1"}, args...)...)
	}
	src := filepath.Join(dir, "src")
	files := map[string][]byte{
		"big.bin":            pattern(111, 30<<20),
		"a.txt":              []byte("alpha\n"),
		"docs/b.txt":         []byte("bravo\n"),
		"docs/deeper/c.bin":  pattern(112, 700<<10+3),
		"docs/deeper/empty":  {},
		"with space/ünï.txt": []byte("a key with a space and non-ASCII letters\n"),
	}
	writeTree(t, src, files)

	run("mkdir", "cairn:rclone")
	run("copy", src, "cairn:rclone/copy")
	run("check", src, "cairn:rclone/copy")
	run("sync", "--s3-upload-cutoff", "8M", "--s3-chunk-size", "5M", src, "cairn:rclone/sync")
	run("check", src, "cairn:rclone/sync")
	want := []string{
		fmt.Sprintf("%d big.bin", 30<<20), "6 a.txt", "6 docs/b.txt", fmt.Sprintf("%d docs/deeper/c.bin", 700<<10+3),
		"0 docs/deeper/empty", "41 with space/ünï.txt",
	}
	sort.Strings(want)
	for _, prefix := range []string{"copy", "sync"} {
		if got := lines(run("ls", "cairn:rclone/"+prefix)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rclone ls cairn:rclone/%s:\n%q\nwant\n%q", prefix, got, want)
		}
	}

	// A changed tree: one file gone, one new, one rewritten; sync makes the
	// bucket match it, and check agrees.
	if err := os.Remove(filepath.Join(src, "docs", "b.txt")); err != nil {
		t.Fatal(err)
	}
	delete(files, "docs/b.txt")
	files["new.txt"] = []byte("new\n")
	files["a.txt"] = []byte("alpha, rewritten\n")
	writeTree(t, src, files)
	run("sync", "--s3-upload-cutoff", "8M", "--s3-chunk-size", "5M", src, "cairn:rclone/sync")
	run("check", src, "cairn:rclone/sync")
	if got := lines(run("lsf", "-R", "--files-only", "cairn:rclone/sync")); fmt.Sprint(got) != "[a.txt big.bin docs/deeper/c.bin docs/deeper/empty new.txt with space/ünï.txt]" {
		t.Fatalf("rclone lsf after the second sync: %q", got)
	}

	// Down again, into an empty directory, byte for byte; check --download
	// compares contents, not hashes.
	down := filepath.Join(dir, "down")
	run("copy", "cairn:rclone/sync", down)
	sameTree(t, down, files)
	run("check", "--download", src, "cairn:rclone/sync")
	run("purge", "cairn:rclone")
	if out := run("lsd", "cairn:"); strings.Contains(out, " rclone\n") {
		t.Fatalf("bucket rclone still listed after purge:\n%s", out)
	}
}

// testS3cmd: mb, put (single and multipart), get, sync both ways, info of a
// bucket and of an object, ls, del and rb.
func testS3cmd(t *testing.T, c *harness.Cluster, s3cmd string) {
	dir := t.TempDir()
	host := strings.TrimPrefix(c.Endpoint, "http://")
	conf := filepath.Join(dir, "s3cfg")
	writeTree(t, dir, map[string][]byte{"s3cfg": []byte(fmt.Sprintf(
		"[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nbucket_location = %s\nuse_https = False\nsignature_v2 = False\n",
		c.AccessKey, c.SecretKey, host, host, c.Region))})
	env := cleanEnv(t)
	run := func(args ...string) string {
		t.Helper()
		return runClient(t, 3*time.Minute, dir, env, s3cmd, append([]string{"-c", conf, "--no-progress"}, args...)...)
	}
	run("mb", "s3://s3cmd")
	small := filepath.Join(dir, "small.txt")
	big := filepath.Join(dir, "big.bin")
	writeTree(t, dir, map[string][]byte{"small.txt": []byte("small\n"), "big.bin": pattern(121, 20<<20+9)})
	run("put", small, "s3://s3cmd/small.txt")
	run("put", "--multipart-chunk-size-mb=5", big, "s3://s3cmd/big.bin")
	for _, name := range []string{"small.txt", "big.bin"} {
		back := filepath.Join(dir, "back-"+name)
		run("get", "s3://s3cmd/"+name, back)
		want, _ := os.ReadFile(filepath.Join(dir, name))
		if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("s3cmd get %s: %d bytes differ from the %d put (err %v)", name, len(got), len(want), err)
		}
	}

	tree := filepath.Join(dir, "tree")
	files := map[string][]byte{"a.txt": []byte("alpha"), "sub/b.txt": []byte("bravo"), "sub/deeper/c.bin": pattern(122, 300<<10)}
	writeTree(t, tree, files)
	run("sync", tree+"/", "s3://s3cmd/tree/")
	down := filepath.Join(dir, "down")
	run("sync", "s3://s3cmd/tree/", down+"/")
	sameTree(t, down, files)
	// Nothing changed: a second sync uploads nothing.
	if out := run("sync", tree+"/", "s3://s3cmd/tree/"); strings.Contains(out, "upload:") {
		t.Fatalf("second s3cmd sync uploaded again:\n%s", out)
	}

	// info reads the bucket's location, versioning, ownership controls and
	// ACL, which Cairn serves, and its request-payment, public-access-block,
	// lifecycle, policy and CORS settings; s3cmd shows "none" for those it
	// gets a NoSuch... error or a 501 for, and still exits 0.
	info := run("info", "s3://s3cmd")
	t.Logf("s3cmd info s3://s3cmd:\n%s", info)
	for _, want := range []string{"s3://s3cmd/ (bucket):", "Location:  " + c.Region, "Ownership: BucketOwnerEnforced",
		"Versioning:none", "Policy:    none", "CORS:      none", ": FULL_CONTROL"} {
		if !strings.Contains(info, want) {
			t.Fatalf("s3cmd info s3://s3cmd lacks %q:\n%s", want, info)
		}
	}
	info = run("info", "s3://s3cmd/big.bin")
	t.Logf("s3cmd info s3://s3cmd/big.bin:\n%s", info)
	for _, want := range []string{"s3://s3cmd/big.bin (object):", fmt.Sprintf("File size: %d", 20<<20+9),
		fmt.Sprintf("MD5 sum:   %x", md5.Sum(pattern(121, 20<<20+9))), ": FULL_CONTROL"} {
		if !strings.Contains(info, want) {
			t.Fatalf("s3cmd info s3://s3cmd/big.bin lacks %q:\n%s", want, info)
		}
	}

	if got := lines(run("ls", "--recursive", "s3://s3cmd")); len(got) != 5 {
		t.Fatalf("s3cmd ls --recursive: %d objects, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
	run("del", "s3://s3cmd/small.txt")
	run("del", "--recursive", "--force", "s3://s3cmd/tree/")
	if got := lines(run("ls", "--recursive", "s3://s3cmd")); len(got) != 1 || !strings.HasSuffix(got[0], "s3://s3cmd/big.bin") {
		t.Fatalf("s3cmd ls after del: %q", got)
	}
	run("del", "s3://s3cmd/big.bin")
	run("rb", "s3://s3cmd")
}

// fuseUnavailable says why this process cannot mount a FUSE file system,
// or "" when it can try.
func fuseUnavailable() string {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Sprintf("FUSE is not available: %v", err)
	}
	f.Close()
	if _, err := exec.LookPath("fusermount"); err != nil && os.Geteuid() != 0 {
		return "FUSE mounts need root or fusermount, and this test runs as neither"
	}
	return ""
}

// testS3fs: a bucket mounted with s3fs, written, read, renamed and listed
// through the file system, and what it wrote seen through S3.
func testS3fs(t *testing.T, c *harness.Cluster, s3fs string) {
	if why := fuseUnavailable(); why != "" {
		// A machine without FUSE (no /dev/fuse, or no right to mount)
		// cannot run s3fs at all; the reason is the device's own error.
		t.Skipf("s3fs needs FUSE, which this machine lacks: %s", why)
	}
	cl := client(c)
	mustCreateBucket(t, cl, "s3fs")
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(c.AccessKey+":"+c.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(s3fs, "s3fs", mnt, "-f", "-o", "url="+c.Endpoint, "-o", "use_path_request_style",
		"-o", "endpoint="+c.Region, "-o", "passwd_file="+passwd, "-o", "sigv4", "-o", "dbglevel=warn",
		"-o", "stat_cache_expire=1", "-o", "enable_noobj_cache")
	cmd.Env = cleanEnv(t)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	unmount := func() {
		_ = exec.Command("fusermount", "-u", mnt).Run()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	mounted := false
	t.Cleanup(func() {
		if mounted {
			unmount()
		} else {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !isMountPoint(mnt) {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("s3fs did not mount %s within 30s:\n%s", mnt, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	mounted = true

	big := pattern(131, 12<<20+5)
	writeTree(t, mnt, map[string][]byte{"hello.txt": []byte("hello through fuse\n"), "dir/big.bin": big})
	sameTree(t, mnt, map[string][]byte{"hello.txt": []byte("hello through fuse\n"), "dir/big.bin": big})
	mustGetEqual(t, cl, "s3fs", "hello.txt", []byte("hello through fuse\n"))
	mustGetEqual(t, cl, "s3fs", "dir/big.bin", big)

	// An object written through S3 shows up in the file system.
	mustPut(t, cl, "s3fs", "dir/from-s3.txt", []byte("written with S3\n"))
	got, err := os.ReadFile(filepath.Join(mnt, "dir", "from-s3.txt"))
	if err != nil || string(got) != "written with S3\n" {
		t.Fatalf("read through fuse of an object put with S3: %q, %v\n%s", got, err, logs.String())
	}

	// rename(2) of a file: s3fs copies and deletes.
	if err := os.Rename(filepath.Join(mnt, "dir", "big.bin"), filepath.Join(mnt, "dir", "renamed.bin")); err != nil {
		t.Fatalf("rename: %v\n%s", err, logs.String())
	}
	mustGetEqual(t, cl, "s3fs", "dir/renamed.bin", big)
	if _, err := get(ctxT(t, time.Minute), cl, "s3fs", "dir/big.bin", ""); err == nil {
		t.Fatal("dir/big.bin still readable through S3 after the rename")
	}
	sameTree(t, mnt, map[string][]byte{"hello.txt": []byte("hello through fuse\n"), "dir/renamed.bin": big, "dir/from-s3.txt": []byte("written with S3\n")})

	if err := os.Remove(filepath.Join(mnt, "hello.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctxT(t, time.Minute), cl, "s3fs", "hello.txt", ""); err == nil {
		t.Fatal("hello.txt still readable through S3 after unlink")
	}
	unmount()
	mounted = false
	if isMountPoint(mnt) {
		t.Fatalf("%s still mounted after fusermount -u", mnt)
	}
}

// isMountPoint reports whether dir is in /proc/self/mounts.
func isMountPoint(dir string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == dir {
			return true
		}
	}
	return false
}
