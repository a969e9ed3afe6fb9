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
  check-flags <meta|data|gateway|bench> [flags]
            parse and check a command's flags without running it (exit 0: accepted)
  version   print the version and the commit this binary was built from

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
		err = runMeta(ctx, args, false)
	case "data":
		err = runData(ctx, args, false)
	case "gateway":
		err = runGateway(ctx, args, false)
	case "check-flags":
		err = checkFlags(ctx, args)
	case "dev", "server":
		err = runDev(ctx, args)
	case "bench":
		err = runBench(ctx, args, false)
	case "version", "--version":
		err = printVersion(os.Stdout)
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

// checkFlags parses and checks the flags of a server command without
// starting anything: deployment tooling (the Helm chart's tests) uses it to
// prove that the command lines it writes are accepted.
func checkFlags(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: meta, data, gateway or bench")
	}
	switch args[0] {
	case "meta":
		return runMeta(ctx, args[1:], true)
	case "data":
		return runData(ctx, args[1:], true)
	case "gateway":
		return runGateway(ctx, args[1:], true)
	case "bench":
		return runBench(ctx, args[1:], true)
	}
	return fmt.Errorf("%q: want meta, data, gateway or bench", args[0])
}
