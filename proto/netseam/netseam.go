package netseam

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// The environment variables that switch the seam on.
const (
	// HostsEnv names the hosts file standing in for cluster DNS.
	HostsEnv = "CAIRN_TEST_HOSTS"
	// PodIPEnv is the IP standing in for the process's own pod IP.
	PodIPEnv = "CAIRN_TEST_POD_IP"
)

// ErrUnknownHost is returned for a name the hosts file does not hold.
var ErrUnknownHost = errors.New("netseam: host not in the hosts file")

// Net resolves names from a hosts file and binds wildcard listens to one
// IP. A nil *Net is the system's network.
type Net struct {
	hostsFile string
	podIP     netip.Addr
}

// FromEnv returns the seam the environment asks for, or nil when it asks
// for none.
func FromEnv(getenv func(string) string) (*Net, error) {
	file, ip := getenv(HostsEnv), getenv(PodIPEnv)
	if file == "" && ip == "" {
		return nil, nil
	}
	if file == "" || ip == "" {
		return nil, fmt.Errorf("netseam: %s and %s go together", HostsEnv, PodIPEnv)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("netseam: %s: %w", PodIPEnv, err)
	}
	n := &Net{hostsFile: file, podIP: addr}
	if _, err := n.hosts(); err != nil {
		return nil, err
	}
	return n, nil
}

// String describes the seam for a log line.
func (n *Net) String() string {
	if n == nil {
		return "system network"
	}
	return fmt.Sprintf("test network: names from %s, pod IP %s", n.hostsFile, n.podIP)
}

// hosts reads the hosts file.
func (n *Net) hosts() (map[string]netip.Addr, error) {
	b, err := os.ReadFile(n.hostsFile)
	if err != nil {
		return nil, fmt.Errorf("netseam: hosts file: %w", err)
	}
	out := map[string]netip.Addr{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil || len(f) < 2 {
			return nil, fmt.Errorf("netseam: %s:%d: want an IP and names", n.hostsFile, line)
		}
		for _, name := range f[1:] {
			out[canonical(name)] = ip
		}
	}
	return out, sc.Err()
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// lookup maps host to an IP: an IP literal is itself, a name comes from
// the hosts file.
func (n *Net) lookup(host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	hosts, err := n.hosts()
	if err != nil {
		return netip.Addr{}, err
	}
	ip, ok := hosts[canonical(host)]
	if !ok {
		return netip.Addr{}, fmt.Errorf("%w: %s (%s)", ErrUnknownHost, host, n.hostsFile)
	}
	return ip, nil
}

// ResolveAddr maps "host:port" to "ip:port" for dialing. With a nil n it
// returns addr unchanged, for the system resolver to handle at dial time.
func (n *Net) ResolveAddr(addr string) (string, error) {
	if n == nil {
		return addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("netseam: %w", err)
	}
	ip, err := n.lookup(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// ListenAddr maps a listen address: no host or an unspecified one is the
// pod IP, a name is looked up. With a nil n it returns addr unchanged.
func (n *Net) ListenAddr(addr string) (string, error) {
	if n == nil {
		return addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("netseam: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		return net.JoinHostPort(n.podIP.String(), port), nil
	}
	return n.ResolveAddr(addr)
}

// Listen opens a TCP listener on addr as ListenAddr maps it.
func (n *Net) Listen(ctx context.Context, addr string) (net.Listener, error) {
	a, err := n.ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", a)
}

// DialContext dials addr as ResolveAddr maps it; it has the signature of
// net.Dialer.DialContext.
func (n *Net) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	a, err := n.ResolveAddr(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, a)
}
