//go:build linux

package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2/objstorage"
	"golang.org/x/sys/unix"
)

// directWritable is an objstorage.Writable over a new file opened with
// O_DIRECT. Writes are gathered into one of two aligned buffers; a full
// buffer is written by a goroutine while the other fills, so the disk's
// wait overlaps the stream's arrival as the page cache's writeback did.
// Finish writes the aligned part of the rest directly, the unaligned tail
// with O_DIRECT switched off, then syncs and closes the file.
type directWritable struct {
	f        *os.File
	bufs     *directBufs
	buf      [2][]byte // nil after Finish or Abort
	cur      int       // the buffer being filled
	n        int       // bytes of it in use
	done     chan error
	inFlight bool // a write of buf[cur^1] is running; done will say how it went
}

// errDirectClosed is returned by a write after Finish or Abort.
var errDirectClosed = errors.New("node: direct writer closed")

// createDirect creates path (which must not exist) for direct writing.
func createDirect(path string, bufs *directBufs) (objstorage.Writable, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_DIRECT, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s with O_DIRECT: %w", path, err)
	}
	return &directWritable{f: f, bufs: bufs, buf: [2][]byte{bufs.get(), bufs.get()}, done: make(chan error, 1)}, nil
}

// wait waits for the write in flight, if any.
func (d *directWritable) wait() error {
	if !d.inFlight {
		return nil
	}
	d.inFlight = false
	if err := <-d.done; err != nil {
		return fmt.Errorf("direct write: %w", err)
	}
	return nil
}

func (d *directWritable) Write(p []byte) error {
	if d.buf[0] == nil {
		return errDirectClosed
	}
	for len(p) > 0 {
		k := copy(d.buf[d.cur][d.n:], p)
		d.n += k
		p = p[k:]
		if d.n < directBufSize {
			continue
		}
		if err := d.wait(); err != nil {
			return err
		}
		full := d.buf[d.cur]
		d.inFlight = true
		go func() {
			_, err := d.f.Write(full)
			d.done <- err
		}()
		d.cur, d.n = d.cur^1, 0
	}
	return nil
}

func (d *directWritable) Finish() error {
	if d.buf[0] == nil {
		return errDirectClosed
	}
	err := d.finish()
	d.release()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *directWritable) finish() error {
	if err := d.wait(); err != nil {
		return err
	}
	buf := d.buf[d.cur]
	aligned := d.n &^ (directAlign - 1)
	if aligned > 0 {
		if _, err := d.f.Write(buf[:aligned]); err != nil {
			return fmt.Errorf("direct write: %w", err)
		}
	}
	if tail := buf[aligned:d.n]; len(tail) > 0 {
		if err := d.buffered(); err != nil {
			return err
		}
		if _, err := d.f.Write(tail); err != nil {
			return fmt.Errorf("write tail: %w", err)
		}
	}
	return d.f.Sync()
}

// buffered switches O_DIRECT off for the file's unaligned tail.
func (d *directWritable) buffered() error {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		var flags int
		if flags, serr = unix.FcntlInt(fd, unix.F_GETFL, 0); serr == nil {
			_, serr = unix.FcntlInt(fd, unix.F_SETFL, flags&^unix.O_DIRECT)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("switch off O_DIRECT: %w", serr)
	}
	return nil
}

func (d *directWritable) Abort() {
	if d.buf[0] == nil {
		return
	}
	_ = d.wait() // the buffer must be free before it goes back to the pool
	d.release()
	_ = d.f.Close() // the caller removes the file
}

func (d *directWritable) release() {
	for i, b := range d.buf {
		d.bufs.put(b)
		d.buf[i] = nil
	}
}

func removeQuietly(path string) { _ = os.Remove(path) }
