package s3api

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func (f *fakeIndex) SetBucketPolicy(_ context.Context, _, bucket, policy string, public bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	if policy != "" && public && b.GetPublicAccessBlock().GetBlockPublicPolicy() {
		return fmt.Errorf("fake: %w", rpcerr.ErrPublicPolicyBlocked)
	}
	c := proto.Clone(b).(*cairnpb.Bucket)
	c.Policy = policy
	f.buckets[bucket] = c
	return nil
}

func (f *fakeIndex) SetPublicAccessBlock(_ context.Context, _, bucket string, block *cairnpb.PublicAccessBlock) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	c := proto.Clone(b).(*cairnpb.Bucket)
	c.PublicAccessBlock = block
	f.buckets[bucket] = c
	return nil
}
