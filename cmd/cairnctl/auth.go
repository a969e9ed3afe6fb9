package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func (g *globals) registerTokenFlags(root *cobra.Command) {
	root.PersistentFlags().StringVar(&g.token, "token", "", "admin token (env CAIRN_ADMIN_TOKEN); prefer --token-file, command lines are visible to other users")
	root.PersistentFlags().StringVar(&g.tokenFile, "token-file", "", "file holding the admin token, e.g. a meta node's <dir>/admin.token")
}

// adminToken picks the admin token: --token, then --token-file, then the
// environment variable CAIRN_ADMIN_TOKEN. With none, calls go out without
// one and the cluster refuses them with a message saying so.
func (g *globals) adminToken() (string, error) {
	switch {
	case g.token != "":
		return strings.TrimSpace(g.token), nil
	case g.tokenFile != "":
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("--token-file %s is empty", g.tokenFile)
		}
		return t, nil
	}
	return strings.TrimSpace(os.Getenv("CAIRN_ADMIN_TOKEN")), nil
}
