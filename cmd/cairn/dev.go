package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-store/cairn/cmd/internal/ops"
	"github.com/cairn-store/cairn/meta"
	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/node"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/proto/rpcauth"
	"github.com/cairn-store/cairn/s3api"
	"github.com/cairn-store/cairn/s3api/model"
)

// runDev wires a whole region into one process: a single-voter meta group,
// N data nodes each with its own Pebble store, and a gateway. Every piece is
// the real one, talking real gRPC over loopback.
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cairn dev", flag.ContinueOnError)
	var (
		lf     logFlags
		s3f    s3Flags
		listen = fs.String("listen", "127.0.0.1:9000", "S3 HTTP listen address")
		dir    = fs.String("dir", "./data", "where all state lives")
		nodes  = fs.Int("data-nodes", 6, "number of data stores")
		admin  = fs.String("admin-addr", "127.0.0.1:9001", "gRPC address of the meta node (Meta and Admin services, for cairnctl)")
		opsAd  = opsFlag(fs)
		grace  = fs.Duration("gc-grace", meta.DefaultGCGrace, "how long unreferenced shards are kept before they are deleted")
		raft   = fs.String("raft-addr", "127.0.0.1:9002", "Raft address of the meta node (kept across restarts)")
		insec  = fs.Bool("insecure-internal", false, "plaintext internal ports with no caller identities (default: mutual TLS with certificates generated into <dir>/tls)")
	)
	var tok adminTokenFlags
	lf.register(fs)
	s3f.register(fs)
	tok.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes < s3f.dataShards+s3f.parityShards {
		return fmt.Errorf("--data-nodes %d is fewer than the %d+%d shards of the erasure scheme", *nodes, s3f.dataShards, s3f.parityShards)
	}
	log, err := lf.logger("dev")
	if err != nil {
		return err
	}
	// The master key lives with the rest of the state unless one is given.
	if err := s3f.enc.defaultMasterKeyFile(filepath.Join(*dir, "master.key")); err != nil {
		return err
	}
	s3cfg, err := s3f.config()
	if err != nil {
		return err
	}
	s3cfg.Logger = log.With("component", "gateway")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, *nodes+2)

	// Meta: one voter, bootstrapped on first start.
	adminToken, err := tok.token(*dir, log)
	if err != nil {
		return err
	}
	tokenHint := "export CAIRN_ADMIN_TOKEN=... (the token you gave)"
	if tok.file != "" || os.Getenv("CAIRN_ADMIN_TOKEN") == "" {
		path := tok.file
		if path == "" {
			path = filepath.Join(*dir, meta.AdminTokenFile)
		}
		tokenHint = fmt.Sprintf("export CAIRN_ADMIN_TOKEN=$(cat %s)", path)
	}
	transports, tlsHint, err := devTransports(*dir, *nodes, *insec, log)
	if err != nil {
		return err
	}
	raftAddr := *raft
	metaLis, err := net.Listen("tcp", *admin)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *admin, err)
	}
	ms, err := meta.New(ctx, meta.Config{
		ID: "meta-1", RaftAddr: raftAddr, GRPCAddr: metaLis.Addr().String(),
		Dir: filepath.Join(*dir, "meta-1"), Peers: []meta.Peer{{ID: "meta-1", RaftAddr: raftAddr}},
		Bootstrap: true, Logger: log.With("component", "meta"), GCGrace: *grace, AdminToken: adminToken,
		Keyring: s3cfg.MasterKey.Keyring(), Transport: transports("meta", "meta-1"),
	})
	if err != nil {
		metaLis.Close()
		return err
	}
	defer ms.Close()
	go func() { errc <- ms.Serve(ctx, metaLis) }()
	metaAddrs := []string{metaLis.Addr().String()}

	// One registry for the whole region: data-node series carry a node label.
	reg := ops.NewRegistry()
	if err := registerMetaMetrics(reg, ms); err != nil {
		return err
	}
	go func() {
		if err := ops.Serve(ctx, *opsAd, nil, ms.WaitLeader, reg, log); err != nil {
			log.Error("ops endpoints stopped", "err", err)
		}
	}()

	// Data nodes.
	nodeAddrs := map[string]string{}
	stores := map[string]*node.Store{} // by address: the gateway calls them directly
	for i := 1; i <= *nodes; i++ {
		id := fmt.Sprintf("data-%d", i)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		n, err := node.New(node.Config{
			ID: id, Dir: filepath.Join(*dir, id), Listen: lis.Addr().String(), MetaAddrs: metaAddrs,
			Logger: log.With("component", "data", "node", id),
			// Six stores share one process: smaller memtables keep it modest.
			Store:     node.StoreOptions{MemTableSize: 16 << 20},
			Transport: transports("data", id),
		})
		if err != nil {
			lis.Close()
			return err
		}
		defer n.Close()
		if err := registerDataMetrics(reg, id, n); err != nil {
			lis.Close()
			return err
		}
		nodeAddrs[id] = lis.Addr().String()
		stores[lis.Addr().String()] = n.Store()
		go func() { errc <- n.Serve(ctx, lis) }()
	}
	// Serve S3 only once every store is registered at its current address,
	// so the first request after the banner finds them all.
	gwTransport := transports("gateway", "gateway-1")
	if err := waitRegistered(ctx, metaAddrs, nodeAddrs, gwTransport); err != nil {
		return err
	}

	// Gateway.
	gwLis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	go func() {
		errc <- s3api.Run(ctx, s3api.GatewayConfig{MetaAddrs: metaAddrs, S3: s3cfg, MapRefresh: time.Second, Metrics: reg, Transport: gwTransport,
			LocalShards: func(remote model.Shards) model.Shards { return localShards{stores: stores, remote: remote} }}, gwLis)
	}()

	var ak string
	for k := range s3cfg.Credentials {
		ak = k
	}
	fmt.Fprintf(os.Stdout, `Cairn is running (all in one process, state in %s).

  S3 endpoint:        http://%s
  region:             %s
  access key:         %s
  secret key:         %s
  admin (cairnctl):   %s

  export AWS_ENDPOINT_URL=http://%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s CAIRN_ADMIN_ADDR=%s
  %s   # cairnctl's admin token
  %s

Ctrl-C stops it.
`, *dir, gwLis.Addr(), s3cfg.Region, ak, s3cfg.Credentials[ak], metaLis.Addr(),
		gwLis.Addr(), ak, s3cfg.Credentials[ak], s3cfg.Region, metaLis.Addr(), tokenHint, tlsHint)

	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

// waitRegistered waits until meta's cluster map lists every data node in
// want at its address, healthy.
func waitRegistered(ctx context.Context, metaAddrs []string, want map[string]string, t *rpcauth.Transport) error {
	mc, err := metaclient.New(metaAddrs, t.DialOptions(pki.RoleMeta)...)
	if err != nil {
		return err
	}
	defer mc.Close()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		cm, err := metaclient.Meta(wctx, mc, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
			return c.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
		})
		if err == nil {
			ready := 0
			for _, st := range cm.GetNodes() {
				if st.GetHealthy() && want[st.GetNode().GetId()] == st.GetNode().GetAddr() {
					ready++
				}
			}
			if ready == len(want) {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("data stores did not register with meta: %w", wctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// devCluster is the cluster name of the certificates `cairn dev` makes.
const devCluster = "dev"

// devAdminID is the ID of the admin certificate `cairn dev` makes for
// cairnctl.
const devAdminID = "cairnctl"

// devTransports makes (on first start) a CA and a leaf for every part of
// the all-in-one region under <dir>/tls, and returns a function giving
// each part its transport, plus the line telling cairnctl where its
// certificate is. With insecure, every part is plaintext.
func devTransports(dir string, nodes int, insecure bool, log *slog.Logger) (func(role, id string) *rpcauth.Transport, string, error) {
	if insecure {
		log.Warn("INSECURE: internal ports are plaintext and authorize no one (--insecure-internal); use only in tests")
		return func(string, string) *rpcauth.Transport { return rpcauth.Insecure() }, "(internal ports are plaintext: cairnctl needs --insecure)", nil
	}
	certDir := filepath.Join(dir, "tls")
	ids := []pki.Identity{{Role: pki.RoleMeta, ID: "meta-1"}, {Role: pki.RoleGateway, ID: "gateway-1"}, {Role: pki.RoleAdmin, ID: devAdminID}}
	for i := 1; i <= nodes; i++ {
		ids = append(ids, pki.Identity{Role: pki.RoleData, ID: fmt.Sprintf("data-%d", i)})
	}
	if _, err := pki.EnsureDir(certDir, devCluster, ids, []string{"127.0.0.1", "localhost"}, time.Now()); err != nil {
		return nil, "", err
	}
	byID := map[string]*rpcauth.Transport{}
	for _, id := range ids {
		if id.Role == pki.RoleAdmin {
			continue
		}
		src, err := pki.Load(pki.DirFiles(certDir, id), id, log.With("component", string(id.Role), "id", id.ID))
		if err != nil {
			return nil, "", err
		}
		byID[string(id.Role)+"/"+id.ID] = rpcauth.MTLS(src)
	}
	ca, _ := pki.CAFiles(certDir)
	cert, key := pki.LeafFiles(certDir, pki.Identity{Role: pki.RoleAdmin, ID: devAdminID})
	hint := fmt.Sprintf("export CAIRN_CA=%s CAIRN_CERT=%s CAIRN_KEY=%s   # cairnctl's certificate", ca, cert, key)
	return func(role, id string) *rpcauth.Transport { return byID[role+"/"+id] }, hint, nil
}
