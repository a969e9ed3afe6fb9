package node

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Disk identity.
//
// A data directory is formatted once with an identity file, <dir>/IDENTITY,
// naming the node it belongs to, its incarnation and the cluster it joined.
// Meta records the incarnation with every shard placed on the node; a node
// that comes back with another incarnation (a wiped, replaced or swapped
// disk) no longer holds the shards recorded under the old one, and meta
// repairs them at once instead of waiting for reads or scrubs to miss them.

// identityFile is the identity's file name in the data directory.
const identityFile = "IDENTITY"

// identityFormat is the version of the identity file's format.
const identityFormat = 1

// ErrForeignCluster: the data directory was formatted for another cluster
// than the one meta runs (meta refused the registration, or named another
// cluster). The node stops rather than serve another cluster's shards.
var ErrForeignCluster = errors.New("node: data directory belongs to another cluster")

// Identity is a data directory's identity.
type Identity struct {
	// NodeID is the node the directory belongs to; "" while no node has
	// claimed it (only tools opened it, with no StoreOptions.NodeID).
	NodeID string
	// Incarnation names this formatting of the directory: random, never 0,
	// and new whenever the directory is formatted again (first start on it,
	// or taken over by another node ID).
	Incarnation uint64
	// ClusterID is the cluster the directory belongs to, "" until meta has
	// named it.
	ClusterID string
	// Created is when this incarnation began.
	Created time.Time
}

// identityJSON is the identity file's content. The incarnation is 16 hex
// digits, which every JSON reader keeps exactly.
type identityJSON struct {
	Format      int       `json:"format"`
	NodeID      string    `json:"node_id"`
	Incarnation string    `json:"incarnation"`
	ClusterID   string    `json:"cluster_id"`
	Created     time.Time `json:"created"`
}

// newIncarnation returns a random non-zero incarnation.
func newIncarnation() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// loadIdentity reads the directory's identity, or formats it, for nodeID
// ("" for a tool: an existing identity is kept as it is).
//
//   - No identity file (an empty directory, or one from before disk
//     identities): a fresh incarnation.
//   - An identity of another node ID: a fresh incarnation stamped with
//     nodeID; the shards in the directory become strangers to meta, which
//     reclaims them through orphan reconciliation.
//   - An identity whose database was just created (newDB: the shards it
//     named are gone, e.g. <dir>/pebble was removed): a fresh incarnation.
//   - An unclaimed identity (no node ID): claimed by nodeID, incarnation
//     kept, since no node ever registered with it.
func (s *Store) loadIdentity(nodeID string, newDB bool) error {
	path := s.fs.PathJoin(s.dir, identityFile)
	id, err := readIdentity(s.fs, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id = Identity{NodeID: nodeID, Incarnation: newIncarnation(), Created: s.now()}
		if n := s.shards.Load(); n > 0 {
			s.log.Warn("data directory holds shards but has no identity; formatting it with a fresh incarnation",
				"shards", n, "incarnation", fmt.Sprintf("%016x", id.Incarnation))
		} else {
			s.log.Info("formatting data directory", "incarnation", fmt.Sprintf("%016x", id.Incarnation))
		}
	case err != nil:
		return err
	case newDB:
		fresh := newIncarnation()
		s.log.Warn("data directory has an identity but no database; giving it a fresh incarnation",
			"old_incarnation", fmt.Sprintf("%016x", id.Incarnation), "incarnation", fmt.Sprintf("%016x", fresh))
		if nodeID == "" {
			nodeID = id.NodeID
		}
		id = Identity{NodeID: nodeID, Incarnation: fresh, ClusterID: id.ClusterID, Created: s.now()}
	case nodeID == "" || id.NodeID == nodeID:
		s.ident = id
		return nil
	case id.NodeID == "":
		id.NodeID = nodeID
	default:
		fresh := newIncarnation()
		s.log.Warn("data directory belongs to another node ID; giving it a fresh incarnation (its shards will be reclaimed)",
			"dir_node", id.NodeID, "node", nodeID,
			"old_incarnation", fmt.Sprintf("%016x", id.Incarnation), "incarnation", fmt.Sprintf("%016x", fresh))
		id = Identity{NodeID: nodeID, Incarnation: fresh, ClusterID: id.ClusterID, Created: s.now()}
	}
	if err := writeIdentity(s.fs, s.dir, id); err != nil {
		return err
	}
	s.ident = id
	return nil
}

// readIdentity reads an identity file; a missing one is fs.ErrNotExist.
func readIdentity(fsys vfs.FS, path string) (Identity, error) {
	f, err := fsys.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Identity{}, fmt.Errorf("node: read identity: %w", fs.ErrNotExist)
		}
		return Identity{}, fmt.Errorf("node: read identity %s: %w", path, err)
	}
	defer f.Close()
	var j identityJSON
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Identity{}, fmt.Errorf("node: identity %s is malformed (%w); move it away to give the directory a fresh incarnation", path, err)
	}
	inc, err := strconv.ParseUint(j.Incarnation, 16, 64)
	if j.Format != identityFormat || err != nil || inc == 0 {
		return Identity{}, fmt.Errorf("node: identity %s: format %d, incarnation %q: not a format %d identity; move it away to give the directory a fresh incarnation",
			path, j.Format, j.Incarnation, identityFormat)
	}
	return Identity{NodeID: j.NodeID, Incarnation: inc, ClusterID: j.ClusterID, Created: j.Created}, nil
}

// writeIdentity replaces dir's identity file atomically: it writes and
// syncs a temporary file, renames it over the identity and syncs dir.
func writeIdentity(fsys vfs.FS, dir string, id Identity) error {
	b, err := json.MarshalIndent(identityJSON{
		Format:      identityFormat,
		NodeID:      id.NodeID,
		Incarnation: fmt.Sprintf("%016x", id.Incarnation),
		ClusterID:   id.ClusterID,
		Created:     id.Created.UTC(),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("node: encode identity: %w", err)
	}
	b = append(b, '\n')
	path := fsys.PathJoin(dir, identityFile)
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("node: write identity: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("node: write identity %s: %w", path, err)
	}
	d, err := fsys.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("node: sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("node: sync %s: %w", dir, err)
	}
	return nil
}

// Identity returns the data directory's identity.
func (s *Store) Identity() Identity {
	s.identMu.Lock()
	defer s.identMu.Unlock()
	return s.ident
}

// Incarnation returns the data directory's incarnation (never 0).
func (s *Store) Incarnation() uint64 { return s.Identity().Incarnation }

// SetClusterID records the cluster the directory belongs to, durably. It
// is a no-op if that cluster is already recorded; a directory of another
// cluster is ErrForeignCluster.
func (s *Store) SetClusterID(clusterID string) error {
	if clusterID == "" {
		return errors.New("node: set cluster ID: empty cluster ID")
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	s.identMu.Lock()
	defer s.identMu.Unlock()
	switch s.ident.ClusterID {
	case clusterID:
		return nil
	case "":
	default:
		return fmt.Errorf("%w: directory %s is of cluster %q, not %q", ErrForeignCluster, s.dir, s.ident.ClusterID, clusterID)
	}
	id := s.ident
	id.ClusterID = clusterID
	if err := writeIdentity(s.fs, s.dir, id); err != nil {
		return err
	}
	s.ident = id
	return nil
}
