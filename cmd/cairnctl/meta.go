package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func newMetaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "meta",
		Short: "Manage the meta group: members, leadership, snapshots",
	}
	cmd.AddCommand(newMetaMembersCmd(g), newMetaAddCmd(g), newMetaRemoveCmd(g), newMetaTransferCmd(g), newMetaRetainCmd(g), newMetaSnapshotCmd(g))
	return cmd
}

// adminCallCtl is adminCall that, when no node could serve the call in
// time, asks the nodes for their own view (Status needs no leader) to tell
// a stopped cluster from a group without a leader.
func adminCallCtl[T any](ctx context.Context, g *globals, what string, f func(context.Context, cairnpb.AdminClient) (T, error)) (T, error) {
	out, err := adminCall(ctx, g, what, f)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return out, err
	}
	gg := *g
	gg.timeout = 2 * time.Second
	st, serr := adminCall(ctx, &gg, "status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
	switch {
	case serr != nil:
		return out, err
	case st.GetLeaderId() == "":
		return out, fmt.Errorf("%s: meta node %s answers, but the group has no leader: a majority of its %d voters must be up (%w)",
			what, st.GetAnsweredBy(), len(st.GetMembers()), err)
	default:
		return out, fmt.Errorf("%s: meta node %s answers and names %s as leader, which did not serve the call in time (%w)",
			what, st.GetAnsweredBy(), st.GetLeaderId(), err)
	}
}

type metaMemberJSON struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	GRPCAddr string `json:"grpc_addr"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

func writeMembers(cmd *cobra.Command, output string, members []*cairnpb.MetaMemberInfo) error {
	if output == "json" {
		out := make([]metaMemberJSON, 0, len(members))
		for _, m := range members {
			out = append(out, metaMemberJSON{m.GetId(), m.GetRaftAddr(), m.GetGrpcAddr(), m.GetSuffrage(), m.GetLeader()})
		}
		return writeJSON(cmd.OutOrStdout(), out)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tRAFT ADDR\tGRPC ADDR\tSUFFRAGE\tROLE\n")
	for _, m := range members {
		role := "follower"
		if m.GetLeader() {
			role = "leader"
		}
		grpcAddr := m.GetGrpcAddr()
		if grpcAddr == "" {
			grpcAddr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.GetId(), m.GetRaftAddr(), grpcAddr, m.GetSuffrage(), role)
	}
	return tw.Flush()
}

func newMetaMembersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List the meta group's members as the leader sees them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCallCtl(cmd.Context(), g, "list meta members", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListMetaMembersResponse, error) {
				return a.ListMetaMembers(ctx, &cairnpb.ListMetaMembersRequest{})
			})
			if err != nil {
				return err
			}
			return writeMembers(cmd, g.output, resp.GetMembers())
		},
	}
}

func newMetaAddCmd(g *globals) *cobra.Command {
	var raftAddr, grpcAddr string
	var nonvoter bool
	cmd := &cobra.Command{
		Use:   "add ID --raft-addr HOST:PORT --grpc-addr HOST:PORT",
		Short: "Add a running, empty meta node (started with 'cairn meta --join') to the group",
		Long: `Add a meta node to the group as a voter (or --nonvoter). Start the node first
with 'cairn meta --id ID --raft-addr ... --grpc-addr ... --dir EMPTY --join'; it
waits until the leader adds it, then catches up from a snapshot and the log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if raftAddr == "" || grpcAddr == "" {
				return fmt.Errorf("--raft-addr and --grpc-addr are required")
			}
			resp, err := adminCallCtl(cmd.Context(), g, "add meta member "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AddMetaMemberResponse, error) {
				return a.AddMetaMember(ctx, &cairnpb.AddMetaMemberRequest{Id: args[0], RaftAddr: raftAddr, GrpcAddr: grpcAddr, Nonvoter: nonvoter})
			})
			if err != nil {
				return err
			}
			return writeMembers(cmd, g.output, resp.GetMembers())
		},
	}
	cmd.Flags().StringVar(&raftAddr, "raft-addr", "", "the new node's Raft address (its --raft-addr)")
	cmd.Flags().StringVar(&grpcAddr, "grpc-addr", "", "the new node's gRPC address (its --grpc-addr)")
	cmd.Flags().BoolVar(&nonvoter, "nonvoter", false, "add as a non-voting member (replicates, does not vote)")
	return cmd
}

func newMetaRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "remove ID",
		Short:             "Remove a member from the group (the leader hands leadership over first)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: memberNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := adminCallCtl(cmd.Context(), g, "remove meta member "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RemoveMetaMemberResponse, error) {
				return a.RemoveMetaMember(ctx, &cairnpb.RemoveMetaMemberRequest{Id: args[0]})
			})
			if err != nil {
				return err
			}
			return writeMembers(cmd, g.output, resp.GetMembers())
		},
	}
}

func newMetaTransferCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "transfer-leader [ID]",
		Short:             "Hand leadership to the named voter, or to the most up-to-date one",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: memberNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			resp, err := adminCallCtl(cmd.Context(), g, "transfer leadership", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.TransferLeadershipResponse, error) {
				return a.TransferLeadership(ctx, &cairnpb.TransferLeadershipRequest{Id: target})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"previous_leader": resp.GetPreviousLeaderId(), "leader": resp.GetLeaderId()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "leader: %s (was %s)\n", resp.GetLeaderId(), resp.GetPreviousLeaderId())
			return nil
		},
	}
}

func newMetaSnapshotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save the meta state to a file, or check a saved file",
	}
	var keep int
	save := &cobra.Command{
		Use:   "save FILE|DIR",
		Short: "Stream a consistent snapshot of the meta state from the leader into FILE",
		Long: `Save a consistent copy of the meta state (namespaces, users, keys, buckets,
object metadata, inline object bytes, data node records) into FILE. The file is
written next to FILE and renamed into place only once its SHA-256 matches the
one the leader sent. Restore it into a new group with
'cairn meta --bootstrap --restore FILE ...' on an empty directory.

Given an existing directory, the file is DIR/meta-<UTC time>.snap, and --keep N
then deletes all but the newest N such files once the new one is in place (the
Helm chart's backup CronJob runs it this way).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, dir := args[0], ""
			if fi, err := os.Stat(file); err == nil && fi.IsDir() {
				dir = file
				file = filepath.Join(dir, snapshotPrefix+time.Now().UTC().Format(snapshotStamp)+snapshotSuffix)
			}
			if keep != 0 && dir == "" {
				return fmt.Errorf("--keep applies only when the argument is a directory; %s is not one", args[0])
			}
			if keep < 0 {
				return fmt.Errorf("--keep %d: give a positive count (0, the default, keeps every file)", keep)
			}
			if err := saveSnapshot(cmd, g, file); err != nil {
				return err
			}
			if keep > 0 {
				return pruneSnapshots(cmd, dir, keep)
			}
			return nil
		},
	}
	save.Flags().IntVar(&keep, "keep", 0, "with a directory: keep only the newest N meta-*.snap files in it")
	cmd.AddCommand(save)
	cmd.AddCommand(&cobra.Command{
		Use:   "verify FILE",
		Short: "Check a saved snapshot's format, record count and checksum",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := meta.CheckSnapshotFile(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
			return nil
		},
	})
	return cmd
}

type snapshotJSON struct {
	File         string `json:"file"`
	Bytes        int64  `json:"bytes"`
	SHA256       string `json:"sha256"`
	AppliedIndex uint64 `json:"applied_index"`
	Leader       string `json:"leader"`
}

func saveSnapshot(cmd *cobra.Command, g *globals, file string) error {
	if err := g.checkOutput(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".part-*")
	if err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	opts, err := g.dialOptions()
	if err != nil {
		return err
	}
	// The transfer may outlast --timeout on a large state, so it runs on a
	// plain connection until it ends or is cancelled; the meta nodes are
	// tried in turn, and followers relay the leader's stream.
	var final *cairnpb.MetaSnapshotChunk
	var n int64
	sum := sha256.New()
	try := func(addr string) error {
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			return err
		}
		defer cc.Close()
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		sum.Reset()
		n, final = 0, nil
		stream, err := cairnpb.NewAdminClient(cc).SaveMetaSnapshot(cmd.Context(), &cairnpb.SaveMetaSnapshotRequest{}, grpc.WaitForReady(false))
		if err != nil {
			return rpcerr.FromStatus(err)
		}
		for {
			m, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return rpcerr.FromStatus(err)
			}
			if m.GetFinal() {
				final = m
				continue
			}
			if _, err := io.MultiWriter(tmp, sum).Write(m.GetData()); err != nil {
				return fmt.Errorf("write %s: %w", tmp.Name(), err)
			}
			n += int64(len(m.GetData()))
		}
	}
	for _, addr := range g.addrs() {
		err = try(addr)
		if err == nil || !rpcerr.Retryable(err) {
			break
		}
	}
	if errors.Is(err, rpcerr.ErrUnauthenticated) {
		return fmt.Errorf("snapshot save: %w\n(give the cluster's token with --token-file FILE, --token or CAIRN_ADMIN_TOKEN)", err)
	}
	if err != nil {
		return fmt.Errorf("snapshot save from %s: %w", g.addr, err)
	}
	switch {
	case final == nil:
		return fmt.Errorf("snapshot save: the stream ended without its final message; nothing written")
	case final.GetSize() != n || !bytes.Equal(final.GetSha256(), sum.Sum(nil)):
		return fmt.Errorf("snapshot save: received %d bytes (sha256 %x), the leader sent %d (sha256 %x); nothing written",
			n, sum.Sum(nil), final.GetSize(), final.GetSha256())
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	if err := meta.CheckSnapshotFile(tmp.Name()); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	out := snapshotJSON{File: file, Bytes: n, SHA256: fmt.Sprintf("%x", final.GetSha256()), AppliedIndex: final.GetAppliedIndex(), Leader: final.GetLeaderId()}
	if g.output == "json" {
		return writeJSON(cmd.OutOrStdout(), out)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "saved %s: %d bytes, sha256 %s, applied index %d, from %s\n", out.File, out.Bytes, out.SHA256, out.AppliedIndex, out.Leader)
	return nil
}

// Snapshot files saved into a directory are named meta-<UTC time>.snap;
// the time sorts as the name does.
const (
	snapshotPrefix = "meta-"
	snapshotSuffix = ".snap"
	snapshotStamp  = "20060102T150405.000Z"
)

// pruneSnapshots deletes all but the newest keep snapshot files in dir,
// saying which on stderr.
func pruneSnapshots(cmd *cobra.Command, dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot save: prune %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, snapshotPrefix) && strings.HasSuffix(n, snapshotSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return fmt.Errorf("snapshot save: prune %s: %w", dir, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "pruned %s\n", names[0])
		names = names[1:]
	}
	return nil
}
