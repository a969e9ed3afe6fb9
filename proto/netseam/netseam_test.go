package netseam

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func seam(t *testing.T, hosts, podIP string) *Net {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(file, []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := FromEnv(func(k string) string {
		return map[string]string{HostsEnv: file, PodIPEnv: podIP}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFromEnv(t *testing.T) {
	n, err := FromEnv(func(string) string { return "" })
	if n != nil || err != nil {
		t.Fatalf("no variables: got %v, %v; want the system network", n, err)
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{PodIPEnv: "127.0.0.2"}[k] }); err == nil {
		t.Error("a pod IP without a hosts file was accepted")
	}
	if _, err := FromEnv(func(k string) string {
		return map[string]string{PodIPEnv: "127.0.0.2", HostsEnv: "/nonexistent/hosts"}[k]
	}); err == nil {
		t.Error("a missing hosts file was accepted")
	}
}

func TestAddresses(t *testing.T) {
	n := seam(t, "# cluster DNS\n127.0.0.3 a.svc.cluster.local a\n127.0.0.4 B.svc.cluster.local.  # trailing dot\n", "127.0.0.9")
	for _, c := range []struct{ in, dial, listen string }{
		{"a.svc.cluster.local:7001", "127.0.0.3:7001", "127.0.0.3:7001"},
		{"a:1", "127.0.0.3:1", "127.0.0.3:1"},
		{"b.svc.cluster.local.:2", "127.0.0.4:2", "127.0.0.4:2"},
		{"10.1.2.3:4", "10.1.2.3:4", "10.1.2.3:4"},
		{":7201", "", "127.0.0.9:7201"},
		{"0.0.0.0:7201", "0.0.0.0:7201", "127.0.0.9:7201"},
	} {
		if c.dial != "" {
			if got, err := n.ResolveAddr(c.in); err != nil || got != c.dial {
				t.Errorf("ResolveAddr(%q) = %q, %v; want %q", c.in, got, err, c.dial)
			}
		}
		if got, err := n.ListenAddr(c.in); err != nil || got != c.listen {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", c.in, got, err, c.listen)
		}
	}
	if _, err := n.ResolveAddr("c.svc.cluster.local:1"); !errors.Is(err, ErrUnknownHost) {
		t.Errorf("an unknown name: got %v, want ErrUnknownHost", err)
	}
	var none *Net
	if got, _ := none.ListenAddr(":7201"); got != ":7201" {
		t.Errorf("the system network rewrote :7201 to %q", got)
	}
	if got, _ := none.ResolveAddr("a:1"); got != "a:1" {
		t.Errorf("the system network rewrote a:1 to %q", got)
	}
}

// TestGRPCResolvesLateNames: a gRPC client whose target is not in the
// hosts file yet connects once the name appears, as a pod's DNS record
// appears after the pod is created.
func TestGRPCResolvesLateNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(file, []byte("127.0.0.1 other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := FromEnv(func(k string) string { return map[string]string{HostsEnv: file, PodIPEnv: "127.0.0.1"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	lis, err := n.Listen(context.Background(), ":0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lis.Addr().String(), "127.0.0.1:") {
		t.Fatalf("listening on %s, want the pod IP", lis.Addr())
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()
	_, port, _ := net.SplitHostPort(lis.Addr().String())

	cc, err := grpc.NewClient("late.example:"+port, append(n.GRPC(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	cancel()
	if err == nil || !strings.Contains(err.Error(), "not in the hosts file") {
		t.Fatalf("before the name exists: got %v, want the hosts file's refusal", err)
	}
	if err := os.WriteFile(file, []byte("127.0.0.1 other late.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("after the name appeared: %v", err)
	}
}
