package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminTokenPrecedence: --token beats --token-file, which beats
// CAIRN_ADMIN_TOKEN.
func TestAdminTokenPrecedence(t *testing.T) {
	t.Setenv("CAIRN_ADMIN_TOKEN", "from-env")
	file := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		g    globals
		want string
	}{
		{globals{}, "from-env"},
		{globals{tokenFile: file}, "from-file"},
		{globals{token: "from-flag", tokenFile: file}, "from-flag"},
	} {
		got, err := tc.g.adminToken()
		if err != nil || got != tc.want {
			t.Fatalf("%+v: got %q, %v; want %q", tc.g, got, err, tc.want)
		}
	}
	if _, err := (&globals{tokenFile: filepath.Join(t.TempDir(), "missing")}).adminToken(); err == nil {
		t.Fatal("a missing --token-file was accepted")
	}
}

// TestCompletionScripts: cairnctl completion bash|zsh|fish prints a script
// that knows the command groups.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetArgs([]string{"completion", shell})
		if err := root.Execute(); err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(out.String(), "cairnctl") || out.Len() < 1000 {
			t.Fatalf("completion %s: %d bytes", shell, out.Len())
		}
	}
	// Dynamic completion of subcommands, as the shells ask for it.
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"__complete", "meta", ""})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"members", "add", "remove", "transfer-leader", "snapshot"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("completing 'meta ': %q lacks %s", out.String(), want)
		}
	}
}
