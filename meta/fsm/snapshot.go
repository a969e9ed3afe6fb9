package fsm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// Snapshot stream format (all integers big-endian unless varint):
//
//	header   "CAIRNFSM" | version uint32
//	record*  uvarint(len key) key uvarint(len value) value   (len key > 0)
//	end      uvarint(0)
//	trailer  record count uint64 | CRC-32C uint32 of every byte before it
//
// Restore loads the records into a fresh database and swaps it in only after
// the count and checksum match, so a damaged snapshot leaves the old state.
const (
	snapshotMagic   = "CAIRNFSM"
	snapshotVersion = 1

	maxSnapshotKey   = 1 << 20  // longest key Restore accepts
	maxSnapshotValue = 64 << 20 // longest value Restore accepts
	restoreBatchSize = 4 << 20  // bytes per Pebble batch during Restore
)

var (
	ErrSnapshotFormat   = errors.New("meta: malformed FSM snapshot")
	errSnapshotChecksum = errors.New("meta: FSM snapshot checksum mismatch")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fsmSnapshot is a pinned Pebble snapshot. Persist runs concurrently with
// Apply; the Pebble snapshot keeps its view fixed.
type fsmSnapshot struct {
	store *Store
	h     *dbHandle
	snap  *pebble.Snapshot
}

// Persist streams every key of the snapshot into sink.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.snap); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("meta: persist FSM snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("meta: persist FSM snapshot: %w", err)
	}
	return nil
}

// Release unpins the snapshot and its database generation.
func (s *fsmSnapshot) Release() {
	if err := s.snap.Close(); err != nil {
		s.store.logger.Warn("close FSM snapshot", "err", err)
	}
	s.store.release(s.h)
}

// writeSnapshot writes the whole of r to w in the snapshot format.
func writeSnapshot(w io.Writer, r pebble.Reader) error {
	return writeSnapshotFiltered(w, r, nil)
}

// saveWithoutMembers writes a point-in-time view of the state, less the
// member records (a saved snapshot restores into another group, whose
// members are its own), to w in the snapshot format. at is called once the
// view is pinned, and its answer (the Raft applied index, say) returned.
func (s *Store) SaveWithoutMembers(w io.Writer, at func() uint64) (uint64, error) {
	h, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer s.release(h)
	pinned := at()
	snap := h.db.NewSnapshot()
	defer snap.Close()
	return pinned, writeSnapshotFiltered(w, snap, isMemberKey)
}

func isMemberKey(key []byte) bool { return bytes.HasPrefix(key, []byte(tagMember)) }

// writeSnapshotFiltered writes every key of r for which skip (if set)
// returns false to w in the snapshot format.
func writeSnapshotFiltered(w io.Writer, r pebble.Reader, skip func(key []byte) bool) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)

	var hdr [len(snapshotMagic) + 4]byte
	copy(hdr[:], snapshotMagic)
	binary.BigEndian.PutUint32(hdr[len(snapshotMagic):], snapshotVersion)
	if _, err := out.Write(hdr[:]); err != nil {
		return err
	}
	var count uint64
	var buf []byte
	err := Scan(r, nil, func(key, value []byte) (bool, error) {
		if skip != nil && skip(key) {
			return true, nil
		}
		buf = binary.AppendUvarint(buf[:0], uint64(len(key)))
		buf = append(buf, key...)
		buf = binary.AppendUvarint(buf, uint64(len(value)))
		if _, err := out.Write(buf); err != nil {
			return false, err
		}
		if _, err := out.Write(value); err != nil {
			return false, err
		}
		count++
		return true, nil
	})
	if err != nil {
		return err
	}
	var tail [1 + 8]byte // end marker and count
	binary.BigEndian.PutUint64(tail[1:], count)
	if _, err := out.Write(tail[:]); err != nil {
		return err
	}
	if err := binary.Write(bw, binary.BigEndian, crc.Sum32()); err != nil {
		return err
	}
	return bw.Flush()
}

// restore loads a snapshot stream into a new database generation and swaps
// it in; the old generation is deleted once nobody reads it.
func (s *Store) restore(r io.Reader) error {
	db, dir, err := s.newDB()
	if err != nil {
		return err
	}
	if err := readSnapshot(r, db); err != nil {
		_ = db.Close()
		_ = os.RemoveAll(dir)
		return fmt.Errorf("meta: restore FSM snapshot: %w", err)
	}
	s.swap(db, dir)
	return nil
}

// crcReader hashes every byte read through it.
type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		_, _ = c.crc.Write([]byte{b})
	}
	return b, err
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	_, _ = c.crc.Write(p[:n])
	return n, err
}

// openSnapshotStream reads and checks the header of a snapshot stream and
// returns a reader positioned at its first record for decodeSnapshot.
func openSnapshotStream(r io.Reader) (*crcReader, error) {
	cr := &crcReader{r: bufio.NewReaderSize(r, 256<<10), crc: crc32.New(castagnoli)}
	var hdr [len(snapshotMagic) + 4]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrSnapshotFormat, err)
	}
	if string(hdr[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrSnapshotFormat)
	}
	if v := binary.BigEndian.Uint32(hdr[len(snapshotMagic):]); v != snapshotVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrSnapshotFormat, v)
	}
	return cr, nil
}

// ScanSnapshot reads a whole snapshot stream (a Raft snapshot, or a file
// written from SaveMetaSnapshot's stream), checking its format, record
// count and checksum, and passes each record to fn unless fn is nil.
func ScanSnapshot(r io.Reader, fn func(key, value []byte) error) error {
	cr, err := openSnapshotStream(r)
	if err != nil {
		return err
	}
	return decodeSnapshot(cr, fn)
}

// readSnapshot loads the records of a snapshot stream into db. With a nil
// db it only checks the stream: format, record count and checksum.
func readSnapshot(r io.Reader, db *pebble.DB) error {
	cr, err := openSnapshotStream(r)
	if err != nil {
		return err
	}
	if db == nil {
		return decodeSnapshot(cr, nil)
	}
	b := db.NewBatch()
	defer func() { b.Close() }()
	if err := decodeSnapshot(cr, func(key, value []byte) error {
		if err := b.Set(key, value, nil); err != nil {
			return err
		}
		if b.Len() >= restoreBatchSize {
			if err := b.Commit(pebble.NoSync); err != nil {
				return err
			}
			b.Close()
			b = db.NewBatch()
		}
		return nil
	}); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// decodeSnapshot reads the records and trailer of a snapshot stream whose
// header cr has consumed, passing each record to set (when set is non-nil).
func decodeSnapshot(cr *crcReader, set func(key, value []byte) error) error {
	var count uint64
	for {
		klen, err := binary.ReadUvarint(cr)
		if err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrSnapshotFormat, count, err)
		}
		if klen == 0 {
			break
		}
		if klen > maxSnapshotKey {
			return fmt.Errorf("%w: record %d: key of %d bytes", ErrSnapshotFormat, count, klen)
		}
		key := make([]byte, klen)
		if _, err := io.ReadFull(cr, key); err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrSnapshotFormat, count, err)
		}
		vlen, err := binary.ReadUvarint(cr)
		if err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrSnapshotFormat, count, err)
		}
		if vlen > maxSnapshotValue {
			return fmt.Errorf("%w: record %d: value of %d bytes", ErrSnapshotFormat, count, vlen)
		}
		value := make([]byte, vlen)
		if _, err := io.ReadFull(cr, value); err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrSnapshotFormat, count, err)
		}
		if set != nil {
			if err := set(key, value); err != nil {
				return err
			}
		}
		count++
	}
	var n [8]byte
	if _, err := io.ReadFull(cr, n[:]); err != nil {
		return fmt.Errorf("%w: trailer: %w", ErrSnapshotFormat, err)
	}
	want := cr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(cr.r, sum[:]); err != nil {
		return fmt.Errorf("%w: trailer: %w", ErrSnapshotFormat, err)
	}
	if got := binary.BigEndian.Uint64(n[:]); got != count {
		return fmt.Errorf("%w: trailer counts %d records, stream held %d", ErrSnapshotFormat, got, count)
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("%w: got %08x, computed %08x", errSnapshotChecksum, got, want)
	}
	if _, err := cr.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: trailing bytes after the checksum", ErrSnapshotFormat)
	}
	return nil
}
