package fsm

import (
	"crypto/sha256"
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
