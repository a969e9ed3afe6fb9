package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The cluster ID.
//
// A meta group keeps one random ID for its cluster, drawn once by a leader
// that finds none (when it takes office, or at the first RegisterNode if
// that comes sooner) and replicated with SetClusterIDCmd, whose apply
// refuses to replace a recorded ID: it never changes, and it is carried in
// snapshots, so a group restored from a backup keeps it. Data nodes format
// their directory for it: RegisterNode answers with it, and refuses a node
// whose directory names another cluster (rpcerr.ErrPreconditionFailed,
// FAILED_PRECONDITION), so a disk moved to the wrong cluster is never
// counted there, nor its shards reclaimed as orphans.
//
//	c/id -> the cluster ID (raw string)
const tagCluster = "c/"

func clusterIDKey() []byte { return []byte(tagCluster + "id") }

// GetClusterID returns the recorded cluster ID, "" when none is.
func GetClusterID(r pebble.Reader) (string, error) {
	v, err := GetRaw(r, clusterIDKey())
	return string(v), err
}

func applySetClusterID(b *pebble.Batch, c *cairnpb.SetClusterIDCmd) error {
	id := c.GetClusterId()
	if id == "" || len(id) > MaxNameLen {
		return Invalid("set cluster id: an ID of 1 to %d bytes is required", MaxNameLen)
	}
	have, err := GetClusterID(b)
	if err != nil {
		return err
	}
	switch have {
	case id:
		return nil
	case "":
		if err := b.Set(clusterIDKey(), []byte(id), nil); err != nil {
			return fmt.Errorf("meta: write cluster id: %w", err)
		}
		return nil
	}
	return fmt.Errorf("meta: set cluster id %s: the cluster is %s: %w", id, have, rpcerr.ErrPreconditionFailed)
}
