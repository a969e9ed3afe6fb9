package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestMembersToDrop(t *testing.T) {
	members := []string{"c-meta-0", "c-meta-1", "c-meta-2", "c-meta-9", "c-meta-10"}
	for _, tc := range []struct {
		keep []string
		want []string
		err  string
	}{
		// Scale-down: highest ordinal first, 10 before 9.
		{keep: []string{"c-meta-0", "c-meta-1", "c-meta-2"}, want: []string{"c-meta-10", "c-meta-9"}},
		// Scale-up: new IDs are not members yet and are ignored.
		{keep: []string{"c-meta-0", "c-meta-1", "c-meta-2", "c-meta-9", "c-meta-10", "c-meta-11"}},
		{keep: []string{"other-meta-0"}, err: "would remove every member"},
	} {
		got, err := membersToDrop(members, tc.keep)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("keep %q: err %v, want one saying %q", tc.keep, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("keep %q: drop %q (err %v), want %q", tc.keep, got, err, tc.want)
		}
	}
}

func TestPruneSnapshots(t *testing.T) {
	dir := t.TempDir()
	names := []string{"meta-20261201T030000.000Z.snap", "meta-20261202T030000.000Z.snap", "meta-20261203T030000.000Z.snap", "meta-20261130T030000.000Z.snap", "notes.txt", ".meta-x.snap.part-1"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stderr strings.Builder
	cmd := &cobra.Command{}
	cmd.SetErr(&stderr)
	if err := pruneSnapshots(cmd, dir, 2); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".meta-x.snap.part-1", "meta-20261202T030000.000Z.snap", "meta-20261203T030000.000Z.snap", "notes.txt"}
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if !strings.Contains(stderr.String(), "pruned meta-20261130T030000.000Z.snap") {
		t.Errorf("stderr %q does not name the pruned files", stderr.String())
	}
}
