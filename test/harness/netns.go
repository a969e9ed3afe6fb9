package harness

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Isolated clusters.
//
// StartIsolated runs every process of a cluster in a network namespace of
// its own. The namespaces hang off one Linux bridge in the test's namespace
// by veth pairs and share one /24, and the bridge holds the subnet's .1, so
// the test reaches every process directly. Partition then cuts chosen
// processes off from others with blackhole routes inside their namespaces
// (both directions), which leaves the test's own view of every process
// intact: a cut-off meta leader can still be asked whether it accepts
// writes. Heal removes the routes. It needs root and the `ip` tool
// (iproute2); NetnsSupport says whether the machine has both.

// NetnsSupport returns nil when isolated clusters can run here, or why not.
func NetnsSupport() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("the ip tool (iproute2) is missing: %w", err)
	}
	name := fmt.Sprintf("cairnprobe%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, strings.TrimSpace(string(out)))
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "link", "add", name[:10]+"a", "type", "veth", "peer", "name", name[:10]+"b").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link add veth: %v: %s", err, strings.TrimSpace(string(out)))
	}
	_ = exec.Command("ip", "link", "del", name[:10]+"a").Run()
	return nil
}

// Network is the bridge and namespaces of an isolated cluster.
type Network struct {
	id     string // short random tag in every interface and namespace name
	subnet string // first three octets, "10.x.y"
	bridge string

	mu     sync.Mutex
	ns     map[*Proc]string // process -> namespace
	ip     map[*Proc]string
	routes map[[2]*Proc]bool // blackholed (from, to) pairs
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetwork makes the bridge; namespaces are added with addHost.
func newNetwork() (*Network, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	v := binary.BigEndian.Uint16(b[:2])
	n := &Network{
		id:     fmt.Sprintf("%04x", v),
		subnet: fmt.Sprintf("10.%d.%d", 100+int(b[2])%100, b[0]),
		ns:     map[*Proc]string{},
		ip:     map[*Proc]string{},
		routes: map[[2]*Proc]bool{},
	}
	n.bridge = "cbr" + n.id
	if err := ipCmd("link", "add", n.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := ipCmd("addr", "add", n.subnet+".1/24", "dev", n.bridge); err != nil {
		n.Close()
		return nil, err
	}
	if err := ipCmd("link", "set", n.bridge, "up"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// addHost makes the i-th namespace (i >= 1) and returns its name and IP.
func (n *Network) addHost(i int) (ns, ip string, err error) {
	ns = fmt.Sprintf("cairn%s-%d", n.id, i)
	ip = fmt.Sprintf("%s.%d", n.subnet, 10+i)
	host, peer := fmt.Sprintf("cv%s%dh", n.id, i), fmt.Sprintf("cv%s%dp", n.id, i)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"link", "set", host, "master", n.bridge},
		{"link", "set", host, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", ip + "/24", "dev", peer},
		{"-n", ns, "link", "set", peer, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return "", "", err
		}
	}
	return ns, ip, nil
}

// Close deletes the namespaces (and so their veth pairs) and the bridge.
func (n *Network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ns := range n.ns {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	_ = exec.Command("ip", "link", "del", n.bridge).Run()
}

// IP returns the address of p's namespace.
func (n *Network) IP(p *Proc) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ip[p]
}

// Partition cuts every process in a off from every process in b, both
// ways. The test's own connections to them are untouched.
func (n *Network) Partition(a, b []*Proc) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			for _, pair := range [][2]*Proc{{x, y}, {y, x}} {
				if n.routes[pair] {
					continue
				}
				if err := ipCmd("-n", n.ns[pair[0]], "route", "add", "blackhole", n.ip[pair[1]]+"/32"); err != nil {
					return err
				}
				n.routes[pair] = true
			}
		}
	}
	return nil
}

// Heal removes every partition.
func (n *Network) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for pair := range n.routes {
		if err := ipCmd("-n", n.ns[pair[0]], "route", "del", "blackhole", n.ip[pair[1]]+"/32"); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(n.routes, pair)
	}
	return errors.Join(errs...)
}

// StartIsolated is Start with every process in its own network namespace
// (see Network). It fails the test when the machine cannot do it: check
// NetnsSupport first.
func StartIsolated(t testing.TB, bin string, opt Options) (*Cluster, *Network) {
	t.Helper()
	nw, err := newNetwork()
	if err != nil {
		t.Fatal(err)
	}
	// Registered before Start's clean-up, so it runs after the processes
	// are gone.
	t.Cleanup(nw.Close)
	opt.isolate = nw.isolate
	return Start(t, bin, opt), nw
}

// loopbackAddr matches the addresses Start gives processes.
var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// isolate gives each process of c a namespace, moves every address it
// listens on from 127.0.0.1 to its namespace's IP (same port: each
// namespace has its own), rewrites every reference to those addresses,
// and wraps each command in `ip netns exec`.
func (n *Network) isolate(c *Cluster) error {
	moved := map[string]string{}
	listenFlags := map[string]bool{"--raft-addr": true, "--grpc-addr": true, "--listen": true}
	for i, p := range c.All() {
		ns, ip, err := n.addHost(i + 1)
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.ns[p], n.ip[p] = ns, ip
		n.mu.Unlock()
		for j := 0; j+1 < len(p.args); j++ {
			if a := p.args[j+1]; listenFlags[p.args[j]] && loopbackAddr.MatchString(a) {
				_, port, _ := strings.Cut(a, ":")
				moved[a] = ip + ":" + port
			}
		}
	}
	rewrite := func(s string) string {
		return loopbackAddr.ReplaceAllStringFunc(s, func(a string) string {
			if m, ok := moved[a]; ok {
				return m
			}
			return a
		})
	}
	for _, p := range c.All() {
		for j := range p.args {
			p.args[j] = rewrite(p.args[j])
		}
		p.Addr = rewrite(p.Addr)
		p.args = append([]string{"netns", "exec", n.ns[p], p.bin}, p.args...)
		p.bin = "ip"
	}
	for i := range c.MetaAddrs {
		c.MetaAddrs[i] = rewrite(c.MetaAddrs[i])
	}
	c.Endpoint = rewrite(c.Endpoint)
	return nil
}
