package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// newPARCmd audits and revokes pre-authenticated requests (PARs) of the
// native API. Tokens are never shown: meta keeps only their hashes, and
// not even those leave it.
func newPARCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "par",
		Short: "List and delete pre-authenticated requests (native Object Storage API links)",
	}
	var listNS, listBucket string
	list := &cobra.Command{
		Use:   "list",
		Short: "List a namespace's PARs (or one bucket's): ID, object or prefix, access, creator, expiry; never a token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			what := "list PARs of namespace " + listNS
			if listBucket != "" {
				what = fmt.Sprintf("list PARs of bucket %s in namespace %s", listBucket, listNS)
			}
			resp, err := adminCall(cmd.Context(), g, what, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListPARsResponse, error) {
				return a.AdminListPARs(ctx, &cairnpb.AdminListPARsRequest{Namespace: listNS, Bucket: listBucket})
			})
			if err != nil {
				return err
			}
			return writePARs(cmd.OutOrStdout(), g.output, resp.GetPars(), time.Now())
		},
	}
	list.Flags().StringVarP(&listNS, "namespace", "n", "", "the namespace (required)")
	list.Flags().StringVarP(&listBucket, "bucket", "b", "", "only this bucket's PARs")
	_ = list.MarkFlagRequired("namespace")

	var delNS, delBucket string
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a PAR: its link stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := adminCall(cmd.Context(), g, fmt.Sprintf("delete PAR %s of bucket %s in namespace %s", args[0], delBucket, delNS),
				func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.DeletePARResponse, error) {
					return a.AdminDeletePAR(ctx, &cairnpb.DeletePARRequest{Namespace: delNS, Bucket: delBucket, Id: args[0]})
				})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"id": args[0], "result": "deleted"})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted PAR %s\n", args[0])
			return err
		},
	}
	del.Flags().StringVarP(&delNS, "namespace", "n", "", "the PAR's namespace (required)")
	del.Flags().StringVarP(&delBucket, "bucket", "b", "", "the PAR's bucket (required)")
	_ = del.MarkFlagRequired("namespace")
	_ = del.MarkFlagRequired("bucket")

	cmd.AddCommand(list, del)
	return cmd
}

// parJSON is a PAR as `par list -o json` shows it: everything but the
// token, which no one can show.
type parJSON struct {
	ID                  string    `json:"id"`
	Namespace           string    `json:"namespace"`
	Bucket              string    `json:"bucket"`
	Name                string    `json:"name"`
	ObjectName          string    `json:"object_name"`
	AccessType          string    `json:"access_type"`
	BucketListingAction string    `json:"bucket_listing_action"`
	Creator             string    `json:"creator"`
	Created             time.Time `json:"created"`
	Expires             time.Time `json:"expires"`
	Expired             bool      `json:"expired"`
}

// parTarget is what a PAR reaches, for the table: its object, or its
// prefix (AnyObject* types), "*" for the whole bucket.
func parTarget(p *cairnpb.PAR) string {
	switch {
	case !strings.HasPrefix(p.GetAccessType(), "AnyObject"):
		return p.GetObjectName()
	case p.GetObjectName() == "":
		return "*"
	}
	return p.GetObjectName() + "*"
}

func writePARs(w io.Writer, output string, pars []*cairnpb.PAR, now time.Time) error {
	if output == "json" {
		out := make([]parJSON, 0, len(pars))
		for _, p := range pars {
			expires := unixTime(p.GetExpiresUnixNano())
			out = append(out, parJSON{
				ID: p.GetId(), Namespace: p.GetNamespace(), Bucket: p.GetBucket(), Name: p.GetName(),
				ObjectName: p.GetObjectName(), AccessType: p.GetAccessType(), BucketListingAction: p.GetBucketListingAction(),
				Creator: p.GetCreator(), Created: unixTime(p.GetCreatedUnixNano()), Expires: expires, Expired: !now.Before(expires),
			})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tBUCKET\tNAME\tOBJECT/PREFIX\tACCESS\tLISTING\tCREATOR\tCREATED\tEXPIRES\n")
	for _, p := range pars {
		expires := unixTime(p.GetExpiresUnixNano()).Format(time.RFC3339)
		if !now.Before(unixTime(p.GetExpiresUnixNano())) {
			expires += " (expired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.GetId(), p.GetBucket(), p.GetName(), parTarget(p),
			p.GetAccessType(), p.GetBucketListingAction(), p.GetCreator(),
			unixTime(p.GetCreatedUnixNano()).Format(time.RFC3339), expires)
	}
	return tw.Flush()
}
