package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/pki"
)

// newCertCmd groups the cluster PKI commands. They work on files only:
// no cluster needs to be running.
func newCertCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Make the cluster CA and issue the certificates of meta, data, gateway and admin identities",
		Long: `Every internal port of a Cairn cluster speaks mutual TLS. A process's
certificate carries its identity as spiffe://cairn/<cluster>/<role>/<id>.
'cert init' makes a CA in a certificate directory; 'cert issue' signs a
leaf there as <role>-<id>.crt and <role>-<id>.key. A CA of your own
(cert-manager, an enterprise CA) works the same way: Cairn trusts what
chains to the bundle it is given and reads the role and ID from the URI.`,
	}
	dirDefault := os.Getenv("CAIRN_CERT_DIR")
	if dirDefault == "" {
		dirDefault = "./certs"
	}

	var initDir, cluster string
	var caValidity time.Duration
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create a cluster CA (ca.crt, ca.key) in --dir",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := pki.InitDir(initDir, cluster, caValidity, time.Now())
			if err != nil {
				return err
			}
			c, k := pki.CAFiles(initDir)
			fmt.Fprintf(cmd.OutOrStdout(), "CA for cluster %q: %s (key %s, keep it offline), valid until %s\n",
				cluster, c, k, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	initCmd.Flags().StringVar(&initDir, "dir", dirDefault, "certificate directory (env CAIRN_CERT_DIR)")
	initCmd.Flags().StringVar(&cluster, "cluster", "cairn", "cluster name, part of every identity")
	initCmd.Flags().DurationVar(&caValidity, "validity", pki.DefaultCAValidity, "how long the CA is valid")

	var issueDir, role, id, hosts, certOut, keyOut string
	var leafValidity time.Duration
	issueCmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a certificate for one process (--role meta|data|gateway|admin --id ID)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := pki.ParseRole(role)
			if err != nil {
				return err
			}
			if id == "" {
				return fmt.Errorf("--id is required: the node ID (--id of 'cairn meta' or 'cairn data'), a gateway's name, or an operator's name for --role admin")
			}
			caCert, caKey := pki.CAFiles(issueDir)
			ca, err := pki.LoadCA(caCert, caKey)
			if err != nil {
				return fmt.Errorf("%w (run 'cairnctl cert init --dir %s' first)", err, issueDir)
			}
			if ca.Cluster == "" {
				return fmt.Errorf("the CA in %s names no Cairn cluster; issue leaves with URI SAN spiffe://cairn/<cluster>/<role>/<id> with that CA's own tools", issueDir)
			}
			ident := pki.Identity{Cluster: ca.Cluster, Role: r, ID: id}
			var hs []string
			for _, h := range strings.Split(hosts, ",") {
				if h = strings.TrimSpace(h); h != "" {
					hs = append(hs, h)
				}
			}
			leaf, err := ca.Issue(ident, hs, leafValidity, time.Now())
			if err != nil {
				return err
			}
			c, k := pki.LeafFiles(issueDir, ident)
			if certOut != "" {
				c = certOut
			}
			if keyOut != "" {
				k = keyOut
			}
			if err := leaf.WriteFiles(c, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (key %s), serial %s, valid until %s\n",
				ident, c, k, pki.SerialHex(leaf.Cert), leaf.Cert.NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	issueCmd.Flags().StringVar(&issueDir, "dir", dirDefault, "certificate directory holding the CA (env CAIRN_CERT_DIR)")
	issueCmd.Flags().StringVar(&role, "role", "", "meta, data, gateway or admin")
	issueCmd.Flags().StringVar(&id, "id", "", "the process's ID")
	issueCmd.Flags().StringVar(&hosts, "host", "", "DNS names or IPs to add as SANs, comma separated (Cairn checks only the identity; other tools may check these)")
	issueCmd.Flags().DurationVar(&leafValidity, "validity", pki.DefaultLeafValidity, "how long the certificate is valid (short-lived leaves make revocation unnecessary)")
	issueCmd.Flags().StringVar(&certOut, "cert-out", "", "write the certificate here instead of <dir>/<role>-<id>.crt")
	issueCmd.Flags().StringVar(&keyOut, "key-out", "", "write the key here instead of <dir>/<role>-<id>.key")

	showCmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Print a certificate's identity, serial and validity",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := pki.ReadCertificate(args[0])
			if err != nil {
				return err
			}
			ident := "(none: not a Cairn leaf)"
			if c.IsCA {
				ident = "(a CA)"
			} else if id, err := pki.IdentityOf(c); err == nil {
				ident = id.String()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "identity:  %s\nsubject:   %s\nissuer:    %s\nserial:    %s\nnot after: %s\n",
				ident, c.Subject, c.Issuer, pki.SerialHex(c), c.NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.AddCommand(initCmd, issueCmd, showCmd, newCertKubeSyncCmd())
	return cmd
}
