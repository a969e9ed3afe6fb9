package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/netseam"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

func (g *globals) registerTLSFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	g.flags = f
	f.StringVar(&g.ca, "ca", os.Getenv("CAIRN_CA"), "CA bundle the meta nodes' certificates chain to (env CAIRN_CA)")
	f.StringVar(&g.cert, "cert", os.Getenv("CAIRN_CERT"), "admin certificate, from 'cairnctl cert issue --role admin' (env CAIRN_CERT); without one, the admin token authenticates")
	f.StringVar(&g.key, "key", os.Getenv("CAIRN_KEY"), "private key of --cert (env CAIRN_KEY)")
	f.BoolVar(&g.insecure, "insecure", false, "talk plaintext to a cluster started with --insecure-internal")
}

// dialOptions are how cairnctl reaches the meta port: mutual TLS with an
// admin certificate, or TLS that only checks the server with the admin
// token as the credential, or plaintext with --insecure; names resolve
// through the test network seam when the environment asks for it
// (package netseam).
func (g *globals) dialOptions() ([]grpc.DialOption, error) {
	token, err := g.adminToken()
	if err != nil {
		return nil, err
	}
	nw, err := netseam.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	opts := append(metaclient.WithAdminToken(token), nw.GRPC()...)
	switch {
	case g.insecure:
		// CAIRN_CA and friends in the environment are ignored; flags
		// given together with --insecure are a mistake.
		if g.flags != nil && (g.flags.Changed("ca") || g.flags.Changed("cert") || g.flags.Changed("key")) {
			return nil, fmt.Errorf("--insecure excludes --ca, --cert and --key")
		}
		return opts, nil
	case g.ca == "":
		return nil, fmt.Errorf("the meta port needs TLS: pass --ca with the cluster's CA bundle (env CAIRN_CA; 'make run' prints it, " +
			"and 'source .cluster/env' sets it), or --insecure for a cluster started with --insecure-internal")
	case g.cert != "" || g.key != "":
		if g.cert == "" || g.key == "" {
			return nil, fmt.Errorf("--cert and --key go together")
		}
		src, err := pki.Load(pki.Files{CA: g.ca, Cert: g.cert, Key: g.key}, pki.Identity{Role: pki.RoleAdmin}, nil)
		if err != nil {
			return nil, fmt.Errorf("%w (issue one with 'cairnctl cert issue --role admin --id NAME')", err)
		}
		return append(opts, rpcauth.MTLS(src).Dial(pki.RoleMeta)), nil
	}
	cfg, err := pki.TrustOnly(g.ca)
	if err != nil {
		return nil, err
	}
	return append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg))), nil
}
