package meta

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// getClusterID returns the recorded cluster ID, "" when none is.
func getClusterID(r pebble.Reader) (string, error) {
	v, err := getRaw(r, clusterIDKey())
	return string(v), err
}

func applySetClusterID(b *pebble.Batch, c *cairnpb.SetClusterIDCmd) error {
	id := c.GetClusterId()
	if id == "" || len(id) > maxNameLen {
		return invalid("set cluster id: an ID of 1 to %d bytes is required", maxNameLen)
	}
	have, err := getClusterID(b)
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

// newClusterID draws a cluster ID: 16 random bytes in hex.
func newClusterID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("meta: draw cluster id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ensureClusterID returns the cluster ID, first committing a new one when
// none is recorded. On the leader only. Two leaders (or calls) that race
// both propose; the second apply is refused and the first ID stays.
func (n *node) ensureClusterID(ctx context.Context) (string, error) {
	var id string
	if err := n.store.view(func(r pebble.Reader) error {
		var err error
		id, err = getClusterID(r)
		return err
	}); err != nil || id != "" {
		return id, err
	}
	drawn, err := newClusterID()
	if err != nil {
		return "", err
	}
	// Called within RegisterNode too, whose request ID is its own command's.
	err = n.propose(withoutRequestID(ctx), &cairnpb.Command{Op: &cairnpb.Command_SetClusterId{SetClusterId: &cairnpb.SetClusterIDCmd{ClusterId: drawn}}})
	if err != nil && !isRefusal(err) {
		return "", err
	}
	if err := n.store.view(func(r pebble.Reader) error {
		var err error
		id, err = getClusterID(r)
		return err
	}); err != nil {
		return "", err
	}
	if id == drawn {
		n.cfg.Logger.Info("drew the cluster ID", "cluster_id", id)
	}
	return id, nil
}

// checkClusterID refuses a data node whose directory was formatted for
// another cluster; "" (not formatted yet) is accepted.
func checkClusterID(ours, theirs, nodeID string) error {
	if theirs == "" || theirs == ours {
		return nil
	}
	return fmt.Errorf("meta: data node %s belongs to cluster %s, this is cluster %s: refusing it (a data directory from another cluster?): %w",
		nodeID, theirs, ours, rpcerr.ErrPreconditionFailed)
}
