package fsm

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// TestSetBucketPolicyAndBlock: a policy and a public access block are kept
// with the bucket; a public policy is refused, changing nothing, while
// BlockPublicPolicy is on, a non-public one is not; an oversized policy
// is refused; empty values remove both.
func TestSetBucketPolicyAndBlock(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1))
	bucket := func() *cairnpb.Bucket {
		var bk *cairnpb.Bucket
		if err := f.Store.View(func(r pebble.Reader) (err error) { bk, err = GetBucket(r, "ns", "b"); return err }); err != nil {
			t.Fatal(err)
		}
		return bk
	}
	const public, private = `{"public":1}`, `{"private":1}`
	c.mustApply(t, f, bucketPolicyOp("b", &cairnpb.BucketPolicyConfig{Document: public, Public: true}))
	if got := bucket().GetPolicy(); got != public {
		t.Fatalf("policy %q", got)
	}
	c.mustApply(t, f, fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: &cairnpb.PublicAccessBlock{BlockPublicPolicy: true}}}))
	if !bucket().GetPublicAccessBlock().GetBlockPublicPolicy() || bucket().GetPolicy() != public {
		t.Fatalf("block: %v", bucket())
	}
	wantUnchanged(t, f, &c, bucketPolicyOp("b", &cairnpb.BucketPolicyConfig{Document: public, Public: true}), rpcerr.ErrPublicPolicyBlocked)
	c.mustApply(t, f, bucketPolicyOp("b", &cairnpb.BucketPolicyConfig{Document: private}))
	if got := bucket().GetPolicy(); got != private {
		t.Fatalf("policy %q", got)
	}
	wantUnchanged(t, f, &c, bucketPolicyOp("b", &cairnpb.BucketPolicyConfig{Document: strings.Repeat("x", maxBucketPolicyBytes+1)}), rpcerr.ErrInvalidArgument)
	wantUnchanged(t, f, &c, bucketPolicyOp("nope", &cairnpb.BucketPolicyConfig{Document: private}), rpcerr.ErrBucketNotFound)
	c.mustApply(t, f, fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{Policy: &cairnpb.BucketPolicyConfig{}}, Remove: true}))
	c.mustApply(t, f, fsmtest.ConfigOp("ns", "b", &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_PublicAccessBlock{PublicAccessBlock: &cairnpb.PublicAccessBlock{}}, Remove: true}))
	if bk := bucket(); bk.GetPolicy() != "" || bk.GetPublicAccessBlock() != nil {
		t.Fatalf("removed: %v", bk)
	}
}

func bucketPolicyOp(bucket string, p *cairnpb.BucketPolicyConfig) *cairnpb.SetBucketConfigCmd {
	return fsmtest.ConfigOp("ns", bucket, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Policy{Policy: p}})
}
