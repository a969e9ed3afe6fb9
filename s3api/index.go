package s3api

import (
	"context"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
)

// Index is what the S3 front end needs from the meta group: the object
// model's needs (the cluster map, reports of unreadable data) and the
// buckets, versions, uploads, tags and keys S3 requests act on.
type Index interface {
	model.Index
	// CreateBucket creates a bucket; objectLock gives it object lock (and
	// versioning Enabled with it).
	CreateBucket(ctx context.Context, ns, name, compartment string, objectLock bool) (*cairnpb.Bucket, error)
	DeleteBucket(ctx context.Context, ns, name string) error
	GetBucket(ctx context.Context, ns, name string) (*cairnpb.Bucket, error)
	ListBuckets(ctx context.Context, ns string) ([]*cairnpb.Bucket, error)
	CommitObject(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion) error
	GetObject(ctx context.Context, ns, bucket, key string) (*cairnpb.ObjectVersion, error)
	DeleteObject(ctx context.Context, ns, bucket, key string) error
	ListObjects(ctx context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error)
	MultipartIndex
	TaggingIndex
	ConditionalIndex
	AccessKeyIndex
	VersioningIndex
	ObjectLockIndex
	BucketConfigIndex
}
