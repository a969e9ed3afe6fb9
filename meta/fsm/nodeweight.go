package fsm

import (
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Replicated state of rebalancing: placement weights set by operators.
// They win over the weight a data node registers with (its --weight flag),
// so a restart does not undo them.
//
//	w/<data node id> -> cairnpb.SetNodeWeightCmd
const tagNodeWeight = "w/"

func nodeWeightKey(nodeID string) []byte {
	return append([]byte(tagNodeWeight), nodeID...)
}

func applySetNodeWeight(b *pebble.Batch, c *cairnpb.SetNodeWeightCmd) error {
	w := c.GetWeight()
	if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
		return Invalid("set node weight: weight must be a positive number, not %v", w)
	}
	n, err := GetNode(b, c.GetNodeId())
	if err != nil {
		return err
	}
	if err := putProto(b, nodeWeightKey(n.GetId()), c); err != nil {
		return err
	}
	if n.GetWeight() == w {
		return nil
	}
	n.Weight = w
	return putProto(b, nodeKey(n.GetId()), n)
}

// keepNodeWeight gives a registering node the weight an operator set for
// it, if any.
func keepNodeWeight(r pebble.Reader, n *cairnpb.DataNode) error {
	c := &cairnpb.SetNodeWeightCmd{}
	ok, err := GetProto(r, nodeWeightKey(n.GetId()), c)
	if err != nil || !ok {
		return err
	}
	n.Weight = c.GetWeight()
	return nil
}
