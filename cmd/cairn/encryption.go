package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairn-store/cairn/s3api"
	"github.com/cairn-store/cairn/s3api/sse"
)

// masterKeyEnv holds a master key as 64 hex digits, when no file is named.
const masterKeyEnv = "CAIRN_MASTER_KEY"

// encryptionFlags are a gateway's encryption settings: the master key that
// wraps every object's data key, and who may send SSE-C keys.
type encryptionFlags struct {
	masterKeyFile     string
	allowInsecureSSEC bool
	trustedProxies    string
}

func (e *encryptionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.masterKeyFile, "master-key-file", "", "file holding the master key (32 raw bytes or 64 hex digits); else env "+masterKeyEnv+" (hex)")
	fs.BoolVar(&e.allowInsecureSSEC, "allow-insecure-ssec", false, "accept SSE-C keys over plain HTTP (tests, trusted networks only)")
	fs.StringVar(&e.trustedProxies, "trusted-proxies", "", "CIDRs of proxies whose X-Forwarded-Proto: https makes SSE-C acceptable, comma separated")
}

// apply loads the master key and the SSE-C transport policy into cfg.
func (e *encryptionFlags) apply(cfg *s3api.Config) error {
	var raw []byte
	switch env := os.Getenv(masterKeyEnv); {
	case e.masterKeyFile != "":
		b, err := os.ReadFile(e.masterKeyFile)
		if err != nil {
			return fmt.Errorf("--master-key-file: %w", err)
		}
		raw = b
	case env != "":
		raw = []byte(env)
	default:
		return fmt.Errorf("a master key is required (data is always encrypted at rest): --master-key-file or %s", masterKeyEnv)
	}
	mk, err := sse.ParseMasterKey(raw)
	clear(raw)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	proxies, err := sse.ParseTrustedProxies(e.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	cfg.MasterKey = mk
	cfg.SSECTransport = sse.Transport{AllowInsecure: e.allowInsecureSSEC, TrustedProxies: proxies}
	return nil
}

// defaultMasterKeyFile makes path the master key file when neither the
// flag nor the environment names a key, generating a key there on first
// use. `cairn dev` keeps its key with the rest of its state.
func (e *encryptionFlags) defaultMasterKeyFile(path string) error {
	if e.masterKeyFile != "" || os.Getenv(masterKeyEnv) != "" {
		return nil
	}
	e.masterKeyFile = path
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.Write(sse.GenerateMasterKey()); err != nil {
		f.Close()
		return fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
