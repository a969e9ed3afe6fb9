package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-store/cairn/s3api"
)

func TestMasterKeyFlags(t *testing.T) {
	t.Setenv(masterKeyEnv, "")
	var cfg s3api.Config
	if err := (&encryptionFlags{}).apply(&cfg); err == nil || !strings.Contains(err.Error(), "master key is required") {
		t.Fatalf("no key: %v", err)
	}

	// cairn dev: generated once, 0600, then reused.
	path := filepath.Join(t.TempDir(), "state", "master.key")
	e := &encryptionFlags{}
	if err := e.defaultMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if err := e.apply(&cfg); err != nil || cfg.MasterKey == nil {
		t.Fatalf("apply: %v", err)
	}
	id := cfg.MasterKey.ID()
	again := &encryptionFlags{}
	if err := again.defaultMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	var cfg2 s3api.Config
	if err := again.apply(&cfg2); err != nil || cfg2.MasterKey.ID() != id {
		t.Fatalf("the key changed across restarts: %v", err)
	}

	// The environment, in hex; a named file wins over the default.
	t.Setenv(masterKeyEnv, strings.Repeat("ab", 32))
	env := &encryptionFlags{trustedProxies: "10.0.0.0/8", allowInsecureSSEC: true}
	if err := env.defaultMasterKeyFile(filepath.Join(t.TempDir(), "unused.key")); err != nil || env.masterKeyFile != "" {
		t.Fatalf("env key should win over the default file: %v %q", err, env.masterKeyFile)
	}
	var cfg3 s3api.Config
	if err := env.apply(&cfg3); err != nil || cfg3.MasterKey.ID() == id || !cfg3.SSECTransport.AllowInsecure || len(cfg3.SSECTransport.TrustedProxies) != 1 {
		t.Fatalf("env: %v %+v", err, cfg3.SSECTransport)
	}
	t.Setenv(masterKeyEnv, "not hex")
	if err := env.apply(&cfg3); err == nil {
		t.Fatal("a malformed key was accepted")
	}
	bad := &encryptionFlags{masterKeyFile: path, trustedProxies: "nonsense"}
	if err := bad.apply(&cfg3); err == nil {
		t.Fatal("bad --trusted-proxies accepted")
	}
}
