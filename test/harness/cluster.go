package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Options shape a cluster.
type Options struct {
	Metas     int      // meta nodes (default 3)
	Datas     int      // data nodes (default 6)
	Region    string   // default "us-east-1"
	ExtraGW   []string // extra `cairn gateway` flags
	ExtraMeta []string // extra `cairn meta` flags
	ExtraData []string // extra `cairn data` flags
	ExtraAll  []string // extra flags for every process
	// AdminToken guards the meta nodes' Admin service. Default: the
	// environment's CAIRN_ADMIN_TOKEN, else a fixed test token.
	AdminToken string
	// Insecure starts every process with --insecure-internal instead of
	// mutual TLS from a CA the harness makes.
	Insecure bool
	// isolate, set by StartIsolated, moves the processes into network
	// namespaces before they start.
	isolate func(*Cluster) error
}

// Cluster is a running multi-process Cairn region.
type Cluster struct {
	Root      string
	Metas     []*Proc
	Datas     []*Proc
	Gateway   *Proc
	Endpoint  string // http://host:port of the gateway
	Region    string
	AccessKey string
	SecretKey string
	MetaAddrs []string // gRPC addresses of the meta nodes
	// AdminToken is the token of the meta nodes' Admin service, stored in
	// AdminTokenFile (passed to every meta as --admin-token-file).
	AdminToken     string
	AdminTokenFile string
	// MasterKeyFile holds the master keyring every gateway encrypts data
	// with and every meta node seals secrets and re-wraps data keys with.
	// It is read at start: rewrite it and restart to change the keyring.
	MasterKeyFile string
	// Insecure: the processes run with --insecure-internal. Otherwise
	// CertDir holds the cluster CA (ca.crt, ca.key) and every identity's
	// leaf (<role>-<id>.crt/.key), and each process runs with --cert-dir.
	Insecure bool
	CertDir  string
}

// Build compiles the command ./cmd/<name> of the module at moduleRoot into
// dir and returns the binary's path. Set CAIRN_E2E_RACE=0 to build without
// -race.
func Build(moduleRoot, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if os.Getenv("CAIRN_E2E_RACE") != "0" {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// freePorts reserves n distinct loopback ports. They are drawn below the
// kernel's ephemeral range (ip_local_port_range), which the outgoing
// connections of every process on the machine draw from: a port taken
// from ":0" could be handed to some connection's local end between its
// release here and the process's bind (a cluster's ops listener once
// failed with "address already in use" that way). Each is checked by
// binding it, then released before use, so another listener could still
// take one in between; on loopback in a test sandbox that is rare.
func freePorts(n int) ([]int, error) {
	lo, hi := 10000, ephemeralLow()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no free loopback port found in [%d, %d)", lo, hi)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+rand.IntN(hi-lo)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 11000 {
				return v
			}
		}
	}
	return 32768
}

// Start launches a cluster and waits until the gateway serves S3, the meta
// group has a leader and every data node is healthy. Everything is killed
// when the test ends; logs of a failed test are printed.
func Start(t testing.TB, bin string, opt Options) *Cluster {
	t.Helper()
	if opt.Metas == 0 {
		opt.Metas = 3
	}
	if opt.Datas == 0 {
		opt.Datas = 6
	}
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	root := t.TempDir()
	ports, err := freePorts(2*opt.Metas + opt.Datas + 1)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Root: root, Region: opt.Region, AccessKey: "e2e-access", SecretKey: "e2e-secret-key-0123456789", Insecure: opt.Insecure}
	if err := c.initTLS(); err != nil {
		t.Fatal(err)
	}
	tlsArgs := func(role pki.Role, id string) []string {
		args, err := c.issue(role, id)
		if err != nil {
			t.Fatal(err)
		}
		return args
	}
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }

	var peers []string
	for i := 0; i < opt.Metas; i++ {
		peers = append(peers, fmt.Sprintf("meta-%d=%s", i+1, addr(ports[i])))
		c.MetaAddrs = append(c.MetaAddrs, addr(ports[opt.Metas+i]))
	}
	metaList := strings.Join(c.MetaAddrs, ",")
	if err := c.writeAdminToken(opt.AdminToken); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < opt.Metas; i++ {
		name := fmt.Sprintf("meta-%d", i+1)
		p := newProc(bin, root, name, c.MetaAddrs[i], true)
		p.args = append([]string{"meta", "--id", name, "--raft-addr", addr(ports[i]), "--grpc-addr", c.MetaAddrs[i],
			"--dir", p.Dir, "--peers", strings.Join(peers, ","), "--bootstrap", "--admin-token-file", c.AdminTokenFile,
			"--master-key-file", filepath.Join(root, "master.key")}, append(tlsArgs(pki.RoleMeta, name), append(opt.ExtraAll, opt.ExtraMeta...)...)...)
		c.Metas = append(c.Metas, p)
	}
	for i := 0; i < opt.Datas; i++ {
		name := fmt.Sprintf("data-%d", i+1)
		a := addr(ports[2*opt.Metas+i])
		p := newProc(bin, root, name, a, true)
		// Each data node is a host of its own, as on separate machines.
		p.args = append([]string{"data", "--id", name, "--host", "host-" + name, "--listen", a, "--dir", p.Dir, "--meta", metaList}, append(tlsArgs(pki.RoleData, name), append(opt.ExtraAll, opt.ExtraData...)...)...)
		c.Datas = append(c.Datas, p)
	}
	gw := addr(ports[len(ports)-1])
	c.MasterKeyFile = filepath.Join(root, "master.key")
	if err := os.WriteFile(c.MasterKeyFile, sse.GenerateMasterKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Gateway = newProc(bin, root, "gateway-1", gw, false)
	c.Gateway.args = append(append(append([]string{"gateway", "--id", "gateway-1", "--listen", gw, "--meta", metaList, "--region", opt.Region,
		"--access-key", c.AccessKey, "--secret-key", c.SecretKey, "--master-key-file", c.MasterKeyFile}, tlsArgs(pki.RoleGateway, "gateway-1")...), opt.ExtraAll...), opt.ExtraGW...)
	c.Endpoint = "http://" + gw

	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.All() {
				t.Logf("==== %s log (tail) ====\n%s", p.Name, p.LogTail(6000))
			}
		}
		for _, p := range c.All() {
			_ = p.Kill()
		}
		CheckRaces(t, c.All()...)
	})
	if opt.isolate != nil {
		if err := opt.isolate(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.All() {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, opt.Datas); err != nil {
		t.Fatalf("cluster not ready: %v", err)
	}
	return c
}

// All returns every process of the cluster.
func (c *Cluster) All() []*Proc {
	out := append(append([]*Proc(nil), c.Metas...), c.Datas...)
	return append(out, c.Gateway)
}

// MetaClient returns a client of the meta group; closed when the test ends.
func (c *Cluster) MetaClient(t testing.TB) *metaclient.Client {
	mc, err := c.adminMetaClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	return mc
}

// Status asks the meta group for its status.
func (c *Cluster) Status(ctx context.Context) (*cairnpb.StatusResponse, error) {
	mc, err := c.adminMetaClient()
	if err != nil {
		return nil, err
	}
	defer mc.Close()
	return metaclient.Admin(ctx, mc, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.StatusResponse, error) {
		return a.Status(ctx, &cairnpb.StatusRequest{})
	})
}

// RepairStatus asks the meta leader for the repair engine's status.
func (c *Cluster) RepairStatus(ctx context.Context) (*cairnpb.RepairStatus, error) {
	mc, err := c.adminMetaClient()
	if err != nil {
		return nil, err
	}
	defer mc.Close()
	resp, err := metaclient.Admin(ctx, mc, func(ctx context.Context, a cairnpb.AdminClient) (*cairnpb.RepairStatusResponse, error) {
		return a.RepairStatus(ctx, &cairnpb.RepairStatusRequest{})
	})
	return resp.GetStatus(), err
}

// WaitReady waits for a leader, wantHealthy healthy data nodes, and a
// gateway that answers HTTP.
func (c *Cluster) WaitReady(ctx context.Context, wantHealthy int) error {
	var last error
	for {
		last = c.ready(ctx, wantHealthy)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(ctx context.Context, wantHealthy int) error {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := c.Status(sctx)
	if err != nil {
		return err
	}
	if st.GetLeaderId() == "" {
		return fmt.Errorf("no leader")
	}
	healthy := 0
	for _, n := range st.GetNodes() {
		if n.GetHealthy() {
			healthy++
		}
	}
	if healthy < wantHealthy {
		return fmt.Errorf("%d of %d data nodes healthy", healthy, wantHealthy)
	}
	// Meta's view can lag a restart by a heartbeat window: ask every running
	// data node itself.
	for _, p := range c.Datas {
		if !p.Running() {
			continue
		}
		if err := c.dataHealth(sctx, p.Addr); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	resp, err := http.Get(c.Endpoint + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// adminMetaClient is a meta client with the harness's gateway certificate
// (Meta calls) and the admin token (Admin calls).
func (c *Cluster) adminMetaClient() (*metaclient.Client, error) {
	return c.AdminMetaClientAt(c.MetaAddrs)
}

// AdminMetaClientAt is a client of the meta nodes at addrs with the
// harness's gateway certificate and the admin token; the caller closes it.
func (c *Cluster) AdminMetaClientAt(addrs []string) (*metaclient.Client, error) {
	dial, err := c.harnessDial(pki.RoleGateway, pki.RoleMeta)
	if err != nil {
		return nil, err
	}
	return metaclient.New(addrs, append(metaclient.WithAdminToken(c.AdminToken), dial)...)
}

func (c *Cluster) dataHealth(ctx context.Context, addr string) error {
	dial, err := c.harnessDial(pki.RoleAdmin, pki.RoleData)
	if err != nil {
		return err
	}
	cc, err := grpc.NewClient(addr, dial)
	if err != nil {
		return err
	}
	defer cc.Close()
	_, err = cairnpb.NewDataClient(cc).Health(ctx, &cairnpb.HealthRequest{})
	return err
}

// Leader returns the meta process that currently leads.
func (c *Cluster) Leader(ctx context.Context) (*Proc, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range c.Metas {
		if p.Name == st.GetLeaderId() {
			return p, nil
		}
	}
	return nil, fmt.Errorf("leader %q is not one of this cluster's meta nodes", st.GetLeaderId())
}

// Data returns the data node process with the given ID.
func (c *Cluster) Data(id string) *Proc {
	for _, p := range c.Datas {
		if p.Name == id {
			return p
		}
	}
	return nil
}
