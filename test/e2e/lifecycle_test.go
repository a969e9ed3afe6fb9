package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/cairn-store/cairn/test/harness"
)

// lifecycleDay is the lifecycle day the cluster runs with: "Days: 1"
// comes due within two to four seconds.
const lifecycleDay = 2 * time.Second

// TestLifecycle: bucket lifecycle rules, carried out by the meta leader's
// job on one cluster whose lifecycle day is two seconds.
func TestLifecycle(t *testing.T) {
	day := lifecycleDay.String()
	c := startCluster(t, harness.Options{
		ExtraMeta: []string{"--lifecycle-day", day, "--gc-grace", "1s"},
		ExtraGW:   []string{"--lifecycle-day", day},
	})
	cl := client(c)

	t.Run("ConfigurationAndErrors", func(t *testing.T) { lifecycleConfiguration(t, cl) })
	t.Run("ExpirePrefix", func(t *testing.T) { lifecycleExpirePrefix(t, cl) })
	t.Run("NoncurrentKeepsNewest", func(t *testing.T) { lifecycleNoncurrent(t, cl) })
	t.Run("AbortUploadFreesSpace", func(t *testing.T) { lifecycleAbortUpload(t, c, cl) })
	t.Run("ComplianceSurvives", func(t *testing.T) { lifecycleLocked(t, cl) })
	t.Run("StatusShowsProgress", func(t *testing.T) { lifecycleStatus(t, c) })
}

// lifecycleStatus: cairnctl status shows the job and its account of the
// work the subtests above made it do.
func lifecycleStatus(t *testing.T, c *harness.Cluster) {
	out, err := exec.Command(cairnctlBin, append(c.CtlArgs(), "status")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	line := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "lifecycle: ") {
			line = l
		}
	}
	var scanned, expired, noncurrent, markers, uploads, locked int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "lifecycle: %d index entries examined; %d expired, %d noncurrent removed, %d delete markers removed, %d uploads aborted; %d refused by object lock",
		&scanned, &expired, &noncurrent, &markers, &uploads, &locked); err != nil {
		t.Fatalf("no lifecycle progress in cairnctl status (%v):\n%s", err, out)
	}
	// logs/ (3) and the locked bucket's two keys expired; 3 + 1 noncurrent
	// versions removed; one upload aborted; the COMPLIANCE version refused
	// (once a round: its key is looked at again while it stays).
	if expired != 5 || noncurrent != 4 || uploads != 1 || locked < 1 || scanned < expired {
		t.Fatalf("lifecycle progress %q", line)
	}
}

// lcCode is the S3 error code of err.
func lcCode(err error) string {
	code, _ := apiCode(err)
	return code
}

func putLifecycle(t *testing.T, cl *s3.Client, bucket string, rules ...types.LifecycleRule) {
	t.Helper()
	_, err := cl.PutBucketLifecycleConfiguration(ctxT(t, 30*time.Second), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(bucket), LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}})
	if err != nil {
		t.Fatalf("put lifecycle of %s: %v", bucket, err)
	}
}

// waitFor polls cond every 250ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, within, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func lifecycleConfiguration(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	const b = "lc-config"
	mustCreateBucket(t, cl, b)
	if _, err := cl.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)}); lcCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("lifecycle of a bucket without one: %v, want NoSuchLifecycleConfiguration", err)
	}
	put := func(rules ...types.LifecycleRule) error {
		_, err := cl.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
			Bucket: aws.String(b), LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}})
		return err
	}
	for _, c := range []struct {
		name string
		rule types.LifecycleRule
		code string
	}{
		{"no action", types.LifecycleRule{ID: aws.String("r"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("x/")}}, "InvalidRequest"},
		{"zero days", types.LifecycleRule{ID: aws.String("r"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("x/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(0)}}, "InvalidArgument"},
		{"transition", types.LifecycleRule{ID: aws.String("r"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("x/")},
			Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassGlacier}}}, "NotImplemented"},
		{"sizes reversed", types.LifecycleRule{ID: aws.String("r"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{ObjectSizeGreaterThan: aws.Int64(10), ObjectSizeLessThan: aws.Int64(5)}},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}, "InvalidArgument"},
	} {
		if err := put(c.rule); lcCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	rule := types.LifecycleRule{ID: aws.String("tagged"), Status: types.ExpirationStatusEnabled,
		Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("p/"),
			Tags: []types.Tag{{Key: aws.String("class"), Value: aws.String("tmp")}}, ObjectSizeGreaterThan: aws.Int64(1)}},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)}}
	if err := put(rule); err != nil {
		t.Fatal(err)
	}
	got, err := cl.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)})
	if err != nil || len(got.Rules) != 1 || aws.ToString(got.Rules[0].ID) != "tagged" || got.Rules[0].Filter == nil || got.Rules[0].Filter.And == nil ||
		aws.ToString(got.Rules[0].Filter.And.Prefix) != "p/" || len(got.Rules[0].Filter.And.Tags) != 1 || aws.ToInt32(got.Rules[0].Expiration.Days) != 30 {
		t.Fatalf("lifecycle read back: %+v %v", got, err)
	}
	if _, err := cl.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)}); lcCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("lifecycle after delete: %v", err)
	}
}

func lifecycleExpirePrefix(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	const b = "lc-expire"
	mustCreateBucket(t, cl, b)
	putLifecycle(t, cl, b, types.LifecycleRule{ID: aws.String("logs-1d"), Status: types.ExpirationStatusEnabled,
		Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}})
	doomed := []string{"logs/a", "logs/b/c", "logs/d"}
	kept := []string{"data/x", "log", "logsx/y"}
	for i, k := range append(append([]string{}, doomed...), kept...) {
		out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(fmt.Sprint("body ", i))})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(k, "logs/") != (aws.ToString(out.Expiration) != "") {
			t.Fatalf("PUT %s: x-amz-expiration %q", k, aws.ToString(out.Expiration))
		}
	}
	// x-amz-expiration: the first midnight of a lifecycle day after the
	// object's time plus one day, and the rule's ID.
	for _, k := range doomed {
		h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		modified := aws.ToTime(h.LastModified).Unix() // whole seconds; the day is whole seconds too
		d := int64(lifecycleDay / time.Second)
		want := fmt.Sprintf(`expiry-date="%s", rule-id="logs-1d"`, time.Unix((modified/d+2)*d, 0).UTC().Format(http.TimeFormat))
		if got := aws.ToString(h.Expiration); got != want {
			t.Fatalf("HEAD %s: x-amz-expiration %q, want %q", k, got, want)
		}
		g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		g.Body.Close()
		if got := aws.ToString(g.Expiration); got != want {
			t.Fatalf("GET %s: x-amz-expiration %q, want %q", k, got, want)
		}
	}
	for _, k := range kept {
		h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil || h.Expiration != nil {
			t.Fatalf("HEAD %s: %v, x-amz-expiration %q", k, err, aws.ToString(h.Expiration))
		}
	}
	list := func() []string {
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		return keys
	}
	waitFor(t, 20*time.Second, "logs/ expired", func() (bool, string) {
		keys := list()
		return fmt.Sprint(keys) == fmt.Sprint([]string{"data/x", "log", "logsx/y"}), fmt.Sprint(keys)
	})
	// Exactly those: two more days change nothing.
	time.Sleep(2 * lifecycleDay)
	if keys := list(); fmt.Sprint(keys) != fmt.Sprint([]string{"data/x", "log", "logsx/y"}) {
		t.Fatalf("after expiry: %v", keys)
	}
}

func lifecycleNoncurrent(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	const b = "lc-noncurrent"
	mustCreateBucket(t, cl, b)
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var ids []string // oldest first
	for i := range 6 {
		out, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader(fmt.Sprint("version ", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	putLifecycle(t, cl, b, types.LifecycleRule{ID: aws.String("keep-2"), Status: types.ExpirationStatusEnabled,
		Filter:                      &types.LifecycleRuleFilter{Prefix: aws.String("")},
		NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1), NewerNoncurrentVersions: aws.Int32(2)}})
	versions := func() []string {
		out, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range out.Versions {
			got = append(got, aws.ToString(v.VersionId))
		}
		return got
	}
	want := fmt.Sprint([]string{ids[5], ids[4], ids[3]}) // the current version and the two newest noncurrent
	waitFor(t, 20*time.Second, "noncurrent versions expired", func() (bool, string) {
		got := fmt.Sprint(versions())
		return got == want, got
	})
	time.Sleep(2 * lifecycleDay)
	if got := fmt.Sprint(versions()); got != want {
		t.Fatalf("versions %s, want %s", got, want)
	}
}

func lifecycleAbortUpload(t *testing.T, c *harness.Cluster, cl *s3.Client) {
	ctx := ctxT(t, 2*time.Minute)
	const b = "lc-uploads"
	mustCreateBucket(t, cl, b)
	baseline := usedBytes(t, c)
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	for n := int32(1); n <= 2; n++ {
		if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("big"), UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: strings.NewReader(string(pattern(int64(n), 5<<20)))}); err != nil {
			t.Fatal(err)
		}
	}
	if used := usedBytes(t, c); used < baseline+10<<20 {
		t.Fatalf("data nodes use %d bytes after 10 MiB of parts, %d before", used, baseline)
	}
	putLifecycle(t, cl, b, types.LifecycleRule{ID: aws.String("abort-1d"), Status: types.ExpirationStatusEnabled,
		Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String("")},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)}})
	waitFor(t, 20*time.Second, "upload aborted", func() (bool, string) {
		out, err := cl.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Uploads) == 0, fmt.Sprint(len(out.Uploads), " uploads")
	})
	waitUsedBytes(t, c, baseline, 40*time.Second)
}

func lifecycleLocked(t *testing.T, cl *s3.Client) {
	ctx := ctxT(t, time.Minute)
	const b = "lc-locked"
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	id := lockedPut(t, cl, b, "kept", []byte("retained"), types.ObjectLockModeCompliance, time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond), false)
	free, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("free"), Body: strings.NewReader("free")})
	if err != nil {
		t.Fatal(err)
	}
	putLifecycle(t, cl, b, types.LifecycleRule{ID: aws.String("all"), Status: types.ExpirationStatusEnabled,
		Filter:                      &types.LifecycleRuleFilter{Prefix: aws.String("")},
		Expiration:                  &types.LifecycleExpiration{Days: aws.Int32(1)},
		NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}})
	// Expiration puts a delete marker over both; the noncurrent rule then
	// removes the free version and is refused the retained one.
	listed := func() (versions, markers []string) {
		out, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			versions = append(versions, aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId))
		}
		for _, m := range out.DeleteMarkers {
			markers = append(markers, aws.ToString(m.Key))
		}
		return versions, markers
	}
	want := fmt.Sprint([]string{"kept@" + id})
	waitFor(t, 25*time.Second, "free version removed", func() (bool, string) {
		v, m := listed()
		return fmt.Sprint(v) == want && len(m) >= 1, fmt.Sprint(v, m, " free=", aws.ToString(free.VersionId))
	})
	time.Sleep(3 * lifecycleDay)
	if v, _ := listed(); fmt.Sprint(v) != want {
		t.Fatalf("versions %v, want %s", v, want)
	}
	g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("kept"), VersionId: aws.String(id)})
	if err != nil {
		t.Fatalf("the COMPLIANCE version is gone: %v", err)
	}
	g.Body.Close()
}

// minioLifecycle: minio-go's lifecycle calls (TestMinioGoSurface's
// cluster) set, read back and remove a configuration.
func minioLifecycle(ctx context.Context, t *testing.T, mc *minio.Client, region string) {
	const b = "mc-lifecycle"
	minioMakeBucket(ctx, t, mc, region, b)
	if _, err := mc.GetBucketLifecycle(ctx, b); minioCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("lifecycle of a bucket without one: %v", err)
	}
	lc := lifecycle.NewConfiguration()
	lc.Rules = []lifecycle.Rule{
		{ID: "expire", Status: "Enabled", Expiration: lifecycle.Expiration{Days: 1}, RuleFilter: lifecycle.Filter{Prefix: "tmp/"}},
		{ID: "versions", Status: "Enabled", NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 3, NewerNoncurrentVersions: 2},
			RuleFilter: lifecycle.Filter{And: lifecycle.And{Prefix: "v/", Tags: []lifecycle.Tag{{Key: "keep", Value: "no"}}}}},
		{ID: "uploads", Status: "Disabled", AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 2},
			RuleFilter: lifecycle.Filter{Prefix: "up/"}},
	}
	if err := mc.SetBucketLifecycle(ctx, b, lc); err != nil {
		t.Fatalf("set lifecycle: %v", err)
	}
	got, err := mc.GetBucketLifecycle(ctx, b)
	if err != nil || len(got.Rules) != 3 {
		t.Fatalf("get lifecycle: %+v %v", got, err)
	}
	r0, r1, r2 := got.Rules[0], got.Rules[1], got.Rules[2]
	if r0.ID != "expire" || r0.Expiration.Days != 1 || r0.RuleFilter.Prefix != "tmp/" ||
		r1.NoncurrentVersionExpiration.NoncurrentDays != 3 || r1.NoncurrentVersionExpiration.NewerNoncurrentVersions != 2 ||
		r1.RuleFilter.And.Prefix != "v/" || len(r1.RuleFilter.And.Tags) != 1 || r2.Status != "Disabled" ||
		r2.AbortIncompleteMultipartUpload.DaysAfterInitiation != 2 {
		t.Fatalf("lifecycle read back: %+v", got.Rules)
	}
	if err := mc.SetBucketLifecycle(ctx, b, lifecycle.NewConfiguration()); err != nil { // empty: DeleteBucketLifecycle
		t.Fatalf("remove lifecycle: %v", err)
	}
	if _, err := mc.GetBucketLifecycle(ctx, b); minioCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("lifecycle after removal: %v", err)
	}
}
