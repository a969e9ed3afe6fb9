package meta

import (
	"math"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func TestFSMSetNodeWeightSurvivesRegistering(t *testing.T) {
	f := fsmfixture.New(t)
	var idx uint64
	register := func(w float64) {
		t.Helper()
		if err := fsmfixture.Apply(t, f, &idx, &cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{
			Node: &cairnpb.DataNode{Id: "n1", Addr: "n1:1", Weight: w}}}}); err != nil {
			t.Fatal(err)
		}
	}
	setWeight := func(id string, w float64) error {
		return fsmfixture.Apply(t, f, &idx, &cairnpb.Command{Op: &cairnpb.Command_SetNodeWeight{SetNodeWeight: &cairnpb.SetNodeWeightCmd{NodeId: id, Weight: w}}})
	}
	weight := func() float64 {
		t.Helper()
		var n *cairnpb.DataNode
		if err := f.Store.View(func(r pebble.Reader) error {
			var err error
			n, err = fsm.GetNode(r, "n1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n.GetWeight()
	}
	register(1)
	fsmtest.WantErr(t, setWeight("nope", 2), rpcerr.ErrNodeNotFound)
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		fsmtest.WantErr(t, setWeight("n1", bad), rpcerr.ErrInvalidArgument)
	}
	if w := weight(); w != 1 {
		t.Fatalf("weight %v after rejected changes, want 1", w)
	}
	register(3) // the node's own flag counts until an operator sets one
	if w := weight(); w != 3 {
		t.Fatalf("weight %v, want the registered 3", w)
	}
	if err := setWeight("n1", 2.5); err != nil {
		t.Fatal(err)
	}
	if w := weight(); w != 2.5 {
		t.Fatalf("weight %v, want 2.5", w)
	}
	register(1)
	if w := weight(); w != 2.5 {
		t.Fatalf("weight %v after registering again, want the operator's 2.5", w)
	}
}
