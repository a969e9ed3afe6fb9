package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// newLogger builds the process logger: JSON or text on stderr.
func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// hideFlags leaves the named flags out of fs's usage message: settings
// for tests (a shortened lifecycle day) that operators should not meet
// in --help. They are parsed like any other.
func hideFlags(fs *flag.FlagSet, names ...string) {
	hidden := map[string]bool{}
	for _, n := range names {
		hidden[n] = true
	}
	fs.Usage = func() {
		shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
		shown.SetOutput(fs.Output())
		fs.VisitAll(func(f *flag.Flag) {
			if !hidden[f.Name] {
				shown.Var(f.Value, f.Name, f.Usage)
			}
		})
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
		shown.PrintDefaults()
	}
}

// lifecycleDayFlag is the hidden flag that shortens a lifecycle day.
const lifecycleDayFlag = "lifecycle-day"

// opsFlag is the address of a process's ops endpoints (/healthz, /readyz,
// /debug/pprof); empty serves none.
func opsFlag(fs *flag.FlagSet) *string {
	return fs.String("ops-addr", "", "address for /healthz, /readyz and /debug/pprof (empty: off)")
}

// logFlags registers the logging flags every command shares.
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", envOr("CAIRN_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

func (l *logFlags) logger(component string) (*slog.Logger, error) {
	lg, err := newLogger(l.level, l.format)
	if err != nil {
		return nil, err
	}
	return lg.With("component", component), nil
}

// credentialFlags are the S3 credentials a gateway accepts.
type credentialFlags struct{ access, secret string }

func (c *credentialFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.access, "access-key", envOr("CAIRN_ACCESS_KEY", "cairn-dev-access"), "S3 access key ID (env CAIRN_ACCESS_KEY)")
	fs.StringVar(&c.secret, "secret-key", envOr("CAIRN_SECRET_KEY", "cairn-dev-secret-key"), "S3 secret key (env CAIRN_SECRET_KEY)")
}

func (c *credentialFlags) creds() (map[string]string, error) {
	if c.access == "" || c.secret == "" {
		return nil, fmt.Errorf("an access key and a secret key are required (--access-key/--secret-key or CAIRN_ACCESS_KEY/CAIRN_SECRET_KEY)")
	}
	return map[string]string{c.access: c.secret}, nil
}
