package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/pki"
)

// AddData starts one more data node, named data-<n+1>, configured like
// data-1 (same meta nodes and extra flags) on a host of its own, and waits
// until it is healthy. It is killed with the rest of the cluster.
func (c *Cluster) AddData(t testing.TB) *Proc {
	t.Helper()
	if len(c.Datas) == 0 {
		t.Fatal("harness: AddData needs a cluster with a data node to copy")
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("data-%d", len(c.Datas)+1)
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p := newProc(c.Datas[0].bin, c.Root, name, addr, true)
	tmpl := c.Datas[0].args
	p.args = make([]string, len(tmpl))
	copy(p.args, tmpl)
	for i := 0; i+1 < len(p.args); i++ {
		switch p.args[i] {
		case "--id":
			p.args[i+1] = name
		case "--host":
			p.args[i+1] = "host-" + name
		case "--listen":
			p.args[i+1] = addr
		case "--dir":
			p.args[i+1] = filepath.Join(c.Root, name)
		}
	}
	if _, err := c.issue(pki.RoleData, name); err != nil {
		t.Fatal(err)
	}
	c.Datas = append(c.Datas, p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	healthy := 0
	for _, d := range c.Datas {
		if d.Running() {
			healthy++
		}
	}
	if err := c.WaitReady(ctx, healthy); err != nil {
		t.Fatalf("%s not ready: %v", name, err)
	}
	return p
}
