package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-store/cairn/proto/pki"
)

// DefaultAdminToken is the admin token of a cluster whose Options give none
// while CAIRN_ADMIN_TOKEN is unset.
const DefaultAdminToken = "cairn-e2e-admin-token-0123456789"

// writeAdminToken picks the cluster's admin token and writes it to
// <root>/admin.token for the meta nodes.
func (c *Cluster) writeAdminToken(token string) error {
	if token == "" {
		token = os.Getenv("CAIRN_ADMIN_TOKEN")
	}
	if token == "" {
		token = DefaultAdminToken
	}
	c.AdminToken = token
	c.AdminTokenFile = filepath.Join(c.Root, "admin.token")
	return os.WriteFile(c.AdminTokenFile, []byte(token+"\n"), 0o600)
}

// metaArgs builds the arguments of a meta node from the first meta's, so a
// new node gets the same shared flags (token, keys, extra flags): identity
// flags are replaced and the group flags (--peers, --bootstrap, --join,
// --restore) dropped.
func (c *Cluster) metaArgs(name, raftAddr, grpcAddr, dir string) []string {
	args := []string{"meta", "--id", name, "--raft-addr", raftAddr, "--grpc-addr", grpcAddr, "--dir", dir}
	skipValue := map[string]bool{"--id": true, "--raft-addr": true, "--grpc-addr": true, "--dir": true, "--peers": true, "--restore": true}
	tmpl := c.Metas[0].args[1:]
	for i := 0; i < len(tmpl); i++ {
		switch a := tmpl[i]; {
		case skipValue[a]:
			i++
		case a == "--bootstrap", a == "--join", strings.HasPrefix(a, "--restore="):
		default:
			args = append(args, a)
		}
	}
	return args
}

// StartMeta starts a new, empty meta node named name that waits to be
// added to the group (`cairn meta --join`). It is appended to c.Metas (so
// it is killed and its log shown with the others) but not to c.MetaAddrs,
// which the gateway and data nodes were started with.
func (c *Cluster) StartMeta(t testing.TB, name string) *Proc {
	t.Helper()
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	raftAddr, grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	p := newProc(c.Metas[0].bin, c.Root, name, grpcAddr, true)
	if _, err := c.issue(pki.RoleMeta, name); err != nil {
		t.Fatal(err)
	}
	p.args = append(c.metaArgs(name, raftAddr, grpcAddr, p.Dir), "--join")
	c.Metas = append(c.Metas, p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// MetaRaftAddr returns the Raft address a meta process was started with.
func (p *Proc) MetaRaftAddr() string {
	for i, a := range p.args {
		if a == "--raft-addr" && i+1 < len(p.args) {
			return p.args[i+1]
		}
	}
	return ""
}

// ReplaceMetas stops every meta node and starts a new group of n members
// (new IDs prefix-1..n, new directories and ports), bootstrapped from
// snapshot (a `cairnctl meta snapshot save` file) when it is not empty.
// The data nodes and the gateway are restarted pointing at the new group;
// their directories, IDs and keys stay.
func (c *Cluster) ReplaceMetas(t testing.TB, prefix string, n int, snapshot string) {
	t.Helper()
	ports, err := freePorts(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	old := c.Metas
	for _, p := range old {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	var peers, addrs []string
	for i := 0; i < n; i++ {
		peers = append(peers, fmt.Sprintf("%s-%d=127.0.0.1:%d", prefix, i+1, ports[i]))
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", ports[n+i]))
	}
	var metas []*Proc
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i+1)
		raftAddr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		p := newProc(old[0].bin, c.Root, name, addrs[i], true)
		if _, err := c.issue(pki.RoleMeta, name); err != nil {
			t.Fatal(err)
		}
		p.args = append(c.metaArgs(name, raftAddr, addrs[i], p.Dir), "--peers", strings.Join(peers, ","), "--bootstrap")
		if snapshot != "" {
			p.args = append(p.args, "--restore", snapshot)
		}
		metas = append(metas, p)
	}
	// The old processes stay in the list (stopped) so their logs show on
	// failure.
	c.Metas = append(metas, old...)
	c.MetaAddrs = addrs
	for _, p := range metas {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	list := strings.Join(addrs, ",")
	for _, p := range append(append([]*Proc(nil), c.Datas...), c.Gateway) {
		for i, a := range p.args {
			if a == "--meta" && i+1 < len(p.args) {
				p.args[i+1] = list
			}
		}
		if err := p.Restart(); err != nil {
			t.Fatal(err)
		}
	}
}
