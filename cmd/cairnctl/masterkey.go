package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

func newMasterKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "masterkey",
		Short: "Rotate the master key and follow the re-wrap of data keys and secrets",
	}
	var to string
	rotate := &cobra.Command{
		Use:   "rotate --to ID",
		Short: "Make key ID of the keyring the active master key; the leader then re-wraps everything under it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := adminCall(cmd.Context(), g, "rotate the master key to "+to, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RotateMasterKeyResponse, error) {
				return a.RotateMasterKey(ctx, &cairnpb.RotateMasterKeyRequest{To: to})
			})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]string{
					"active_key_id": resp.GetActiveKeyId(), "previous_key_id": resp.GetPreviousKeyId(),
				})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "active master key: %s (was %s)\n"+
				"Gateways wrap new data with it within a few seconds; the meta leader re-wraps the rest.\n"+
				"Follow with 'cairnctl masterkey status'; remove %s from the keyrings only once nothing is left under it.\n",
				resp.GetActiveKeyId(), resp.GetPreviousKeyId(), resp.GetPreviousKeyId())
			return err
		},
	}
	rotate.Flags().StringVar(&to, "to", "", "ID of the key to make active (required)")
	_ = rotate.MarkFlagRequired("to")

	var wait bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the active master key, wrapped keys by master key, and the re-wrap's progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for {
				resp, err := adminCall(cmd.Context(), g, "master key status", func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.MasterKeyStatusResponse, error) {
					return a.MasterKeyStatus(ctx, &cairnpb.MasterKeyStatusRequest{})
				})
				if err != nil {
					return err
				}
				if !wait || resp.GetLeft() == 0 {
					return writeMasterKeyStatus(cmd.OutOrStdout(), g.output, resp)
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(time.Second):
				}
			}
		},
	}
	status.Flags().BoolVar(&wait, "wait", false, "wait until nothing is left under other keys than the active one")
	cmd.AddCommand(rotate, status)
	return cmd
}

type masterKeyCountJSON struct {
	KeyID       string `json:"key_id"`
	Versions    int64  `json:"versions"`
	UploadParts int64  `json:"upload_parts"`
	AccessKeys  int64  `json:"access_keys"`
}

type masterKeyStatusJSON struct {
	ActiveKeyID   string               `json:"active_key_id"`
	PreviousKeyID string               `json:"previous_key_id,omitempty"`
	Since         *time.Time           `json:"since,omitempty"`
	Keyring       []string             `json:"keyring"`
	Counts        []masterKeyCountJSON `json:"counts"`
	Left          int64                `json:"left"`
	Running       bool                 `json:"running"`
	Done          int64                `json:"done"`
	Failed        int64                `json:"failed"`
	Rate          float64              `json:"rate"`
	Passes        int64                `json:"passes"`
	LastError     string               `json:"last_error,omitempty"`
	AnsweredBy    string               `json:"answered_by"`
}

func writeMasterKeyStatus(w io.Writer, output string, r *cairnpb.MasterKeyStatusResponse) error {
	p := r.GetProgress()
	out := masterKeyStatusJSON{
		ActiveKeyID: r.GetActiveKeyId(), PreviousKeyID: r.GetPreviousKeyId(), Keyring: r.GetKeyringIds(),
		Counts: []masterKeyCountJSON{}, Left: r.GetLeft(), Running: p.GetRunning(), Done: p.GetDone(),
		Failed: p.GetFailed(), Rate: p.GetRate(), Passes: p.GetPasses(), LastError: p.GetLastError(), AnsweredBy: r.GetAnsweredBy(),
	}
	if r.GetSetUnixNano() != 0 {
		t := unixTime(r.GetSetUnixNano())
		out.Since = &t
	}
	for _, c := range r.GetCounts() {
		out.Counts = append(out.Counts, masterKeyCountJSON{c.GetKeyId(), c.GetVersions(), c.GetUploadParts(), c.GetAccessKeys()})
	}
	if output == "json" {
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "active master key: %s", out.ActiveKeyID)
	if out.Since != nil {
		fmt.Fprintf(w, " (since %s", out.Since.Format(time.RFC3339))
		if out.PreviousKeyID != "" {
			fmt.Fprintf(w, ", was %s", out.PreviousKeyID)
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintf(w, "\nkeyring of %s: %v\n\n", out.AnsweredBy, out.Keyring)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER KEY\tVERSION KEYS\tUPLOAD PART KEYS\tACCESS KEY SECRETS")
	for _, c := range out.Counts {
		id := c.KeyID
		if id == "" {
			id = "(plaintext)"
		} else if id == out.ActiveKeyID {
			id += " (active)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", id, c.Versions, c.UploadParts, c.AccessKeys)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	state := "idle"
	if out.Running {
		state = "running"
	}
	fmt.Fprintf(w, "\nleft under other keys: %d\nre-wrap: %s; %d re-wrapped by this leader, %.1f/s over the last pass, %d failed, %d passes\n",
		out.Left, state, out.Done, out.Rate, out.Failed, out.Passes)
	if out.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", out.LastError)
	}
	return nil
}
