package harness

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/pki"
)

// StartGateway starts one more gateway process for the cluster, configured
// exactly as the first (same meta group, region, operator credentials,
// master key and extra flags) but listening on a port of its own, and
// waits until it answers HTTP. It returns the process and its endpoint
// (http://host:port); it is killed when the test ends, and its log is
// printed if the test failed.
func (c *Cluster) StartGateway(t testing.TB, name string) (*Proc, string) {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p := newProc(c.Gateway.bin, filepath.Dir(c.Gateway.log), name, addr, false)
	p.args = append([]string(nil), c.Gateway.args...)
	for i := 0; i+1 < len(p.args); i++ {
		switch p.args[i] {
		case "--listen":
			p.args[i+1] = addr
		case "--id":
			p.args[i+1] = name
		}
	}
	if _, err := c.issue(pki.RoleGateway, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("==== %s log (tail) ====\n%s", p.Name, p.LogTail(6000))
		}
		_ = p.Kill()
		CheckRaces(t, p)
	})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return p, endpoint
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gateway %s not answering at %s: %v", name, endpoint, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
