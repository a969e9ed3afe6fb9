package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/proto/pki"
)

// runMeta runs a meta node; with checkOnly it returns once the flags are
// parsed and checked (cairn check-flags).
func runMeta(ctx context.Context, args []string, checkOnly bool) error {
	fs := flag.NewFlagSet("cairn meta", flag.ContinueOnError)
	var (
		lf        logFlags
		id        = fs.String("id", "", "this meta node's ID (required)")
		raftAddr  = fs.String("raft-addr", "127.0.0.1:7001", "Raft transport address (listen and advertise)")
		grpcAddr  = fs.String("grpc-addr", "127.0.0.1:7101", "gRPC address for the Meta and Admin services")
		dir       = fs.String("dir", "", "data directory (required)")
		peers     = fs.String("peers", "", "initial voters as id=raftaddr,... (include this node)")
		bootstrap = fs.Bool("bootstrap", false, "bootstrap a new group from --peers if this node has no state")
		join      = fs.Bool("join", false, "start with no group and wait to be added by 'cairnctl meta add' (no --bootstrap)")
		bootPeer  = fs.Bool("bootstrap-if-peer", false, "--bootstrap when --id is one of --peers, else --join: one command line for every member of a StatefulSet, whose first pods are the initial voters")
		restore   = fs.String("restore", "", "with --bootstrap on an empty --dir: load this 'cairnctl meta snapshot save' file before serving")
		tok       adminTokenFlags
		itls      internalTLSFlags
		mkf       metaKeyFlags
		opsAddr   = opsFlag(fs)
		gcGrace   = fs.Duration("gc-grace", meta.DefaultGCGrace, "how long unreferenced shards are kept before they are deleted")
		rpGrace   = fs.Duration("repair-grace", meta.DefaultRepairGrace, "how long a data node may miss heartbeats before its shards are rebuilt elsewhere")
		rpEvery   = fs.Duration("repair-interval", meta.DefaultRepairInterval, "pause between repair scans")
		rpRate    = fs.Int64("repair-rate", meta.DefaultRepairBytesPerSecond, "repair throughput limit in shard bytes per second, cluster-wide (negative: unlimited)")
		rpPar     = fs.Int("repair-parallel", meta.DefaultRepairParallel, "objects (or parts) repaired at once")
		rebalance = fs.Bool("rebalance", true, "move shards automatically when the data-node layout changes (false: only on `cairnctl node rebalance`)")
		orphGrace = fs.Duration("orphan-grace", meta.DefaultOrphanGrace, "how old a shard no version references must be before it is reclaimed as an orphan")
		orphEvery = fs.Duration("orphan-interval", meta.DefaultOrphanInterval, "pause between orphan reconciliation rounds")
		invEvery  = fs.Duration("inventory-interval", meta.DefaultInventoryInterval, "pause between inventory reconciliation passes (every recorded shard checked on its node)")
		invRate   = fs.Int64("inventory-rate", meta.DefaultInventoryRate, "shards per second the inventory reconciliation checks, over all data nodes (negative: unlimited)")
		chkRate   = fs.Int64("shard-check-rate", meta.DefaultShardCheckRate, "shards per second the leader checks after gateways reported them")
		lcDay     = fs.Duration(lifecycleDayFlag, meta.DefaultLifecycleDay, "testing only: the length of a lifecycle rule's day (docs/lifecycle.md); give gateways the same")
		lcRate    = fs.Int64("lifecycle-rate", meta.DefaultLifecycleRate, "expiry index entries per second the lifecycle job examines (negative: unlimited)")
	)
	hideFlags(fs, lifecycleDayFlag)
	lf.register(fs)
	mkf.register(fs)
	tok.register(fs)
	itls.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	if *id == "" || *dir == "" {
		return fmt.Errorf("--id and --dir are required")
	}
	ps, err := parsePeers(*peers)
	if err != nil {
		return err
	}
	if *bootPeer {
		if *bootstrap || *join {
			return fmt.Errorf("--bootstrap-if-peer decides between --bootstrap and --join itself: give neither")
		}
		*bootstrap = slices.ContainsFunc(ps, func(p meta.Peer) bool { return p.ID == *id })
		*join = !*bootstrap
	}
	if err := checkJoin(*join, *bootstrap, *restore); err != nil {
		return err
	}
	log, err := lf.logger("meta")
	if err != nil {
		return err
	}
	if checkOnly {
		return nil
	}
	adminToken, err := tok.token(*dir, log)
	if err != nil {
		return err
	}
	if *join {
		log.Info("joining: waiting to be added to a meta group", "id", *id, "raft_addr", *raftAddr)
	}
	transport, err := itls.transport(pki.Identity{Role: pki.RoleMeta, ID: *id}, log)
	if err != nil {
		return err
	}
	ring, err := mkf.keyring()
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		ps = []meta.Peer{{ID: *id, RaftAddr: *raftAddr}}
	}
	lis, err := transport.Net().Listen(ctx, *grpcAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *grpcAddr, err)
	}
	srv, err := meta.New(ctx, meta.Config{
		ID: *id, RaftAddr: *raftAddr, GRPCAddr: lis.Addr().String(), Dir: *dir,
		Peers: ps, Bootstrap: *bootstrap, Logger: log.With("node", *id), GCGrace: *gcGrace,
		RepairGrace: *rpGrace, RepairInterval: *rpEvery, RepairBytesPerSecond: *rpRate, RepairParallel: *rpPar, RebalanceManual: !*rebalance,
		OrphanGrace: *orphGrace, OrphanInterval: *orphEvery,
		InventoryInterval: *invEvery, InventoryRate: *invRate, ShardCheckRate: *chkRate,
		LifecycleDay: *lcDay, LifecycleRate: *lcRate,
		AdminToken: adminToken, RestoreFrom: *restore,
		Keyring: ring, RewrapRate: mkf.rate, Transport: transport,
	})
	if err != nil {
		lis.Close()
		return err
	}
	defer srv.Close()
	reg := ops.NewRegistry()
	if err := registerMetaMetrics(reg, srv); err != nil {
		lis.Close()
		return err
	}
	go func() {
		if err := ops.Serve(ctx, *opsAddr, transport.Net(), srv.WaitLeader, reg, log); err != nil {
			log.Error("ops endpoints stopped", "err", err)
		}
	}()
	return srv.Serve(ctx, lis)
}

// parsePeers reads "id=addr,id=addr".
func parsePeers(s string) ([]meta.Peer, error) {
	var out []meta.Peer
	for _, item := range splitList(s) {
		id, addr, ok := strings.Cut(item, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("--peers: %q is not id=raftaddr", item)
		}
		out = append(out, meta.Peer{ID: id, RaftAddr: addr})
	}
	return out, nil
}
