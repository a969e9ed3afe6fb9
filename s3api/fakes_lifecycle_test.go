package s3api

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func (f *fakeIndex) SetBucketLifecycle(_ context.Context, _, bucket string, l *cairnpb.BucketLifecycle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	c := proto.Clone(b).(*cairnpb.Bucket)
	c.Lifecycle = nil
	if l != nil {
		c.Lifecycle = proto.Clone(l).(*cairnpb.BucketLifecycle)
	}
	f.buckets[bucket] = c
	return nil
}
