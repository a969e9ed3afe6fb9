package meta

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// Backups. SaveMetaSnapshot streams a point-in-time copy of the FSM (a
// Pebble snapshot taken after a linearizable read barrier on the leader) in
// the FSM snapshot format, member records left out: they describe the
// group that made the backup, not the one that restores it. A node started
// with Config.RestoreFrom on an empty directory loads such a file through
// raft.Restore once it leads, so followers receive it as an ordinary Raft
// snapshot.

// backupChunk is the largest data message of a snapshot stream.
const backupChunk = 256 << 10

// restoreLeadTimeout bounds how long a restoring node waits to lead.
const restoreLeadTimeout = 2 * time.Minute

// chunkSender sends what is written to it as snapshot chunks and hashes it.
type chunkSender struct {
	send func(*cairnpb.MetaSnapshotChunk) error
	sum  hash.Hash
	n    int64
}

func (c *chunkSender) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += backupChunk {
		end := min(off+backupChunk, len(p))
		// gRPC may read a sent message lazily: send a copy.
		if err := c.send(&cairnpb.MetaSnapshotChunk{Data: append([]byte(nil), p[off:end]...)}); err != nil {
			return off, err
		}
	}
	c.sum.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

func (a *adminService) SaveMetaSnapshot(req *cairnpb.SaveMetaSnapshotRequest, stream cairnpb.Admin_SaveMetaSnapshotServer) error {
	ctx := stream.Context()
	cc, err := a.s.leaderConn(ctx)
	if err != nil {
		return err
	}
	if cc == nil {
		return a.s.saveSnapshot(ctx, stream.Send)
	}
	// Relay the leader's stream; its statuses pass through unchanged.
	fctx := metadata.AppendToOutgoingContext(rpcauth.Forward(ctx), forwardedKey, a.s.cfg.ID)
	src, err := cairnpb.NewAdminClient(cc).SaveMetaSnapshot(fctx, req)
	if err != nil {
		return err
	}
	for {
		m, err := src.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(m); err != nil {
			return err
		}
	}
}

// saveSnapshot streams the FSM state, then a final chunk with the totals.
func (s *Server) saveSnapshot(ctx context.Context, send func(*cairnpb.MetaSnapshotChunk) error) error {
	if err := s.node.readBarrier(ctx); err != nil {
		return err
	}
	out := &chunkSender{send: send, sum: sha256.New()}
	applied, err := s.node.store.SaveWithoutMembers(out, s.node.raft.AppliedIndex)
	if err != nil {
		return fmt.Errorf("meta: stream FSM snapshot: %w", err)
	}
	s.cfg.Logger.Info("streamed FSM snapshot", "bytes", out.n, "applied_index", applied)
	return send(&cairnpb.MetaSnapshotChunk{
		Final: true, Size: out.n, Sha256: out.sum.Sum(nil), AppliedIndex: applied, LeaderId: s.cfg.ID,
	})
}

// CheckSnapshotFile verifies a file written from SaveMetaSnapshot's stream:
// its format, record count and CRC-32C.
func CheckSnapshotFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("meta: open snapshot: %w", err)
	}
	defer f.Close()
	if err := fsm.ScanSnapshot(f, nil); err != nil {
		return fmt.Errorf("meta: snapshot %s: %w", path, err)
	}
	return nil
}

// restoreFrom loads a saved snapshot into a group this node just
// bootstrapped: it waits until the group has a leader; if that is this
// node, it has Raft install the file as the group's state, which followers
// then receive as a Raft snapshot. A node that already had state (a
// restart) skips it, and so does a node another member leads: that member
// restores (start every bootstrapping member with the same file).
func (s *Server) restoreFrom(ctx context.Context, path string) error {
	log := s.cfg.Logger.With("file", path)
	if !s.cfg.Bootstrap {
		return fmt.Errorf("%w: restoring a snapshot needs Bootstrap (a new group)", errConfig)
	}
	select {
	case <-s.node.bootstrapDecided:
	case <-ctx.Done():
		return fmt.Errorf("meta: restore: %w", ctx.Err())
	}
	if !s.node.bootstrapped {
		log.Info("node already has Raft state, or its group exists; not restoring the snapshot")
		return nil
	}
	// Checks the file too. See restore_index.go for why the seq matters.
	seq, err := snapshotFileSeq(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("meta: open snapshot: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("meta: stat snapshot: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, restoreLeadTimeout)
	defer cancel()
	log.Info("waiting to lead the new group before restoring")
	for {
		if ld := s.node.leadership(); ld != nil {
			select {
			case <-ld.ready:
			case <-ctx.Done():
				return fmt.Errorf("meta: restore: %w", ctx.Err())
			}
			break
		}
		if _, id := s.node.raft.LeaderWithID(); id != "" && string(id) != s.cfg.ID {
			// Every bootstrapping member may be given the file: whichever
			// leads first restores, and the others receive its snapshot.
			log.Info("another member leads the new group and restores the snapshot", "leader", id)
			return nil
		}
		if !leaderjob.Sleep(ctx, 20*time.Millisecond) {
			return fmt.Errorf("meta: restore: this node did not become leader: %w", ctx.Err())
		}
	}
	// Raft installs the snapshot at max(Index, its last index)+1, so every
	// later command applies above every seq in the file.
	err = s.node.raft.Restore(&raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: seq, Size: fi.Size()}, f, restoreLeadTimeout)
	if err != nil {
		return fmt.Errorf("meta: restore %s: %w", path, err)
	}
	// The restored state has no member records: publish this leader's.
	rec := &cairnpb.MetaMember{Id: s.cfg.ID, RaftAddr: s.cfg.RaftAddr, GrpcAddr: s.cfg.GRPCAddr}
	if err := s.node.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_SetMember{SetMember: &cairnpb.SetMemberCmd{Member: rec}}}); err != nil {
		return fmt.Errorf("meta: restore: publish member record: %w", err)
	}
	log.Info("restored FSM state from snapshot", "bytes", fi.Size(), "highest_seq", seq, "index", s.node.raft.LastIndex())
	return nil
}
