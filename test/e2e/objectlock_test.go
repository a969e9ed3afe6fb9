package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/test/harness"
)

// wantLocked checks err is S3's refusal of a locked version: 403
// AccessDenied that names object lock.
func wantLocked(t *testing.T, what string, err error) {
	t.Helper()
	code, st := apiCode(err)
	if code != "AccessDenied" || st != 403 || !strings.Contains(err.Error(), "object lock") {
		t.Errorf("%s: got %q (%d) %v, want 403 AccessDenied for object lock", what, code, st, err)
	}
}

// lockedPut writes key with a retention and/or legal hold and returns
// its version ID. The SDK sends a checksum, as object lock requires.
func lockedPut(t *testing.T, cl *s3.Client, bucket, key string, body []byte, mode types.ObjectLockMode, until time.Time, hold bool) string {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}
	if mode != "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = mode, aws.Time(until)
	}
	if hold {
		in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
	}
	out, err := cl.PutObject(ctxT(t, time.Minute), in)
	if err != nil {
		t.Fatalf("locked put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

func deleteVersion(ctx context.Context, cl *s3.Client, bucket, key, id string, bypass bool) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(id)}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := cl.DeleteObject(ctx, in)
	return err
}

// TestObjectLock: on a real cluster, through real clients, a COMPLIANCE
// version survives every path that removes versions until its date (S3
// DeleteObject and DeleteObjects by version, with the bypass header too,
// shortening its retention, bucket deletion, suspending versioning, a
// gateway-role call straight to meta) and goes after it; GOVERNANCE yields
// only to the bypass header from a user with the permission; a legal hold
// blocks deletion until it is removed. Overwrites and simple deletes leave
// locked versions where they are.
func TestObjectLock(t *testing.T) {
	c := startCluster(t, harness.Options{})
	ctx := ctxT(t, 5*time.Minute)
	// Users of one namespace: boss may manage everything (and so bypass
	// GOVERNANCE); clerk may only use buckets and objects.
	const ns = "worm"
	ctl(t, c, "namespace", "create", ns)
	ctl(t, c, "user", "create", "-n", ns, "boss")
	grantAll(t, c, ns, "boss")
	ctl(t, c, "user", "create", "-n", ns, "clerk")
	ctl(t, c, "group", "create", "-n", ns, "clerks")
	ctl(t, c, "group", "add-user", "-n", ns, "clerks", "clerk")
	ctl(t, c, "policy", "create", "-n", ns, "clerks",
		"--statement", "Allow group clerks to use object-family in tenancy")
	bk, ck := newKey(t, c, ns, "boss"), newKey(t, c, ns, "clerk")
	boss, clerk := s3Client(c, bk.AccessKeyID, bk.Secret), s3Client(c, ck.AccessKeyID, ck.Secret)
	op := boss

	const bucket = "vault"
	b := aws.String(bucket)
	if _, err := op.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if v, err := op.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}); err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("a bucket created with object lock has versioning %v, %v", v, err)
	}

	start := time.Now()
	complianceUntil := start.Add(20 * time.Second).UTC().Truncate(time.Millisecond)
	governanceUntil := start.Add(time.Hour).UTC().Truncate(time.Millisecond)
	bodyC, bodyG, bodyH := pattern(1, 200<<10), []byte("governed"), []byte("held")
	idC := lockedPut(t, op, bucket, "c", bodyC, types.ObjectLockModeCompliance, complianceUntil, false)
	idG := lockedPut(t, op, bucket, "g", bodyG, types.ObjectLockModeGovernance, governanceUntil, false)
	idH := lockedPut(t, op, bucket, "h", bodyH, "", time.Time{}, true)

	head, err := op.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("c")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(complianceUntil) {
		t.Fatalf("HEAD of the COMPLIANCE version: %+v %v", head, err)
	}

	// COMPLIANCE: no path removes it before its date.
	wantLocked(t, "DeleteObject by version", deleteVersion(ctx, op, bucket, "c", idC, false))
	wantLocked(t, "DeleteObject by version with bypass", deleteVersion(ctx, op, bucket, "c", idC, true))
	res, err := op.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, BypassGovernanceRetention: aws.Bool(true),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("c"), VersionId: aws.String(idC)}}}})
	if err != nil || len(res.Errors) != 1 || aws.ToString(res.Errors[0].Code) != "AccessDenied" || len(res.Deleted) != 0 {
		t.Fatalf("DeleteObjects of the COMPLIANCE version: %+v %v", res, err)
	}
	_, err = op.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("c"), VersionId: aws.String(idC),
		BypassGovernanceRetention: aws.Bool(true),
		Retention:                 &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(start.Add(10 * time.Second))}})
	wantLocked(t, "shortening COMPLIANCE", err)
	_, err = op.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("c"), VersionId: aws.String(idC),
		BypassGovernanceRetention: aws.Bool(true),
		Retention:                 &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(complianceUntil)}})
	wantLocked(t, "COMPLIANCE to GOVERNANCE", err)
	_, err = op.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantAPIError(t, err, "InvalidBucketState", 409)
	_, err = op.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	wantAPIError(t, err, "BucketNotEmpty", 409)
	// A gateway-role caller straight at meta, asking to bypass: the apply refuses.
	_, err = metaclient.Meta(ctx, c.MetaClient(t), func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.DeleteVersionResponse, error) {
		return m.DeleteVersion(ctx, &cairnpb.DeleteVersionRequest{Namespace: ns, Bucket: bucket, Key: "c", VersionId: idC, BypassGovernance: true})
	})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "object lock") {
		t.Errorf("meta DeleteVersion of the COMPLIANCE version: %v", err)
	}
	// Overwrites and simple deletes make new versions and markers; the
	// locked one stays, readable.
	mustPut(t, op, bucket, "c", []byte("overwrite"))
	dm, err := op.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("c")})
	if err != nil || !aws.ToBool(dm.DeleteMarker) {
		t.Fatalf("simple delete in a locked bucket: %+v %v", dm, err)
	}
	if got, _, err := getVersion(t, op, bucket, "c", idC); err != nil || !bytes.Equal(got, bodyC) {
		t.Fatalf("the COMPLIANCE version after overwrite and delete: %v", err)
	}
	// Extending is allowed.
	complianceUntil = complianceUntil.Add(2 * time.Second)
	if _, err := op.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("c"), VersionId: aws.String(idC),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(complianceUntil)}}); err != nil {
		t.Fatalf("extending COMPLIANCE: %v", err)
	}

	// GOVERNANCE: the header alone does nothing without the permission;
	// the permission alone does nothing without the header.
	_, err = clerk.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("g"), VersionId: aws.String(idG),
		BypassGovernanceRetention: aws.Bool(true),
		Retention:                 &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(start.Add(time.Minute))}})
	wantLocked(t, "clerk (no OBJECT_BYPASS_GOVERNANCE): shortening GOVERNANCE with bypass", err)
	wantLocked(t, "boss: DeleteObject of GOVERNANCE without bypass", deleteVersion(ctx, boss, bucket, "g", idG, false))
	if err := deleteVersion(ctx, boss, bucket, "g", idG, true); err != nil {
		t.Fatalf("boss: DeleteObject of GOVERNANCE with bypass: %v", err)
	}
	if _, _, err := getVersion(t, op, bucket, "g", idG); err == nil {
		t.Fatal("the GOVERNANCE version survived a bypassed delete")
	}

	// Legal hold: blocks deletion, bypass or not, until removed.
	wantLocked(t, "DeleteObject of a held version", deleteVersion(ctx, op, bucket, "h", idH, true))
	if _, err := op.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: b, Key: aws.String("h"), VersionId: aws.String(idH),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatal(err)
	}
	if err := deleteVersion(ctx, op, bucket, "h", idH, false); err != nil {
		t.Fatalf("DeleteObject after the hold was removed: %v", err)
	}

	// boto3, as a Python backup tool would use it: default retention on a
	// second bucket, GOVERNANCE bypassed by boss, COMPLIANCE and a legal
	// hold not.
	t.Run("boto3", func(t *testing.T) {
		py := requireBoto3(t)
		out := runBoto3(t, py, c, boto3LockScript, "AK="+bk.AccessKeyID, "SK="+bk.Secret)
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("boto3 output %q: %v", out, err)
		}
		want := map[string]string{
			"config":           "Enabled GOVERNANCE 1",
			"default_mode":     "GOVERNANCE",
			"delete_governed":  "AccessDenied",
			"bypass_governed":  "ok",
			"compliance_mode":  "COMPLIANCE",
			"legal_hold":       "ON",
			"delete_compliant": "AccessDenied",
			"suspend":          "InvalidBucketState",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("boto3 %s: got %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
	})

	// After its date the COMPLIANCE version goes, and then the bucket.
	time.Sleep(time.Until(complianceUntil.Add(500 * time.Millisecond)))
	if err := deleteVersion(ctx, op, bucket, "c", idC, false); err != nil {
		t.Fatalf("DeleteObject after the retention date: %v", err)
	}
	for _, v := range versionList(t, op, bucket, 0) {
		key, id, _ := strings.Cut(strings.TrimRight(v, "*D"), ":")
		if err := deleteVersion(ctx, op, bucket, key, id, false); err != nil {
			t.Fatalf("delete %s: %v", v, err)
		}
	}
	if _, err := op.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucket once nothing is locked: %v", err)
	}
}

// boto3LockScript runs object lock calls with boto3 and prints what each
// answered, as JSON.
const boto3LockScript = `
import datetime, json, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client("s3", region_name=os.environ["REGION"], endpoint_url=os.environ["EP"],
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"],
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
def code(f):
    try:
        f()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]
b = "boto-vault"
out = {}
s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
c = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
out["config"] = "%s %s %d" % (c["ObjectLockEnabled"], c["Rule"]["DefaultRetention"]["Mode"], c["Rule"]["DefaultRetention"]["Days"])
va = s3.put_object(Bucket=b, Key="a", Body=b"governed by default")["VersionId"]
out["default_mode"] = s3.head_object(Bucket=b, Key="a").get("ObjectLockMode", "")
out["delete_governed"] = code(lambda: s3.delete_object(Bucket=b, Key="a", VersionId=va))
out["bypass_governed"] = code(lambda: s3.delete_object(Bucket=b, Key="a", VersionId=va, BypassGovernanceRetention=True))
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
vb = s3.put_object(Bucket=b, Key="b", Body=b"kept", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                   ObjectLockLegalHoldStatus="ON")["VersionId"]
out["compliance_mode"] = s3.get_object_retention(Bucket=b, Key="b", VersionId=vb)["Retention"]["Mode"]
out["legal_hold"] = s3.get_object_legal_hold(Bucket=b, Key="b", VersionId=vb)["LegalHold"]["Status"]
out["delete_compliant"] = code(lambda: s3.delete_object(Bucket=b, Key="b", VersionId=vb, BypassGovernanceRetention=True))
out["suspend"] = code(lambda: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"}))
print(json.dumps(out))
`
