// Command cairnctl operates a Cairn region through the meta nodes' Admin
// gRPC service.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "cairnctl: %v\n", err)
		os.Exit(1)
	}
}
