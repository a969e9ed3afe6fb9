package node

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// A full disk is the one failure Pebble does not survive: a WAL write that
// fails with ENOSPC panics the process, and a node that restarts on the
// same full disk dies again. So PutShard keeps a reserve: it refuses to
// start, or to go on with, a shard while the filesystem holding the store
// has less than StoreOptions.MinFreeBytes available, with an error wrapping
// rpcerr.ErrNoSpace (gRPC RESOURCE_EXHAUSTED). The gateway treats that
// node as failed for that write and commits on the others, or fails the
// write; nothing it acknowledged depends on the refused shard. Deletions
// and reads need no new space and are never refused, so garbage collection
// can still free the disk.

// spaceCheckBlocks is how often, in blocks, a running PutShard looks at
// the free space again.
const spaceCheckBlocks = 16

// checkSpace returns an rpcerr.ErrNoSpace error when the store's
// filesystem has less than the reserve available. Filesystems that cannot
// tell (vfs.NewMem) are never refused.
func (s *Store) checkSpace(id string) error {
	if s.minFree <= 0 {
		return nil
	}
	du, err := s.fs.GetDiskUsage(s.dir)
	switch {
	case errors.Is(err, vfs.ErrUnsupported):
		return nil
	case err != nil:
		return fmt.Errorf("node: put shard %q: statfs %s: %w", id, s.dir, err)
	}
	if avail := int64(du.AvailBytes); avail < s.minFree {
		return fmt.Errorf("node: put shard %q: %d bytes free, below the %d kept in reserve: %w", id, avail, s.minFree, rpcerr.ErrNoSpace)
	}
	return nil
}
