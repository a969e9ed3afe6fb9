package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// completionTimeout bounds the cluster lookups behind shell completion.
const completionTimeout = 2 * time.Second

type completeFunc func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeFirstArg completes a command's first argument with names fetched
// from the cluster; with no cluster at hand it offers nothing.
func completeFirstArg(g *globals, names func(ctx context.Context) ([]string, error)) completeFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		out, err := names(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func memberNames(g *globals) completeFunc {
	return completeFirstArg(g, func(ctx context.Context) ([]string, error) {
		gg := *g
		gg.timeout = completionTimeout
		resp, err := adminCall(ctx, &gg, "list meta members", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.ListMetaMembersResponse, error) {
			return a.ListMetaMembers(ctx, &cairnpb.ListMetaMembersRequest{})
		})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, m := range resp.GetMembers() {
			out = append(out, m.GetId())
		}
		return out, nil
	})
}

func bucketNames(g *globals) completeFunc {
	return completeFirstArg(g, func(ctx context.Context) ([]string, error) {
		gg := *g
		gg.timeout = completionTimeout
		resp, err := adminCall(ctx, &gg, "list buckets", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.AdminListBucketsResponse, error) {
			return a.AdminListBuckets(ctx, &cairnpb.AdminListBucketsRequest{})
		})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, b := range resp.GetBuckets() {
			out = append(out, b.GetName())
		}
		return out, nil
	})
}
