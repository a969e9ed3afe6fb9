package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/node"
)

func runData(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cairn data", flag.ContinueOnError)
	var (
		lf     logFlags
		id     = fs.String("id", "", "this data node's ID (required)")
		listen = fs.String("listen", "127.0.0.1:7201", "gRPC listen address of the Data service")
		adv    = fs.String("advertise", "", "address other processes dial (default: the listen address)")
		dir    = fs.String("dir", "", "data directory (required)")
		metas  = fs.String("meta", "127.0.0.1:7101", "meta nodes' gRPC addresses, comma separated")
		zone   = fs.String("zone", "", "failure domain: zone")
		rack   = fs.String("rack", "", "failure domain: rack")
		host   = fs.String("host", "", "failure domain: host (default: the node ID)")
		weight = fs.Float64("weight", 1, "placement weight")
		opsAd  = opsFlag(fs)
	)
	lf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *dir == "" {
		return fmt.Errorf("--id and --dir are required")
	}
	log, err := lf.logger("data")
	if err != nil {
		return err
	}
	// The ops endpoints come up first (healthz answers while the store
	// opens); the node's metrics join the registry once it is open.
	reg := ops.NewRegistry()
	go func() {
		if err := ops.Serve(ctx, *opsAd, nil, reg, log); err != nil {
			log.Error("ops endpoints stopped", "err", err)
		}
	}()
	n, err := node.New(node.Config{
		ID: *id, Dir: *dir, Listen: *listen, Advertise: *adv, MetaAddrs: splitList(*metas),
		Zone: *zone, Rack: *rack, Host: *host, Weight: *weight, Logger: log.With("node", *id),
	})
	if err != nil {
		return err
	}
	if err := registerDataMetrics(reg, *id, n); err != nil {
		return errors.Join(err, n.Close())
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return errors.Join(fmt.Errorf("listen %s: %w", *listen, err), n.Close())
	}
	return errors.Join(n.Serve(ctx, lis), n.Close())
}
