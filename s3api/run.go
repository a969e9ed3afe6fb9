package s3api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/s3api/cluster"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/native"
)

// GatewayConfig is what `cairn gateway` needs: where to listen, the meta
// group, and the S3 settings.
type GatewayConfig struct {
	MetaAddrs []string
	S3        Config // Index and Shards are filled in by Run
	// MapRefresh is how often the cluster map is refreshed (default 2s).
	MapRefresh time.Duration
	// TLSCertFile and TLSKeyFile, when set, serve HTTPS instead of HTTP.
	TLSCertFile, TLSKeyFile string
	// Metrics, when set, receives the request metrics (see NewMetrics).
	Metrics prometheus.Registerer
	// Transport secures the connections to meta and data nodes; nil is
	// plaintext (tests; --insecure-internal).
	Transport *rpcauth.Transport
	// LocalShards, when set, is handed the gRPC way to the data nodes and
	// returns the way the object model reaches them: `cairn dev` reaches
	// the stores in its own process directly, and the rest through remote.
	LocalShards func(remote model.Shards) model.Shards
}

// Run serves S3 on lis until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg GatewayConfig, lis net.Listener) error {
	log := cfg.S3.Logger
	if log == nil {
		log = slog.Default()
	}
	mc, err := metaclient.New(cfg.MetaAddrs, cfg.Transport.DialOptions(pki.RoleMeta)...)
	if err != nil {
		return err
	}
	defer mc.Close()
	pool := cluster.NewData(cfg.Transport)
	defer pool.Close()
	metaView := cluster.NewMeta(mc, log)

	s3cfg := cfg.S3
	s3cfg.Index = metaView
	s3cfg.Shards = model.GRPCShards{Pool: pool}
	if cfg.LocalShards != nil {
		s3cfg.Shards = cfg.LocalShards(s3cfg.Shards)
	}
	if cfg.Metrics != nil {
		m, err := NewMetrics(cfg.Metrics)
		if err != nil {
			return fmt.Errorf("s3api: metrics: %w", err)
		}
		s3cfg.Metrics = m
	}
	srv, err := New(s3cfg)
	if err != nil {
		return err
	}
	var handler http.Handler = srv
	if s3cfg.Metrics != nil {
		handler = s3cfg.Metrics.Wrap(srv)
	}
	// One listener, two front ends on one object model: requests signed
	// with OCI's Signature scheme, or sent to objectstorage.<region>...,
	// are the native API's (docs/native-api.md).
	nsrv, err := native.New(native.Config{
		Region: s3cfg.Region, Index: metaView, Objects: srv.Objects(),
		MaxObjectSize: s3cfg.MaxObjectSize, SSECTransport: s3cfg.SSECTransport,
		Logger: log, Now: s3cfg.Now, StalledBody: ErrRequestTimeout,
	})
	if err != nil {
		return err
	}
	handler = native.Route(srv.Admitted(nsrv, nsrv.Busy), handler)
	refresh := cfg.MapRefresh
	if refresh == 0 {
		refresh = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go metaView.RefreshLoop(ctx, refresh)
	go watchMasterKey(ctx, mc, s3cfg.MasterKey, log, refresh)

	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
			errc <- hs.ServeTLS(lis, cfg.TLSCertFile, cfg.TLSKeyFile)
			return
		}
		errc <- hs.Serve(lis)
	}()
	log.Info("gateway serving S3", "addr", lis.Addr().String(), "region", s3cfg.Region)
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("gateway: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	return hs.Shutdown(sctx)
}
