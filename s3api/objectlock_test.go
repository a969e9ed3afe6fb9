package s3api

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func contentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestObjectLockSurface: the gateway's side of object lock: the bucket
// flag, the configuration, the lock headers of writes and reads, the
// four lock subresources, and the errors AWS answers for bad input. The
// rules a lock enforces are meta's (meta/lock_test.go, test/e2e).
func TestObjectLockSurface(t *testing.T) {
	cl, idx, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if bk, err := idx.GetBucket(ctx, "default", "locked"); err != nil || !bk.GetObjectLockEnabled() || bk.GetVersioning() != "Enabled" {
		t.Fatalf("locked bucket %v %v", bk, err)
	}
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}

	// Configuration.
	if _, err := cl.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")}); code(err) != "ObjectLockConfigurationNotFoundError" {
		t.Fatalf("GetObjectLockConfiguration of a plain bucket: %v", err)
	}
	if _, err := cl.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("plain"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}}); code(err) != "InvalidBucketState" {
		t.Fatalf("object lock on an unversioned bucket: %v", err)
	}
	if _, err := cl.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(3)}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := cl.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.ObjectLockConfiguration; c.ObjectLockEnabled != types.ObjectLockEnabledEnabled ||
		c.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeGovernance || aws.ToInt32(c.Rule.DefaultRetention.Days) != 3 {
		t.Fatalf("configuration %+v", c)
	}
	both := []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`)
	if st, _, body := surfDo(t, base, "PUT", "/locked?object-lock", both, map[string]string{"Content-MD5": contentMD5(both)}); st != http.StatusBadRequest || !strings.Contains(body, "MalformedXML") {
		t.Errorf("Days and Years: %d %s", st, body)
	}
	noMD5 := []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`)
	if st, _, body := surfDo(t, base, "PUT", "/locked?object-lock", noMD5, nil); st != http.StatusBadRequest || !strings.Contains(body, "Content-MD5") {
		t.Errorf("configuration without Content-MD5: %d %s", st, body)
	}
	if _, err := cl.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("locked"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); code(err) != "InvalidBucketState" {
		t.Fatalf("suspending versioning of a locked bucket: %v", err)
	}

	// Lock headers on PutObject.
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	body := []byte("worm")
	lockHdr := map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until.Format(time.RFC3339Nano), "x-amz-object-lock-legal-hold": "ON"}
	if st, _, resp := surfDo(t, base, "PUT", "/locked/k", body, lockHdr); st != http.StatusBadRequest || !strings.Contains(resp, "Content-MD5 OR x-amz-checksum-") {
		t.Errorf("locked PUT without a digest: %d %s", st, resp)
	}
	// The default retention locks a plain PUT too, so it needs one as well;
	// a bucket without object lock does not.
	if st, _, resp := surfDo(t, base, "PUT", "/locked/plainput", body, nil); st != http.StatusBadRequest || !strings.Contains(resp, "Content-MD5 OR x-amz-checksum-") {
		t.Errorf("PUT under default retention without a digest: %d %s", st, resp)
	}
	if st, _, resp := surfDo(t, base, "PUT", "/plain/plainput", body, nil); st != http.StatusOK {
		t.Errorf("PUT without a digest in a plain bucket: %d %s", st, resp)
	}
	withMD5 := func(h map[string]string) map[string]string {
		out := map[string]string{"Content-MD5": contentMD5(body)}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	for _, c := range []struct {
		path string
		hdr  map[string]string
		want string
	}{
		{"/plain/k", lockHdr, "Bucket is missing Object Lock Configuration"},
		{"/locked/k", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE"}, "must both be supplied"},
		{"/locked/k", map[string]string{"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": until.Format(time.RFC3339)}, "Unknown wormMode directive"},
		{"/locked/k", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z"}, "must be in the future"},
		{"/locked/k", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "tomorrow"}, "ISO 8601"},
		{"/locked/k", map[string]string{"x-amz-object-lock-legal-hold": "MAYBE"}, "Legal Hold must be"},
	} {
		if st, _, resp := surfDo(t, base, "PUT", c.path, body, withMD5(c.hdr)); st != http.StatusBadRequest || !strings.Contains(resp, c.want) {
			t.Errorf("PUT %s %v: %d %s", c.path, c.hdr, st, resp)
		}
	}
	if _, err := idx.GetObject(ctx, "default", "plain", "k"); err == nil {
		t.Fatal("a refused locked PUT stored the object")
	}
	if st, _, resp := surfDo(t, base, "PUT", "/locked/k", body, withMD5(lockHdr)); st != http.StatusOK {
		t.Fatalf("locked PUT: %d %s", st, resp)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until) ||
		head.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("HEAD lock headers: %v %v %v", head.ObjectLockMode, head.ObjectLockRetainUntilDate, head.ObjectLockLegalHoldStatus)
	}

	// Retention and legal hold subresources.
	ret, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("locked"), Key: aws.String("k")})
	if err != nil || ret.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(ret.Retention.RetainUntilDate).Equal(until) {
		t.Fatalf("GetObjectRetention %+v %v", ret, err)
	}
	later := until.Add(time.Hour)
	if _, err := cl.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("locked"), Key: aws.String("k"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(later)}}); err != nil {
		t.Fatal(err)
	}
	if ret, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("locked"), Key: aws.String("k")}); err != nil || !aws.ToTime(ret.Retention.RetainUntilDate).Equal(later) {
		t.Fatalf("GetObjectRetention after extending %+v %v", ret, err)
	}
	if _, err := cl.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("locked"), Key: aws.String("k"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatal(err)
	}
	if lh, err := cl.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("locked"), Key: aws.String("k")}); err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOff {
		t.Fatalf("GetObjectLegalHold %+v %v", lh, err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("free"), Body: strings.NewReader("x"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("locked"), Key: aws.String("free")}); code(err) != "NoSuchObjectLockConfiguration" {
		t.Fatalf("GetObjectRetention of an object without one: %v", err)
	}
	if _, err := cl.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("locked"), Key: aws.String("free")}); code(err) != "NoSuchObjectLockConfiguration" {
		t.Fatalf("GetObjectLegalHold of an object never held: %v", err)
	}
	if _, err := cl.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("plain"), Key: aws.String("free")}); code(err) != "InvalidRequest" {
		t.Fatalf("GetObjectRetention in a plain bucket: %v", err)
	}
	if st, _, resp := surfDo(t, base, "DELETE", "/locked/k?retention", nil, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("DELETE ?retention: %d %s", st, resp)
	}
}

// TestPostObjectLock: a browser form's x-amz-object-lock-* fields lock
// the object as PutObject's headers do, with the same digest rule.
func TestPostObjectLock(t *testing.T) {
	cl, idx, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	file := []byte("locked by form")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	form := func(withMD5 bool) postForm {
		f := postForm{
			fields: [][2]string{{"key", "k"}, {"x-amz-object-lock-mode", "COMPLIANCE"}, {"x-amz-object-lock-retain-until-date", until}},
			conditions: []any{map[string]string{"bucket": "bkt"}, map[string]string{"key": "k"},
				map[string]string{"x-amz-object-lock-mode": "COMPLIANCE"}, map[string]string{"x-amz-object-lock-retain-until-date": until}},
			fileName: "f", file: file,
		}
		if withMD5 {
			f.fields = append(f.fields, [2]string{"Content-MD5", contentMD5(file)})
			f.conditions = append(f.conditions, map[string]string{"Content-MD5": contentMD5(file)})
		}
		return f
	}
	body, ct := form(false).body(t, "v4", "SK")
	if st, _, out := post(t, base, body, ct); st != http.StatusBadRequest || !strings.Contains(out, "Content-MD5 OR x-amz-checksum-") {
		t.Fatalf("locked form without a digest: %d %s", st, out)
	}
	body, ct = form(true).body(t, "v4", "SK")
	if st, _, out := post(t, base, body, ct); st/100 != 2 {
		t.Fatalf("locked form: %d %s", st, out)
	}
	v, err := idx.GetObject(ctx, "default", "bkt", "k")
	if err != nil || v.GetLock().GetMode() != "COMPLIANCE" {
		t.Fatalf("object from a locked form: %v %v", v.GetLock(), err)
	}
}
