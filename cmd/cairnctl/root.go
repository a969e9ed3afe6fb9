package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cairn-store/cairn/meta/metaclient"
)

// globals are the flags every command shares.
type globals struct {
	addr    string
	output  string
	timeout time.Duration
	// token and tokenFile: the admin token (see auth.go).
	token, tokenFile string
	// ca, cert, key and insecure: how to reach the meta port (tls.go).
	ca, cert, key string
	insecure      bool
	// flags are the persistent flags, to tell a flag given on the command
	// line from a default taken from the environment.
	flags *pflag.FlagSet
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "cairnctl",
		Short:         "Operate a Cairn region",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("CAIRN_ADMIN_ADDR")
	if def == "" {
		def = "127.0.0.1:9001"
	}
	root.PersistentFlags().StringVar(&g.addr, "addr", def, "meta nodes' gRPC addresses, comma separated (env CAIRN_ADMIN_ADDR)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.PersistentFlags().DurationVar(&g.timeout, "timeout", 10*time.Second, "how long to keep trying to reach the cluster")
	g.registerTokenFlags(root)
	g.registerTLSFlags(root)
	root.AddCommand(newStatusCmd(g))
	root.AddCommand(newNamespaceCmd(g), newUserCmd(g), newKeyCmd(g), newAPIKeyCmd(g), newPARCmd(g))
	root.AddCommand(newCompartmentCmd(g), newGroupCmd(g), newPolicyCmd(g))
	root.AddCommand(newMasterKeyCmd(g))
	root.AddCommand(newMetaCmd(g), newNodeCmd(g), newBucketCmd(g))
	root.AddCommand(newCertCmd())
	return root
}

// addrs splits --addr.
func (g *globals) addrs() []string {
	var addrs []string
	for _, a := range strings.Split(g.addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// client connects to the meta group named by --addr.
func (g *globals) client() (*metaclient.Client, error) {
	addrs := g.addrs()
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no meta address: pass --addr host:port or set CAIRN_ADMIN_ADDR")
	}
	opts, err := g.dialOptions()
	if err != nil {
		return nil, err
	}
	return metaclient.New(addrs, opts...)
}

func (g *globals) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, g.timeout)
}

func (g *globals) checkOutput() error {
	if g.output != "table" && g.output != "json" {
		return fmt.Errorf("--output %q: want table or json", g.output)
	}
	return nil
}
