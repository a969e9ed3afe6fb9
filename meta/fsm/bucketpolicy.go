package fsm

import (
	"fmt"
	"unicode/utf8"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Bucket policies and public access blocks, FSM side. Both live in the
// bucket record (Bucket.policy, Bucket.public_access_block), so they are
// read with GetBucket and go away with the bucket. The gateway parses a
// policy and judges whether it is public (s3api/bucketpolicy); meta keeps
// the validated text, bounds its size, and makes the one decision that
// needs the bucket's state, in the apply, so that a concurrent
// PutPublicAccessBlock cannot let a public policy in: a public policy is
// refused while BlockPublicPolicy is on.

// maxBucketPolicyBytes bounds a stored policy document (S3's limit is 20 KB).
const maxBucketPolicyBytes = 20 << 10

// ValidBucketPolicy bounds a policy document before it is proposed and
// when it is applied.
func ValidBucketPolicy(doc string) error {
	if len(doc) > maxBucketPolicyBytes {
		return Invalid("bucket policy of %d bytes, at most %d", len(doc), maxBucketPolicyBytes)
	}
	if !utf8.ValidString(doc) {
		return Invalid("bucket policy is not UTF-8")
	}
	return nil
}

func validPolicyConfig(c *cairnpb.BucketPolicyConfig) error {
	return ValidBucketPolicy(c.GetDocument())
}

// setPolicy is the policy row's set (bucketconfig.go). It refuses a
// public policy while the bucket's BlockPublicPolicy is on, against the
// record as this very apply sees it.
func setPolicy(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.BucketPolicyConfig) error {
	if c.GetDocument() != "" && c.GetPublic() && bk.GetPublicAccessBlock().GetBlockPublicPolicy() {
		return fmt.Errorf("a public policy while BlockPublicPolicy is on: %w", rpcerr.ErrPublicPolicyBlocked)
	}
	bk.Policy = c.GetDocument()
	return nil
}

// setPublicAccessBlock is the public_access_block row's set.
func setPublicAccessBlock(_ applyEnv, bk *cairnpb.Bucket, c *cairnpb.PublicAccessBlock) error {
	bk.PublicAccessBlock = c
	return nil
}
