package node

import (
	"path/filepath"
	"sync"
	"unsafe"
)

// Direct I/O for the sstables a large shard is streamed into, when
// StoreOptions.DirectIO asks for it. Written through the page cache, each
// shard byte costs a copy into a cache page plus the kernel's work to find
// and reclaim that page under steady writeback: about a quarter of `cairn
// dev`'s CPU on 16 MiB PUTs, for bytes that are synced to the disk before
// the shard is acknowledged anyway. With O_DIRECT the disk reads them from
// the writer's own buffer. Pebble reads the ingested file back through the
// page cache as usual. It is off by default: on the project's machine,
// parallel direct writes ran slower than the page cache's writeback.
const (
	// directAlign is the alignment O_DIRECT needs of buffer addresses,
	// file offsets and lengths: the logical block size of every disk
	// Cairn expects (512-byte sectors are covered too).
	directAlign = 4096
	// directBufSize is how much a direct writer gathers before one write;
	// a writer holds two such buffers.
	directBufSize = 512 << 10
)

// directBufs is a pool of directBufSize buffers aligned to directAlign.
type directBufs struct{ pool sync.Pool }

func (p *directBufs) get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	raw := make([]byte, directBufSize+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	return raw[off : off+directBufSize : off+directBufSize]
}

func (p *directBufs) put(b []byte) { p.pool.Put(&b) }

// probeDirect says whether files in dir can be written with O_DIRECT
// (tmpfs, for one, refuses it), by writing and removing one block and a
// tail.
func probeDirect(dir string, bufs *directBufs) error {
	path := filepath.Join(dir, ".direct-probe")
	removeQuietly(path)
	d, err := createDirect(path, bufs)
	if err != nil {
		return err
	}
	defer removeQuietly(path)
	if err := d.Write(make([]byte, directAlign+100)); err != nil {
		d.Abort()
		return err
	}
	return d.Finish()
}
