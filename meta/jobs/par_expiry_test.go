package jobs

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// TestPruneDeadPARs: a round removes, over several pages, the records of
// PARs that expired before the cutoff and of a deleted bucket's PARs, and
// leaves the others.
func TestPruneDeadPARs(t *testing.T) {
	w := fsmfixture.NewWorld(t)
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_CreateBucket{CreateBucket: fsmtest.CreateBucketOp("ns", "b2", 2)}})
	mk := func(bucket, id string, expires int64) {
		h := sha256.Sum256([]byte("token " + id))
		w.Must(&cairnpb.Command{Op: &cairnpb.Command_CreatePar{CreatePar: &cairnpb.CreatePARCmd{Par: &cairnpb.PAR{
			Id: id, Namespace: "ns", Bucket: bucket, Name: id, ObjectName: "o", AccessType: "ObjectRead",
			ExpiresUnixNano: expires, Creator: "u", TokenHash: h[:]}}}})
	}
	const cutoff = 5_000
	want := map[string]bool{} // id -> kept
	for i := range parExpiryPage + 20 {
		id := fmt.Sprintf("p%04d", i)
		switch i % 3 {
		case 0:
			mk("b", id, cutoff) // expired at the cutoff: pruned
			want[id] = false
		case 1:
			mk("b", id, cutoff+1) // expired after it: kept
			want[id] = true
		case 2:
			mk("b2", id, 1<<62) // its bucket goes: pruned
			want[id] = false
		}
	}
	w.Must(&cairnpb.Command{Op: &cairnpb.Command_DeleteBucket{DeleteBucket: &cairnpb.DeleteBucketCmd{Namespace: "ns", Name: "b2"}}})

	proposed := 0
	env := &Env{Store: w.F.Store, Propose: func(_ context.Context, cmd *cairnpb.Command) error {
		proposed++
		return w.Apply(cmd)
	}}
	n, err := pruneDeadPARs(context.Background(), env, time.Unix(0, cutoff))
	if err != nil {
		t.Fatal(err)
	}
	pruned := 0
	for _, kept := range want {
		if !kept {
			pruned++
		}
	}
	if n != pruned || proposed < 2 {
		t.Errorf("named %d PARs in %d commands, want %d in at least 2", n, proposed, pruned)
	}
	left := map[string]bool{}
	if err := w.F.Store.View(func(r pebble.Reader) error {
		found, _, err := fsm.PrunablePARs(r, 1<<62, nil, 10_000)
		for _, p := range found {
			left[p.GetId()] = true
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for id, kept := range want {
		if left[id] != kept {
			t.Errorf("%s: kept %v, want %v", id, left[id], kept)
		}
	}
	if n, err := pruneDeadPARs(context.Background(), env, time.Unix(0, cutoff)); n != 0 || err != nil {
		t.Errorf("a second round named %d: %v", n, err)
	}
}
