package fsm

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// inventoryKey holds the replicated InventoryProgress:
//
//	c/inventory -> cairnpb.InventoryProgress
func inventoryKey() []byte { return []byte(tagCluster + "inventory") }

func applySetInventoryProgress(b *pebble.Batch, c *cairnpb.SetInventoryProgressCmd) error {
	p := c.GetProgress()
	switch {
	case p == nil:
		return Invalid("set inventory progress: progress is required")
	case p.GetUnitsDone() < 0 || p.GetShardsChecked() < 0 || p.GetFoundMissing() < 0 || p.GetFoundMismatched() < 0 ||
		p.GetPasses() < 0 || p.GetLastPassDurationNanos() < 0:
		return Invalid("set inventory progress: negative counts")
	case len(p.GetCursor()) > 0 && p.GetPassStartedUnixNano() == 0:
		return Invalid("set inventory progress: a cursor without a pass")
	}
	return putProto(b, inventoryKey(), p)
}

// GetInventory returns the replicated progress (empty when none).
func GetInventory(r pebble.Reader) (*cairnpb.InventoryProgress, error) {
	p := &cairnpb.InventoryProgress{}
	_, err := GetProto(r, inventoryKey(), p)
	return p, err
}
