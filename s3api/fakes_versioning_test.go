package s3api

import (
	"context"
	"errors"
	"sort"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The fake index keeps one version per key: it records a bucket's
// versioning status, but its versions are all null versions. Versioning
// itself is tested against meta (meta/versioning_test.go) and end to end.

func (f *fakeIndex) CommitVersion(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) (string, error) {
	if cond == nil {
		return "", f.CommitObject(ctx, ns, bucket, v)
	}
	return "", f.CommitObjectIf(ctx, ns, bucket, v, cond)
}

func (f *fakeIndex) GetObjectVersion(ctx context.Context, ns, bucket, key, versionID string) (*cairnpb.GetObjectVersionResponse, error) {
	if versionID != "" && versionID != nullVersion {
		if _, err := f.GetBucket(ctx, ns, bucket); err != nil {
			return nil, err
		}
		return nil, rpcerr.ErrObjectNotFound
	}
	v, err := f.GetObject(ctx, ns, bucket, key)
	if err != nil {
		return nil, err
	}
	return &cairnpb.GetObjectVersionResponse{Version: v, Latest: true}, nil
}

func (f *fakeIndex) DeleteVersion(ctx context.Context, ns, bucket, key, versionID string, cond *cairnpb.WriteCondition, _ bool) (*cairnpb.DeleteVersionResponse, error) {
	if cond != nil {
		cur, err := f.GetObject(ctx, ns, bucket, key)
		if errors.Is(err, rpcerr.ErrObjectNotFound) {
			cur = nil
		} else if err != nil {
			return nil, err
		}
		if err := holds(cond, cur); err != nil {
			return nil, err
		}
	}
	if versionID != "" && versionID != nullVersion {
		if !validHexID(versionID) {
			return nil, rpcerr.ErrInvalidArgument
		}
		return &cairnpb.DeleteVersionResponse{VersionId: versionID}, nil
	}
	err := f.DeleteObject(ctx, ns, bucket, key)
	if errors.Is(err, rpcerr.ErrObjectNotFound) {
		err = nil
	}
	return &cairnpb.DeleteVersionResponse{VersionId: versionID}, err
}

func validHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (f *fakeIndex) SetVersionTags(ctx context.Context, ns, bucket, key, versionID string, tags map[string]string) error {
	if versionID != nullVersion {
		return rpcerr.ErrObjectNotFound
	}
	return f.SetObjectTags(ctx, ns, bucket, key, tags)
}

func (f *fakeIndex) ListObjectVersions(_ context.Context, req *cairnpb.ListObjectVersionsRequest) (*cairnpb.ListObjectVersionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[req.GetBucket()]
	if !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	resp := &cairnpb.ListObjectVersionsResponse{}
	for k, v := range objs {
		resp.Versions = append(resp.Versions, &cairnpb.VersionSummary{
			Key: k, VersionId: nullVersion, IsLatest: true, Size: v.GetSize(), Etag: v.GetEtag(), ModifiedUnixNano: v.GetModifiedUnixNano(),
		})
	}
	sort.Slice(resp.Versions, func(i, j int) bool { return resp.Versions[i].Key < resp.Versions[j].Key })
	return resp, nil
}

// The fake keeps versions' locks but enforces none of their rules: those
// are meta's (meta/fsm/lock.go), tested there and end to end.

func (f *fakeIndex) SetVersionLock(_ context.Context, req *cairnpb.SetVersionLockRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[req.GetBucket()]
	if !ok {
		return "", rpcerr.ErrBucketNotFound
	}
	if !b.GetObjectLockEnabled() {
		return "", rpcerr.ErrNoObjectLock
	}
	v, ok := f.objects[req.GetBucket()][req.GetKey()]
	if !ok {
		return "", rpcerr.ErrObjectNotFound
	}
	if v.Lock == nil {
		v.Lock = &cairnpb.ObjectLock{}
	}
	if r := req.GetRetention(); r != nil {
		v.Lock.Mode, v.Lock.RetainUntilUnixNano = r.GetMode(), r.GetRetainUntilUnixNano()
	}
	if req.LegalHold != nil {
		v.Lock.LegalHold, v.Lock.LegalHoldSet = req.GetLegalHold(), true
	}
	return v.GetVersionId(), nil
}
