package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/cairn-store/cairn/proto/netseam"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// internalTLSFlags choose how a process secures its internal ports and
// connections: mutual TLS from a CA bundle, a certificate and a key (the
// default, and the only way unless --insecure-internal is given).
type internalTLSFlags struct {
	ca, cert, key, revoked, dir string
	insecure                    bool
}

func (f *internalTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "internal-ca", envOr("CAIRN_INTERNAL_CA", ""), "PEM bundle of the CA(s) internal peers must chain to (env CAIRN_INTERNAL_CA)")
	fs.StringVar(&f.cert, "internal-cert", envOr("CAIRN_INTERNAL_CERT", ""), "PEM certificate carrying this process's identity (env CAIRN_INTERNAL_CERT)")
	fs.StringVar(&f.key, "internal-key", envOr("CAIRN_INTERNAL_KEY", ""), "PEM private key of --internal-cert (env CAIRN_INTERNAL_KEY)")
	fs.StringVar(&f.revoked, "internal-revoked", envOr("CAIRN_INTERNAL_REVOKED", ""), "optional file of denied certificate serials in hex, one a line (env CAIRN_INTERNAL_REVOKED)")
	fs.StringVar(&f.dir, "cert-dir", envOr("CAIRN_CERT_DIR", ""), "certificate directory made by 'cairnctl cert': ca.crt and <role>-<id>.crt/.key (instead of the three --internal-* files)")
	fs.BoolVar(&f.insecure, "insecure-internal", false, "plaintext internal ports with no caller identities: for tests only, never in production")
}

// transport loads the process's identity, which must be want (an empty
// ID matches any), and watches its files for rotation. Its network is the
// system's unless the environment switches on the test seam (package
// netseam).
func (f *internalTLSFlags) transport(want pki.Identity, log *slog.Logger) (*rpcauth.Transport, error) {
	nw, err := netseam.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if nw != nil {
		log.Warn("TEST SEAM: names and listen addresses follow the environment, not the system's network; for tests only", "network", nw.String())
	}
	t, err := f.identityTransport(want, log)
	if err != nil {
		return nil, err
	}
	return t.WithNet(nw), nil
}

// identityTransport is transport's credentials.
func (f *internalTLSFlags) identityTransport(want pki.Identity, log *slog.Logger) (*rpcauth.Transport, error) {
	if f.insecure {
		if f.ca != "" || f.cert != "" || f.key != "" || f.dir != "" {
			return nil, fmt.Errorf("--insecure-internal excludes --internal-ca, --internal-cert, --internal-key and --cert-dir")
		}
		log.Warn("INSECURE: internal ports are plaintext and authorize no one (--insecure-internal); use only in tests")
		return rpcauth.Insecure(), nil
	}
	files := pki.Files{CA: f.ca, Cert: f.cert, Key: f.key, Revoked: f.revoked}
	if f.dir != "" {
		if want.ID == "" {
			return nil, fmt.Errorf("--cert-dir needs this process's --id to find its certificate; give --internal-cert and --internal-key instead")
		}
		d := pki.DirFiles(f.dir, want)
		if files.CA == "" {
			files.CA = d.CA
		}
		if files.Cert == "" {
			files.Cert, files.Key = d.Cert, d.Key
		}
	}
	if files.CA == "" || files.Cert == "" || files.Key == "" {
		return nil, fmt.Errorf("internal mutual TLS needs --internal-ca, --internal-cert and --internal-key (or --cert-dir); " +
			"make them with 'cairnctl cert init' and 'cairnctl cert issue', or pass --insecure-internal for a test without TLS")
	}
	src, err := pki.Load(files, want, log)
	if err != nil {
		return nil, err
	}
	id := src.Identity()
	log.Info("internal mutual TLS", "identity", id.String(), "ca", files.CA)
	return rpcauth.MTLS(src), nil
}
