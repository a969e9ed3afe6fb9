package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/s3api"
)

// s3Flags are the S3 settings shared by `gateway` and `dev`.
type s3Flags struct {
	creds          credentialFlags
	region         string
	namespace      string
	dataShards     int
	parityShards   int
	blockSize      int
	writeQuorum    int
	inlineMaxBytes int64
	domains        string
	enc            encryptionFlags
	// Load limits; zero values are derived from the gateway's memory limit
	// (s3api.LimitsFor).
	maxRequests  int
	maxBodyBytes string
	bodyIdle     time.Duration
	lifecycleDay time.Duration
}

func (f *s3Flags) register(fs *flag.FlagSet) {
	f.creds.register(fs)
	fs.StringVar(&f.region, "region", envOr("CAIRN_REGION", "us-east-1"), "region this deployment serves (env CAIRN_REGION)")
	fs.StringVar(&f.namespace, "namespace", "default", "namespace S3 requests act in")
	fs.IntVar(&f.dataShards, "data-shards", s3api.DefaultDataShards, "erasure code: data shards (k)")
	fs.IntVar(&f.parityShards, "parity-shards", s3api.DefaultParityShards, "erasure code: parity shards (m)")
	fs.IntVar(&f.blockSize, "block-size", s3api.DefaultBlockSize, "erasure code: bytes per shard block")
	fs.IntVar(&f.writeQuorum, "write-quorum", 0, "shards that must be durable before a write is acknowledged, data-shards to data+parity (0: data-shards+1); see docs/durability.md")
	fs.Int64Var(&f.inlineMaxBytes, "inline-max", s3api.DefaultInlineThreshold, "objects up to this size are kept inline in meta (-1: never)")
	fs.StringVar(&f.domains, "domain", envOr("CAIRN_DOMAIN", ""), "domains for virtual-hosted-style requests (<bucket>.<domain>), comma separated (env CAIRN_DOMAIN)")
	f.enc.register(fs)
	fs.IntVar(&f.maxRequests, "max-requests", 0, "requests in flight; more wait up to 500ms, then get 503 SlowDown (0: the memory limit / 640KiB, 256 at 160MiB)")
	fs.StringVar(&f.maxBodyBytes, "max-body-bytes", "0", "request body bytes in flight (each request counts its Content-Length, at most two stripes); more wait up to 500ms, then get 503 SlowDown (0: a third of the memory limit)")
	fs.DurationVar(&f.lifecycleDay, lifecycleDayFlag, s3api.DefaultLifecycleDay, "testing only: the length of a lifecycle rule's day in x-amz-expiration (docs/lifecycle.md); give meta nodes the same")
	hideFlags(fs, lifecycleDayFlag)
	fs.DurationVar(&f.bodyIdle, "body-idle-timeout", s3api.DefaultBodyIdleTimeout, "a request body that sends nothing for this long gets 400 RequestTimeout and its connection closed (negative: never)")
}

// limits returns the load limits for a gateway whose memory is limited to
// memoryLimit bytes (0: s3api.DefaultMemoryLimit), flags overriding.
func (f *s3Flags) limits(memoryLimit int64) (s3api.Limits, error) {
	l := s3api.LimitsFor(memoryLimit)
	if f.maxRequests < 0 {
		return l, fmt.Errorf("--max-requests %d: want 0 or more", f.maxRequests)
	}
	if f.maxRequests > 0 {
		l.MaxRequests = f.maxRequests
	}
	n, err := parseSize(f.maxBodyBytes)
	if err != nil {
		return l, fmt.Errorf("--max-body-bytes %q: not a size such as 80MiB", f.maxBodyBytes)
	}
	if n > 0 {
		l.MaxBodyBytes = n
	}
	if f.bodyIdle != 0 {
		l.BodyIdleTimeout = f.bodyIdle
	}
	return l, nil
}

func (f *s3Flags) config() (s3api.Config, error) {
	creds, err := f.creds.creds()
	if err != nil {
		return s3api.Config{}, err
	}
	cfg := s3api.Config{
		Region: f.region, Namespace: f.namespace, Credentials: creds,
		DataShards: f.dataShards, ParityShards: f.parityShards, BlockSize: f.blockSize, WriteQuorum: f.writeQuorum,
		InlineThreshold: f.inlineMaxBytes, Domains: splitList(f.domains), LifecycleDay: f.lifecycleDay,
	}
	if err := f.enc.apply(&cfg); err != nil {
		return s3api.Config{}, err
	}
	if cfg.Limits, err = f.limits(0); err != nil {
		return s3api.Config{}, err
	}
	return cfg, nil
}

// runGateway runs an S3 gateway; with checkOnly it returns once the flags
// are parsed and checked (cairn check-flags).
func runGateway(ctx context.Context, args []string, checkOnly bool) error {
	fs := flag.NewFlagSet("cairn gateway", flag.ContinueOnError)
	var (
		lf     logFlags
		s3f    s3Flags
		itls   internalTLSFlags
		id     = fs.String("id", "", "this gateway's ID, as in its certificate (default: any gateway certificate)")
		listen = fs.String("listen", "127.0.0.1:9000", "S3 HTTP listen address")
		metas  = fs.String("meta", "127.0.0.1:7101", "meta nodes' gRPC addresses, comma separated")
		opsAd  = opsFlag(fs)
		memLim = fs.String("memory-limit", fmt.Sprintf("%dMiB", s3api.DefaultMemoryLimit>>20), "soft memory limit of the Go runtime, which --max-requests and --max-body-bytes are derived from (0: none; the GOMEMLIMIT environment variable wins)")
		tlsCrt = fs.String("tls-cert", "", "PEM certificate (chain) to serve HTTPS with, together with --tls-key")
		tlsKey = fs.String("tls-key", "", "PEM private key of --tls-cert")
	)
	lf.register(fs)
	s3f.register(fs)
	itls.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	if (*tlsCrt == "") != (*tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if _, err := parseSize(*memLim); err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	log, err := lf.logger("gateway")
	if err != nil {
		return err
	}
	if checkOnly {
		return nil
	}
	transport, err := itls.transport(pki.Identity{Role: pki.RoleGateway, ID: *id}, log)
	if err != nil {
		return err
	}
	cfg, err := s3f.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	if err := applyMemoryLimit(*memLim); err != nil {
		return err
	}
	// The load limits follow the memory limit in force (GOMEMLIMIT's, when
	// it is set).
	if cfg.Limits, err = s3f.limits(effectiveMemoryLimit()); err != nil {
		return err
	}
	lis, err := transport.Net().Listen(ctx, *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	reg := ops.NewRegistry()
	go func() {
		if err := ops.Serve(ctx, *opsAd, transport.Net(), metaReachable(splitList(*metas), transport), reg, log); err != nil {
			log.Error("ops endpoints stopped", "err", err)
		}
	}()
	return s3api.Run(ctx, s3api.GatewayConfig{MetaAddrs: splitList(*metas), S3: cfg, Transport: transport, TLSCertFile: *tlsCrt, TLSKeyFile: *tlsKey, Metrics: reg}, lis)
}

// applyMemoryLimit sets the runtime's soft memory limit. A gateway's live
// heap is small (a few stripes per request) but it allocates fast; without
// a limit, garbage between GC cycles can triple its RSS under load.
func applyMemoryLimit(v string) error {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return nil
	}
	n, err := parseSize(v)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if n > 0 {
		debug.SetMemoryLimit(n)
	}
	return nil
}

// effectiveMemoryLimit is the runtime's soft memory limit, or 0 when there
// is none.
func effectiveMemoryLimit() int64 {
	n := debug.SetMemoryLimit(-1) // -1 reads the limit without changing it
	if n == math.MaxInt64 {
		return 0
	}
	return n
}

// metaReachable is a gateway's readiness: the meta group answers with a
// cluster map that has a leader.
func metaReachable(addrs []string, t *rpcauth.Transport) ops.ReadyFunc {
	return func(ctx context.Context) error {
		mc, err := metaclient.New(addrs, t.DialOptions(pki.RoleMeta)...)
		if err != nil {
			return err
		}
		defer mc.Close()
		cm, err := metaclient.Meta(ctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
			return c.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
		})
		if err != nil {
			return err
		}
		if cm.GetLeaderId() == "" {
			return fmt.Errorf("meta group has no leader")
		}
		return nil
	}
}
