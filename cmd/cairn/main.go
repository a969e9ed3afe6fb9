// Command cairn runs one Cairn process: a meta node, a data node, an S3
// gateway, all of them in one process (dev), or the S3 load generator.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: cairn <command> [flags]

commands:
  meta      run a meta node (Raft group member holding buckets and the object index)
  data      run a data node (shard store)
  gateway   run an S3 gateway
  dev       run a whole region in one process: 1 meta, N data stores, 1 gateway
  bench     S3 load generator against any endpoint

Run 'cairn <command> -h' for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "meta":
		err = runMeta(ctx, args)
	case "data":
		err = runData(ctx, args)
	case "gateway":
		err = runGateway(ctx, args)
	case "dev", "server":
		err = runDev(ctx, args)
	case "bench":
		err = runBench(ctx, args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "cairn: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
