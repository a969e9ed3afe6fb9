package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newPolicyCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Create, list and delete a namespace's policies (see docs/policies.md)",
	}
	cmd.PersistentFlags().StringVarP(&ns, "namespace", "n", "", "the namespace (required)")
	_ = cmd.MarkPersistentFlagRequired("namespace")
	var (
		statements []string
		file       string
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a policy from --statement (repeatable) and/or --file",
		Long: `Create a policy. Each statement reads:

  Allow group <group> to <inspect|read|use|manage> <buckets|objects|object-family|all-resources>
      in <compartment <name>|tenancy> [where target.bucket.name = '<bucket>']

--file reads statements one per line ('-' is standard input); blank lines
and lines starting with '#' are skipped. Errors give the line and column,
counting --statement values first, then the file's lines.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all := append([]string(nil), statements...)
			if file != "" {
				text, err := readPolicyFile(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				all = append(all, text)
			}
			if len(all) == 0 {
				return fmt.Errorf("create policy %s: give at least one --statement or a --file", args[0])
			}
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("create policy %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.CreatePolicyResponse, error) {
				return a.CreatePolicy(ctx, &cairnpb.CreatePolicyRequest{Namespace: ns, Name: args[0], Statements: all})
			})
			if err != nil {
				return err
			}
			return writePolicies(cmd.OutOrStdout(), g.output, []*cairnpb.Policy{resp.GetPolicy()})
		},
	}
	create.Flags().StringArrayVarP(&statements, "statement", "s", nil, "a policy statement (repeatable)")
	create.Flags().StringVarP(&file, "file", "f", "", "read statements from this file, one per line ('-' for standard input)")
	cmd.AddCommand(create)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the namespace's policies and their statements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "list policies of namespace "+ns, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListPoliciesResponse, error) {
				return a.ListPolicies(ctx, &cairnpb.ListPoliciesRequest{Namespace: ns})
			})
			if err != nil {
				return err
			}
			return writePolicies(cmd.OutOrStdout(), g.output, resp.GetPolicies())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a policy (the rights it gave go within seconds on every gateway)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("delete policy %s in namespace %s", args[0], ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeletePolicyResponse, error) {
				return a.DeletePolicy(ctx, &cairnpb.DeletePolicyRequest{Namespace: ns, Name: args[0]})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"deleted": args[0], "namespace": ns})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted policy %s of namespace %s\n", args[0], ns)
			return err
		},
	})
	return cmd
}

// maxPolicyFile bounds a policy file: statements are short.
const maxPolicyFile = 1 << 20

func readPolicyFile(stdin io.Reader, name string) (string, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("read policy file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPolicyFile+1))
	if err != nil {
		return "", fmt.Errorf("read policy file %s: %w", name, err)
	}
	if len(b) > maxPolicyFile {
		return "", fmt.Errorf("policy file %s is larger than %d bytes", name, maxPolicyFile)
	}
	return string(b), nil
}

type policyJSON struct {
	Namespace  string    `json:"namespace"`
	Name       string    `json:"name"`
	Statements []string  `json:"statements"`
	Created    time.Time `json:"created"`
}

func writePolicies(w io.Writer, output string, policies []*cairnpb.Policy) error {
	if output == "json" {
		out := make([]policyJSON, 0, len(policies))
		for _, p := range policies {
			out = append(out, policyJSON{Namespace: p.GetNamespace(), Name: p.GetName(), Statements: p.GetStatements(), Created: unixTime(p.GetCreatedUnixNano())})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tPOLICY\tSTATEMENT\n")
	for _, p := range policies {
		for i, st := range p.GetStatements() {
			ns, name := p.GetNamespace(), p.GetName()
			if i > 0 {
				ns, name = "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", ns, name, st)
		}
	}
	return tw.Flush()
}
