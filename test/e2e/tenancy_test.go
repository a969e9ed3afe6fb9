package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/test/harness"
)

// ctl runs cairnctl against the cluster and returns its stdout; it fails
// the test unless the command succeeds.
func ctl(t *testing.T, c *harness.Cluster, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(cairnctlBin, append(c.CtlArgs(), args...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("cairnctl %v: %v\n%s", args, err, msg)
	}
	return out
}

// ctlFails runs cairnctl expecting a non-zero exit and returns stderr.
func ctlFails(t *testing.T, c *harness.Cluster, args ...string) string {
	t.Helper()
	cmd := exec.Command(cairnctlBin, append(append(c.CtlArgs(), "--timeout", "5s"), args...)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("cairnctl %v succeeded:\n%s", args, out)
	}
	return string(out)
}

type ctlKey struct {
	AccessKeyID string `json:"access_key_id"`
	Secret      string `json:"secret_key"`
	Namespace   string `json:"namespace"`
	User        string `json:"user"`
	Active      bool   `json:"active"`
}

func listKeys(t *testing.T, cl *s3.Client, bucket string) []string {
	t.Helper()
	out, err := cl.ListObjectsV2(ctxT(t, 30*time.Second), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// waitRefused polls with cl until requests get 403 InvalidAccessKeyId, and
// fails if that takes 5 s or more.
func waitRefused(t *testing.T, cl *s3.Client) {
	t.Helper()
	start := time.Now()
	for {
		_, err := cl.ListBuckets(ctxT(t, 10*time.Second), &s3.ListBucketsInput{})
		if code, status := apiCode(err); code == "InvalidAccessKeyId" && status == 403 {
			t.Logf("key refused after %s", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) >= 5*time.Second {
			t.Fatalf("key still accepted (last: %v) %s after removal", err, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTenancy: namespaces, users and keys made with cairnctl; each key acts
// in its own namespace; deleted and deactivated keys stop working within
// 5 s; the static operator key keeps working.
func TestTenancy(t *testing.T) {
	c := startCluster(t, harness.Options{})

	ctl(t, c, "namespace", "create", "tenant-a")
	ctl(t, c, "namespace", "create", "tenant-b")
	if msg := ctlFails(t, c, "namespace", "create", "tenant-a"); !strings.Contains(msg, "already exists") {
		t.Fatalf("duplicate namespace: %s", msg)
	}
	if msg := ctlFails(t, c, "user", "create", "-n", "nope", "alice"); !strings.Contains(msg, "namespace not found") {
		t.Fatalf("user in missing namespace: %s", msg)
	}
	ctl(t, c, "user", "create", "-n", "tenant-a", "alice")
	ctl(t, c, "user", "create", "-n", "tenant-b", "bob")
	// Users can do nothing until a policy allows it.
	grantAll(t, c, "tenant-a", "alice")
	grantAll(t, c, "tenant-b", "bob")

	var nss []struct{ Name string }
	if err := json.Unmarshal(ctl(t, c, "namespace", "list", "-o", "json"), &nss); err != nil || len(nss) != 2 {
		t.Fatalf("namespace list: %v %v", nss, err)
	}
	mkKey := func(ns, user string) ctlKey {
		var k ctlKey
		if err := json.Unmarshal(ctl(t, c, "key", "create", "-n", ns, "-u", user, "-o", "json"), &k); err != nil {
			t.Fatal(err)
		}
		if k.AccessKeyID == "" || k.Secret == "" || !k.Active {
			t.Fatalf("created key %+v", k)
		}
		return k
	}
	ka, kb, ka2 := mkKey("tenant-a", "alice"), mkKey("tenant-b", "bob"), mkKey("tenant-a", "alice")
	table := string(ctl(t, c, "key", "list", "-n", "tenant-a"))
	if !strings.Contains(table, ka.AccessKeyID) || !strings.Contains(table, ka2.AccessKeyID) || strings.Contains(table, ka.Secret) {
		t.Fatalf("key list of tenant-a:\n%s", table)
	}

	a, b := s3Client(c, ka.AccessKeyID, ka.Secret), s3Client(c, kb.AccessKeyID, kb.Secret)
	mustCreateBucket(t, a, "reports")
	mustCreateBucket(t, b, "reports")
	mustPut(t, a, "reports", "a-only", []byte("from a"))
	mustPut(t, b, "reports", "b-only", []byte("from b"))
	if got := listKeys(t, a, "reports"); len(got) != 1 || got[0] != "a-only" {
		t.Fatalf("tenant-a sees %v", got)
	}
	if got := listKeys(t, b, "reports"); len(got) != 1 || got[0] != "b-only" {
		t.Fatalf("tenant-b sees %v", got)
	}
	_, err := get(ctxT(t, 30*time.Second), a, "reports", "b-only", "")
	wantAPIError(t, err, "NoSuchKey", 404)
	mustGetEqual(t, b, "reports", "b-only", []byte("from b"))

	// The operator's static key acts in the gateway's namespace: neither
	// tenant's bucket is there.
	op := client(c)
	_, err = op.HeadBucket(ctxT(t, 30*time.Second), &s3.HeadBucketInput{Bucket: aws.String("reports")})
	wantAPIError(t, err, "", 404)
	mustCreateBucket(t, op, "operator")

	ctl(t, c, "key", "delete", ka.AccessKeyID)
	waitRefused(t, a)
	ctl(t, c, "key", "deactivate", kb.AccessKeyID)
	waitRefused(t, b)
	var keys []ctlKey
	if err := json.Unmarshal(ctl(t, c, "key", "list", "-n", "tenant-b", "-o", "json"), &keys); err != nil || len(keys) != 1 || keys[0].Active || keys[0].Secret != "" {
		t.Fatalf("tenant-b keys after deactivate: %+v %v", keys, err)
	}
	if msg := ctlFails(t, c, "key", "delete", ka.AccessKeyID); !strings.Contains(msg, "access key not found") {
		t.Fatalf("deleting a deleted key: %s", msg)
	}

	// A user's other key still works, until its user is deleted.
	a2 := s3Client(c, ka2.AccessKeyID, ka2.Secret)
	mustGetEqual(t, a2, "reports", "a-only", []byte("from a"))
	ctl(t, c, "user", "delete", "-n", "tenant-a", "alice")
	waitRefused(t, a2)

	if _, err := op.HeadBucket(ctxT(t, 30*time.Second), &s3.HeadBucketInput{Bucket: aws.String("operator")}); err != nil {
		t.Fatalf("operator key: %v", err)
	}
}
