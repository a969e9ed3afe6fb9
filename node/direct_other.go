//go:build !linux

package node

import (
	"errors"
	"os"

	"github.com/cockroachdb/pebble/v2/objstorage"
)

// createDirect is Linux-only (O_DIRECT): elsewhere large shards are
// written through the page cache.
func createDirect(string, *directBufs) (objstorage.Writable, error) {
	return nil, errors.ErrUnsupported
}

func removeQuietly(path string) { _ = os.Remove(path) }
