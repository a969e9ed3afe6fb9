package meta

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

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
	if err := n.store.View(func(r pebble.Reader) error {
		var err error
		id, err = fsm.GetClusterID(r)
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
	if err != nil && !fsm.IsRefusal(err) {
		return "", err
	}
	if err := n.store.View(func(r pebble.Reader) error {
		var err error
		id, err = fsm.GetClusterID(r)
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
