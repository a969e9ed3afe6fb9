package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/proto/pki"
)

// runData runs a data node; with checkOnly it returns once the flags are
// parsed and checked (cairn check-flags).
func runData(ctx context.Context, args []string, checkOnly bool) error {
	fs := flag.NewFlagSet("cairn data", flag.ContinueOnError)
	var (
		lf     logFlags
		itls   internalTLSFlags
		id     = fs.String("id", "", "this data node's ID (required)")
		listen = fs.String("listen", "127.0.0.1:7201", "gRPC listen address of the Data service")
		adv    = fs.String("advertise", "", "address other processes dial (default: the listen address)")
		dir    = fs.String("dir", "", "data directory (required); formatted on first use with an identity file (node ID, incarnation, cluster ID), and refused if it belongs to another cluster")
		metas  = fs.String("meta", "127.0.0.1:7101", "meta nodes' gRPC addresses, comma separated")
		zone   = fs.String("zone", "", "failure domain: zone")
		rack   = fs.String("rack", "", "failure domain: rack")
		host   = fs.String("host", "", "failure domain: host; no two shards of an object go to one host (default: this machine's hostname; give each node its own label when several run on one machine for testing)")
		weight = fs.Float64("weight", 1, "placement weight")
		opsAd  = opsFlag(fs)
		direct = fs.Bool("direct-io", false, "write large shards with O_DIRECT, bypassing the page cache: less CPU per byte, but on disks that handle many parallel direct writes poorly, less throughput; measure before turning it on (docs/performance.md)")
		minFre = fs.Int64("min-free", 0, "free disk space in bytes that writes never eat into: shard writes are refused below it (0: twice the memtable size, 128 MiB; negative: no reserve)")
		scrubI = fs.Duration("scrub-interval", node.DefaultScrubInterval, "pause between scrub passes that re-read and verify every stored block (0 or negative: never scrub)")
		scrubR = fs.Int64("scrub-rate", node.DefaultScrubBytesPerSec, "scrubber read limit in bytes per second (negative: unlimited)")
	)
	lf.register(fs)
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
	if _, err := lf.logger("data"); err != nil || checkOnly {
		return err
	}
	if *host == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = *id
		}
		*host = h
	}
	if *scrubI <= 0 {
		*scrubI = -1
	}
	log, err := lf.logger("data")
	if err != nil {
		return err
	}
	transport, err := itls.transport(pki.Identity{Role: pki.RoleData, ID: *id}, log)
	if err != nil {
		return err
	}
	// The ops endpoints come up first (healthz answers while the store
	// opens); the node's metrics join the registry once it is open, and
	// readyz answers ready once meta counts the node (node.Node.Ready).
	reg := ops.NewRegistry()
	var opened atomic.Pointer[node.Node]
	ready := func(ctx context.Context) error {
		n := opened.Load()
		if n == nil {
			return fmt.Errorf("%w: the store is opening", node.ErrNotReady)
		}
		return n.Ready(ctx)
	}
	go func() {
		if err := ops.Serve(ctx, *opsAd, transport.Net(), ready, reg, log); err != nil {
			log.Error("ops endpoints stopped", "err", err)
		}
	}()
	n, err := node.New(node.Config{
		ID: *id, Dir: *dir, Listen: *listen, Advertise: *adv, MetaAddrs: splitList(*metas),
		Zone: *zone, Rack: *rack, Host: *host, Weight: *weight, Logger: log.With("node", *id),
		ScrubInterval: *scrubI, ScrubBytesPerSecond: *scrubR,
		Store: node.StoreOptions{MinFreeBytes: *minFre, DirectIO: *direct}, Transport: transport,
	})
	if err != nil {
		return err
	}
	if err := registerDataMetrics(reg, *id, n); err != nil {
		return errors.Join(err, n.Close())
	}
	opened.Store(n)
	lis, err := transport.Net().Listen(ctx, *listen)
	if err != nil {
		return errors.Join(fmt.Errorf("listen %s: %w", *listen, err), n.Close())
	}
	return errors.Join(n.Serve(ctx, lis), n.Close())
}
