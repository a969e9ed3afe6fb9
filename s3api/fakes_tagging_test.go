package s3api

import (
	"context"
	"maps"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Tagging and conditional writes of the fakeIndex, with the rules the meta
// FSM applies.

// fakeCondition decides cond against the current version of key, as the
// FSM does. Callers hold f.mu.
func (f *fakeIndex) fakeCondition(bucket, key, versionID string, cond *cairnpb.WriteCondition) error {
	if cond == nil {
		return nil
	}
	cur := f.objects[bucket][key]
	if cur != nil && cur.GetVersionId() == versionID {
		return nil
	}
	return holds(cond, cur)
}

func (f *fakeIndex) CommitObjectIf(_ context.Context, _, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	if err := f.fakeCondition(bucket, v.GetKey(), v.GetVersionId(), cond); err != nil {
		return err
	}
	objs[v.Key] = proto.Clone(v).(*cairnpb.ObjectVersion)
	return nil
}

func (f *fakeIndex) SetObjectTags(_ context.Context, _, bucket, key string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	objs, ok := f.objects[bucket]
	if !ok {
		return rpcerr.ErrBucketNotFound
	}
	v, ok := objs[key]
	if !ok {
		return rpcerr.ErrObjectNotFound
	}
	c := proto.Clone(v).(*cairnpb.ObjectVersion)
	c.Tags = maps.Clone(tags)
	objs[key] = c
	return nil
}
