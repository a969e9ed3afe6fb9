package meta

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Version records remember the Raft index of the apply that made them (seq:
// ObjectVersion.seq, the ^seq suffix of noncurrent keys, the names of delete
// markers), and a key's versions are ordered by it. A group restored from a
// backup therefore has to apply every later command at an index above each
// seq in the backup, or a new version would sort as older than a restored one
// and could land on, and overwrite, a restored noncurrent record. Backup
// files do not carry the source group's applied index, but the version
// records are the only state that holds Raft indexes, so the highest seq in
// the file is the bound that matters: restoreFrom installs the file as a Raft
// snapshot at an index above it.

// snapshotFileSeq checks a file written from SaveMetaSnapshot's stream, as
// CheckSnapshotFile does, and returns the highest seq of the version
// records in it (current and noncurrent versions and delete markers); 0
// when it holds none.
func snapshotFileSeq(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("meta: open snapshot: %w", err)
	}
	defer f.Close()
	seq, err := maxSnapshotSeq(f)
	if err != nil {
		return 0, fmt.Errorf("meta: snapshot %s: %w", path, err)
	}
	return seq, nil
}

// maxSnapshotSeq reads a whole snapshot stream, checking its format, record
// count and checksum, and returns the highest seq of its version records.
func maxSnapshotSeq(r io.Reader) (uint64, error) {
	var top uint64
	err := fsm.ScanSnapshot(r, func(key, value []byte) error {
		var seq uint64
		switch {
		case bytes.HasPrefix(key, []byte(fsm.TagNoncurrent)):
			// Noncurrent versions and delete markers: the key ends in ^seq.
			if len(key) < len(fsm.TagNoncurrent)+9 {
				return fmt.Errorf("%w: short noncurrent key %q", fsm.ErrSnapshotFormat, key)
			}
			seq = ^binary.BigEndian.Uint64(key[len(key)-8:])
		case bytes.HasPrefix(key, []byte(fsm.TagObject)):
			v := &cairnpb.ObjectVersion{}
			if err := proto.Unmarshal(value, v); err != nil {
				return fmt.Errorf("%w: decode version at %q: %w", fsm.ErrSnapshotFormat, key, err)
			}
			seq = v.GetSeq()
		default:
			return nil
		}
		top = max(top, seq)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return top, nil
}
