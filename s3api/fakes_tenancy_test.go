package s3api

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The plain fakeIndex knows no user keys; tenantIndex adds them.
func (f *fakeIndex) LookupAccessKey(context.Context, string) (*cairnpb.LookupAccessKeyResponse, error) {
	return nil, rpcerr.ErrKeyNotFound
}

// tenantIndex is a fakeIndex with users' access keys, counting lookups.
type tenantIndex struct {
	*fakeIndex
	mu      sync.Mutex
	keys    map[string]*cairnpb.LookupAccessKeyResponse
	lookups int
	down    error // when set, every lookup fails with it
}

func newTenantIndex() *tenantIndex {
	return &tenantIndex{fakeIndex: newFakeIndex(6), keys: map[string]*cairnpb.LookupAccessKeyResponse{}}
}

func (t *tenantIndex) LookupAccessKey(_ context.Context, id string) (*cairnpb.LookupAccessKeyResponse, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lookups++
	if t.down != nil {
		return nil, t.down
	}
	k, ok := t.keys[id]
	if !ok {
		return nil, rpcerr.ErrKeyNotFound
	}
	return proto.Clone(k).(*cairnpb.LookupAccessKeyResponse), nil
}

func (t *tenantIndex) set(id string, k *cairnpb.LookupAccessKeyResponse) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k == nil {
		delete(t.keys, id)
		return
	}
	t.keys[id] = k
}

func (t *tenantIndex) setDown(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.down = err
}

func (t *tenantIndex) lookupCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookups
}
