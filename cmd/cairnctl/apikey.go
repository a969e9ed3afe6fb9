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

// newAPIKeyCmd manages users' API signing keys, which sign native Object
// Storage API requests (OCI's HTTP Signature scheme).
func newAPIKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Upload, list and delete users' API signing keys (native Object Storage API)",
	}
	var ns, user, keyFile string
	upload := &cobra.Command{
		Use:   "upload",
		Short: "Upload a user's RSA public key (PEM); prints its fingerprint and the keyId to sign with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pemText, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("read public key: %w", err)
			}
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("upload API key for user %s in namespace %s", user, ns), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.UploadAPIKeyResponse, error) {
				return a.UploadAPIKey(ctx, &cairnpb.UploadAPIKeyRequest{Namespace: ns, User: user, PublicKeyPem: string(pemText)})
			})
			if err != nil {
				return err
			}
			k := resp.GetKey()
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), apiKeyToJSON(k, resp.GetNamespaceOcid(), resp.GetUserOcid()))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "fingerprint: %s\n", k.GetFingerprint())
			fmt.Fprintf(w, "tenancy:     %s\n", resp.GetNamespaceOcid())
			_, err = fmt.Fprintf(w, "user:        %s\n", resp.GetUserOcid())
			return err
		},
	}
	upload.Flags().StringVarP(&ns, "namespace", "n", "", "the user's namespace (required)")
	upload.Flags().StringVarP(&user, "user", "u", "", "the user (required)")
	upload.Flags().StringVar(&keyFile, "public-key", "", "file with the RSA public key, PEM (required)")
	for _, f := range []string{"namespace", "user", "public-key"} {
		_ = upload.MarkFlagRequired(f)
	}

	var listNS, listUser string
	list := &cobra.Command{
		Use:   "list",
		Short: "List a user's API signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, fmt.Sprintf("list API keys of user %s in namespace %s", listUser, listNS), func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListAPIKeysResponse, error) {
				return a.ListAPIKeys(ctx, &cairnpb.ListAPIKeysRequest{Namespace: listNS, User: listUser})
			})
			if err != nil {
				return err
			}
			return writeAPIKeys(cmd.OutOrStdout(), g.output, resp)
		},
	}
	list.Flags().StringVarP(&listNS, "namespace", "n", "", "the user's namespace (required)")
	list.Flags().StringVarP(&listUser, "user", "u", "", "the user (required)")
	_ = list.MarkFlagRequired("namespace")
	_ = list.MarkFlagRequired("user")

	var delNS, delUser string
	del := &cobra.Command{
		Use:   "delete FINGERPRINT",
		Short: "Delete a user's API signing key; gateways refuse it within a few seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, "delete API key "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeleteAPIKeyResponse, error) {
				return a.DeleteAPIKey(ctx, &cairnpb.DeleteAPIKeyRequest{Namespace: delNS, User: delUser, Fingerprint: args[0]})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"fingerprint": args[0], "result": "deleted"})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted API key %s\n", args[0])
			return err
		},
	}
	del.Flags().StringVarP(&delNS, "namespace", "n", "", "the user's namespace (required)")
	del.Flags().StringVarP(&delUser, "user", "u", "", "the user (required)")
	_ = del.MarkFlagRequired("namespace")
	_ = del.MarkFlagRequired("user")

	cmd.AddCommand(upload, list, del)
	return cmd
}

type apiKeyJSON struct {
	Fingerprint  string    `json:"fingerprint"`
	Namespace    string    `json:"namespace"`
	User         string    `json:"user"`
	TenancyOCID  string    `json:"tenancy_ocid"`
	UserOCID     string    `json:"user_ocid"`
	KeyID        string    `json:"key_id"`
	PublicKeyPEM string    `json:"public_key_pem"`
	Created      time.Time `json:"created"`
}

func apiKeyToJSON(k *cairnpb.APIKey, tenancy, user string) apiKeyJSON {
	return apiKeyJSON{
		Fingerprint: k.GetFingerprint(), Namespace: k.GetNamespace(), User: k.GetUser(),
		TenancyOCID: tenancy, UserOCID: user, KeyID: tenancy + "/" + user + "/" + k.GetFingerprint(),
		PublicKeyPEM: k.GetPublicKeyPem(), Created: unixTime(k.GetCreatedUnixNano()),
	}
}

func writeAPIKeys(w io.Writer, output string, resp *cairnpb.ListAPIKeysResponse) error {
	if output == "json" {
		out := make([]apiKeyJSON, 0, len(resp.GetKeys()))
		for _, k := range resp.GetKeys() {
			out = append(out, apiKeyToJSON(k, resp.GetNamespaceOcid(), resp.GetUserOcid()))
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "tenancy: %s\nuser:    %s\n", resp.GetNamespaceOcid(), resp.GetUserOcid())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FINGERPRINT\tNAMESPACE\tUSER\tCREATED\n")
	for _, k := range resp.GetKeys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.GetFingerprint(), k.GetNamespace(), k.GetUser(), unixTime(k.GetCreatedUnixNano()).Format(time.RFC3339))
	}
	return tw.Flush()
}
