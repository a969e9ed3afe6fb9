package e2e

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-store/cairn/test/harness"
)

// kopiaVersion is the Makefile's KOPIA_VERSION: `make kopia` builds
// bin/kopia-<version>.
const kopiaVersion = "v0.22.3"

// TestObjectLockKopia runs Kopia's ransomware-protection workflow, the
// real tool built from its source (make kopia), against a bucket made
// with object lock:
//
//  1. `kopia repository create s3 --retention-mode COMPLIANCE
//     --retention-period 24h`, then `kopia repository validate-provider`,
//     Kopia's own check of an S3 provider's semantics;
//  2. a snapshot of a directory (a 3 MiB file and a small one); its
//     content blobs carry a COMPLIANCE retention a day ahead;
//  3. the attack: every object deleted with the repository's key (S3
//     leaves delete markers) and the removal of a retained version by its
//     version ID refused with AccessDenied;
//  4. recovery: `kopia repository connect s3 --point-in-time` at a time
//     before the attack finds the snapshot, and `kopia snapshot restore`
//     gives back identical files.
func TestObjectLockKopia(t *testing.T) {
	kopia := requireInstalled(t, "Kopia "+kopiaVersion, "kopia", binPath("kopia-"+kopiaVersion))
	c := startCluster(t, harness.Options{})
	cl := client(c)
	ctx := ctxT(t, 5*time.Minute)
	const bucket = "kopia-repo"
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"big.bin": pattern(71, 3<<20+4321), "docs/note.txt": []byte("kept by object lock\n")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := cleanEnv(t, "KOPIA_PASSWORD=cairn-kopia-test", "KOPIA_CHECK_FOR_UPDATES=false")
	// run runs kopia and returns its standard output, then its standard
	// error (where it writes its progress and verdicts).
	run := func(config string, args ...string) (string, string) {
		t.Helper()
		args = append([]string{"--config-file=" + filepath.Join(dir, config), "--log-dir=" + filepath.Join(dir, "logs")}, args...)
		cmd := exec.CommandContext(ctx, kopia, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kopia %s: %v\n%s%s", strings.Join(args[2:], " "), err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	s3Args := func(config string, extra ...string) []string {
		return append([]string{"s3", "--cache-directory=" + filepath.Join(dir, "cache-"+config), "--bucket=" + bucket,
			"--endpoint=" + u.Host, "--disable-tls", "--region=" + c.Region,
			"--access-key=" + c.AccessKey, "--secret-access-key=" + c.SecretKey}, extra...)
	}

	run("first.config", append([]string{"repository", "create"},
		s3Args("first", "--retention-mode=COMPLIANCE", "--retention-period=24h")...)...)
	if out, verdict := run("first.config", "repository", "validate-provider", "--concurrency-test-duration=5s"); !strings.Contains(verdict, "All good") {
		t.Fatalf("kopia validate-provider:\n%s%s", out, verdict)
	}
	run("first.config", "snapshot", "create", src)

	// Kopia's content ("p") blobs are under COMPLIANCE retention for a day.
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("p")})
	if err != nil || len(list.Contents) == 0 {
		t.Fatalf("no content blobs: %v %v", list, err)
	}
	for _, o := range list.Contents {
		r, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatalf("retention of %s: %v", *o.Key, err)
		}
		if r.Retention.Mode != types.ObjectLockRetentionModeCompliance || time.Until(*r.Retention.RetainUntilDate) < 23*time.Hour {
			t.Fatalf("retention of %s: %s until %v, want COMPLIANCE a day ahead", *o.Key, r.Retention.Mode, r.Retention.RetainUntilDate)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	beforeAttack := time.Now().UTC().Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)

	// The attack, with the repository's own key.
	all, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all.Contents {
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
			t.Fatalf("delete %s: %v", *o.Key, err)
		}
	}
	if left, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); err != nil || len(left.Contents) != 0 {
		t.Fatalf("after deleting everything: %d objects listed, %v", len(left.Contents), err)
	}
	versions, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("p")})
	if err != nil || len(versions.Versions) == 0 {
		t.Fatalf("content blob versions: %v", err)
	}
	v := versions.Versions[0]
	_, err = cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: v.Key, VersionId: v.VersionId})
	wantAPIError(t, err, "AccessDenied", 403)

	// Recovery from the versions the lock kept.
	run("second.config", append([]string{"repository", "connect"},
		s3Args("second", "--point-in-time="+beforeAttack.Format(time.RFC3339))...)...)
	var snaps []struct {
		ID string `json:"id"`
	}
	list2, _ := run("second.config", "snapshot", "list", "--all", "--json")
	if err := json.Unmarshal([]byte(list2), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots seen at %s: %v %v", beforeAttack, snaps, err)
	}
	restored := filepath.Join(dir, "restored")
	run("second.config", "snapshot", "restore", snaps[0].ID, restored)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(restored, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("restored %s: %d bytes (want %d), %v", name, len(got), len(want), err)
		}
	}
}
