package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newBucketCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bucket",
		Short: "List buckets and show their statistics",
	}
	var namespace string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the buckets of one namespace (--namespace) or of all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCallCtl(cmd.Context(), g, "list buckets", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListBucketsResponse, error) {
				return a.AdminListBuckets(ctx, &cairnpb.AdminListBucketsRequest{Namespace: namespace})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				out := make([]bucketJSON, 0, len(resp.GetBuckets()))
				for _, b := range resp.GetBuckets() {
					out = append(out, newBucketJSON(b))
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAMESPACE\tBUCKET\tCOMPARTMENT\tCREATED\n")
			for _, b := range resp.GetBuckets() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.GetNamespace(), b.GetName(), dash(b.GetCompartment()), unixTime(b.GetCreatedUnixNano()).Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&namespace, "namespace", "", "only this namespace's buckets")

	var statsNamespace string
	stats := &cobra.Command{
		Use:               "stats BUCKET",
		Short:             "Count a bucket's objects, bytes, shards and uploads in progress",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: bucketNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns := statsNamespace
			if ns == "" {
				var err error
				if ns, err = bucketNamespace(cmd.Context(), g, args[0]); err != nil {
					return err
				}
			}
			resp, err := adminCallCtl(cmd.Context(), g, "bucket stats "+args[0], func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.BucketStatsResponse, error) {
				return a.BucketStats(ctx, &cairnpb.BucketStatsRequest{Namespace: ns, Name: args[0]})
			})
			if err != nil {
				return err
			}
			out := bucketStatsJSON{
				bucketJSON: newBucketJSON(resp.GetBucket()), Objects: resp.GetObjects(), Bytes: resp.GetBytes(),
				Shards: resp.GetShards(), InlineObjects: resp.GetInlineObjects(), Uploads: resp.GetUploads(),
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAMESPACE\tBUCKET\tOBJECTS\tBYTES\tSIZE\tSHARDS\tINLINE\tUPLOADS\n")
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\n", out.Namespace, out.Name, out.Objects, out.Bytes, bytesHuman(out.Bytes),
				out.Shards, out.InlineObjects, out.Uploads)
			return tw.Flush()
		},
	}
	stats.Flags().StringVar(&statsNamespace, "namespace", "", "the bucket's namespace (default: the only namespace holding a bucket of that name)")
	cmd.AddCommand(list, stats)
	return cmd
}

type bucketJSON struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Compartment string    `json:"compartment,omitempty"`
	Created     time.Time `json:"created"`
}

func newBucketJSON(b *cairnpb.Bucket) bucketJSON {
	return bucketJSON{Namespace: b.GetNamespace(), Name: b.GetName(), Compartment: b.GetCompartment(), Created: unixTime(b.GetCreatedUnixNano())}
}

type bucketStatsJSON struct {
	bucketJSON
	Objects       int64 `json:"objects"`
	Bytes         int64 `json:"bytes"`
	Shards        int64 `json:"shards"`
	InlineObjects int64 `json:"inline_objects"`
	Uploads       int64 `json:"uploads"`
}

// bucketNamespace finds the namespace of the only bucket with that name.
func bucketNamespace(ctx context.Context, g *globals, name string) (string, error) {
	resp, err := adminCallCtl(ctx, g, "find bucket "+name, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListBucketsResponse, error) {
		return a.AdminListBuckets(ctx, &cairnpb.AdminListBucketsRequest{})
	})
	if err != nil {
		return "", err
	}
	var found []string
	for _, b := range resp.GetBuckets() {
		if b.GetName() == name {
			found = append(found, b.GetNamespace())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("bucket %q not found in any namespace", name)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("bucket %q exists in namespaces %v: pick one with --namespace", name, found)
}
