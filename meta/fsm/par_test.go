package fsm

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func parOp(id, token string) *cairnpb.CreatePARCmd {
	h := sha256.Sum256([]byte(token))
	return &cairnpb.CreatePARCmd{Par: &cairnpb.PAR{Id: id, Namespace: "ns", Bucket: "b", Name: "share " + id,
		ObjectName: "photos/", AccessType: "AnyObjectRead", ExpiresUnixNano: 1, Creator: "alice", TokenHash: h[:]}}
}

func lookupPAR(t *testing.T, f *FSM, token string) (*cairnpb.PAR, error) {
	t.Helper()
	h := sha256.Sum256([]byte(token))
	var p *cairnpb.PAR
	err := f.Store.View(func(r pebble.Reader) error {
		var err error
		p, err = LookupPAR(r, h[:])
		return err
	})
	return p, err
}

// TestPARLifecycle: a PAR is found by its token's hash and bound to its
// bucket; a retry changes nothing; a delete, or the bucket made again,
// ends it; refusals write nothing.
func TestPARLifecycle(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), parOp("p1", "token-1"))
	p, err := lookupPAR(t, f, "token-1")
	if err != nil || p.GetId() != "p1" || p.GetCreatedUnixNano() == 0 || string(p.GetBucketId()) != string(fsmtest.BucketID(1)) {
		t.Fatalf("lookup: %v, %v", p, err)
	}
	if _, err := lookupPAR(t, f, "token-2"); err == nil {
		t.Fatal("an unknown token found a PAR")
	}
	c.mustApply(t, f, parOp("p1", "token-1")) // a retry

	wantUnchanged(t, f, &c, parOp("p2", "token-1"), rpcerr.ErrInvalidArgument) // hash taken
	wantUnchanged(t, f, &c, parOp("p1", "token-3"), rpcerr.ErrInvalidArgument) // ID taken
	noBucket := parOp("p3", "token-3")
	noBucket.Par.Bucket = "nope"
	wantUnchanged(t, f, &c, noBucket, rpcerr.ErrBucketNotFound)
	noHash := parOp("p3", "token-3")
	noHash.Par.TokenHash = []byte("short")
	wantUnchanged(t, f, &c, noHash, rpcerr.ErrInvalidArgument)

	c.mustApply(t, f, parOp("p2", "token-2"))
	var list []*cairnpb.PAR
	_ = f.Store.View(func(r pebble.Reader) error { list, err = ListPARs(r, "ns", "b", "photos"); return err })
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v, %v", list, err)
	}
	c.mustApply(t, f, &cairnpb.DeletePARCmd{Namespace: "ns", Bucket: "b", Id: "p1"})
	if _, err := lookupPAR(t, f, "token-1"); err == nil {
		t.Fatal("a deleted PAR is still found")
	}
	wantUnchanged(t, f, &c, &cairnpb.DeletePARCmd{Namespace: "ns", Bucket: "b", Id: "p1"}, rpcerr.ErrPARNotFound)

	// The bucket deleted and made again: the old PAR reaches nothing.
	c.mustApply(t, f, &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b"}, fsmtest.CreateBucketOp("ns", "b", 2))
	if _, err := lookupPAR(t, f, "token-2"); err == nil {
		t.Fatal("a PAR of a deleted bucket reaches its namesake")
	}
}

// TestPrunePARs: the records of PARs that can never be used again
// (expired before the cutoff, or of a bucket that is gone) are found page
// by page and removed with their hash index; live ones stay, whatever
// the command names.
func TestPrunePARs(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	old, live, gone := parOp("p-old", "t-old"), parOp("p-live", "t-live"), parOp("p-gone", "t-gone")
	old.Par.ExpiresUnixNano = 100
	live.Par.ExpiresUnixNano = 1 << 62
	gone.Par.ExpiresUnixNano = 1 << 62
	gone.Par.Bucket = "b2"
	c.mustApply(t, f, fsmtest.CreateBucketOp("ns", "b", 1), fsmtest.CreateBucketOp("ns", "b2", 2), old, live, gone,
		&cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b2"})

	var listed []*cairnpb.PAR
	if err := f.Store.View(func(r pebble.Reader) error {
		var err error
		listed, err = ListNamespacePARs(r, "ns", "")
		return err
	}); err != nil || len(listed) != 2 || listed[0].GetId() != "p-live" || listed[1].GetId() != "p-old" {
		t.Fatalf("ListNamespacePARs: %v, %v", listed, err)
	}
	for _, limit := range []int{1, 2, 10} {
		var ids []string
		var from []byte
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("limit %d: the scan does not end", limit)
			}
			var found []*cairnpb.DeletePARCmd
			err := f.Store.View(func(r pebble.Reader) error {
				var err error
				found, from, err = PrunablePARs(r, 1000, from, limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range found {
				ids = append(ids, p.GetId())
			}
			if from == nil {
				break
			}
		}
		if len(ids) != 2 || ids[0] != "p-old" || ids[1] != "p-gone" {
			t.Errorf("limit %d: prunable %v", limit, ids)
		}
	}

	refs := []*cairnpb.DeletePARCmd{
		{Namespace: "ns", Bucket: "b", Id: "p-old"}, {Namespace: "ns", Bucket: "b", Id: "p-live"},
		{Namespace: "ns", Bucket: "b2", Id: "p-gone"}, {Namespace: "ns", Bucket: "b", Id: "never"},
	}
	wantUnchanged(t, f, &c, &cairnpb.PrunePARsCmd{Pars: refs, ExpiredBeforeUnixNano: 1 << 62}, rpcerr.ErrInvalidArgument)
	c.mustApply(t, f, &cairnpb.PrunePARsCmd{Pars: refs, ExpiredBeforeUnixNano: 1000})
	if _, err := lookupPAR(t, f, "t-live"); err != nil {
		t.Fatalf("a live PAR was pruned: %v", err)
	}
	for _, kv := range dumpStore(t, f.Store) {
		if strings.Contains(kv.k, "p-old") || strings.Contains(kv.k, "p-gone") || strings.Contains(kv.v, "p-old") || strings.Contains(kv.v, "p-gone") {
			t.Errorf("a pruned PAR left %q", kv.k)
		}
	}
}
