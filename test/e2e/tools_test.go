package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/test/harness"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func endpointClient(endpoint, access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""), Retryer: aws.NopRetryer{},
	})
}

// TestDevMode: `cairn dev` runs a whole region in one process — real Raft,
// six Pebble stores, erasure coding — prints its endpoint and credentials,
// and keeps its data across a restart.
func TestDevMode(t *testing.T) {
	dir := t.TempDir()
	s3Addr, admin, raft := freeAddr(t), freeAddr(t), freeAddr(t)
	start := func() (*exec.Cmd, *bufio.Scanner) {
		cmd := exec.Command(cairnBin, "dev", "--dir", dir, "--listen", s3Addr, "--admin-addr", admin, "--raft-addr", raft, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "CAIRN_ACCESS_KEY=dev-key", "CAIRN_SECRET_KEY=dev-secret-123")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, bufio.NewScanner(out)
	}
	cmd, out := start()
	var banner strings.Builder
	for out.Scan() {
		banner.WriteString(out.Text() + "\n")
		if strings.Contains(out.Text(), "Ctrl-C") {
			break
		}
	}
	for _, want := range []string{"http://" + s3Addr, "dev-key", "dev-secret-123", admin} {
		if !strings.Contains(banner.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	cl := endpointClient("http://"+s3Addr, "dev-key", "dev-secret-123")
	waitS3(t, cl)
	mustCreateBucket(t, cl, "devbucket")
	body := pattern(3, 3<<20+11)
	mustPut(t, cl, "devbucket", "big", body)
	mustGetEqual(t, cl, "devbucket", "big", body)

	// cairnctl sees one voter and six healthy stores, with the admin
	// certificate dev made and printed.
	tlsDir := filepath.Join(dir, "tls")
	devCert := []string{"--ca", filepath.Join(tlsDir, "ca.crt"), "--cert", filepath.Join(tlsDir, "admin-cairnctl.crt"), "--key", filepath.Join(tlsDir, "admin-cairnctl.key")}
	if !strings.Contains(banner.String(), "CAIRN_CERT="+devCert[3]) {
		t.Fatalf("banner does not say where cairnctl's certificate is:\n%s", banner.String())
	}
	st := ctlStatus(t, admin, devCert...)
	if len(st.Members) != 1 || st.Leader != "meta-1" || countHealthy(st) != 6 {
		t.Fatalf("dev status: %+v", st)
	}

	// Stop it gracefully and start again: the object is still there.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	_, out = start()
	go func() {
		for out.Scan() {
		}
	}()
	waitS3(t, cl)
	mustGetEqual(t, cl, "devbucket", "big", body)
}

func waitS3(t *testing.T, cl *s3.Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("S3 endpoint not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type ctlStatusJSON struct {
	Leader  string `json:"leader"`
	Members []struct {
		ID     string `json:"id"`
		Leader bool   `json:"leader"`
	} `json:"members"`
	Nodes []struct {
		ID      string `json:"id"`
		Healthy bool   `json:"healthy"`
	} `json:"data_nodes"`
}

func countHealthy(st ctlStatusJSON) int {
	n := 0
	for _, d := range st.Nodes {
		if d.Healthy {
			n++
		}
	}
	return n
}

// ctlStatus runs cairnctl status against addr; conn are its TLS flags.
func ctlStatus(t *testing.T, addr string, conn ...string) ctlStatusJSON {
	t.Helper()
	out, err := exec.Command(cairnctlBin, append(append([]string{"--addr", addr}, conn...), "status", "-o", "json")...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("cairnctl status: %v\n%s", err, msg)
	}
	var st ctlStatusJSON
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("cairnctl status -o json: %v\n%s", err, out)
	}
	return st
}

// TestCairnctlStatus: members, leader and data-node health, as a table and
// as JSON; a dead node shows as unhealthy; an unreachable cluster is a
// clear error with a non-zero exit.
func TestCairnctlStatus(t *testing.T) {
	c := startCluster(t, harness.Options{})
	addrs := strings.Join(c.MetaAddrs, ",")
	st := ctlStatus(t, addrs, c.TrustArgs()...)
	if len(st.Members) != 3 || st.Leader == "" || countHealthy(st) != 6 {
		t.Fatalf("status: %+v", st)
	}
	leaders := 0
	for _, m := range st.Members {
		if m.Leader {
			leaders++
			if m.ID != st.Leader {
				t.Fatalf("member %s marked leader, leader is %s", m.ID, st.Leader)
			}
		}
	}
	if leaders != 1 {
		t.Fatalf("%d members marked leader", leaders)
	}
	table, err := exec.Command(cairnctlBin, append(c.CtlArgs(), "status")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"META MEMBER", "leader", "DATA NODE", "data-6", "healthy", "LEADER JOBS (on " + st.Leader + ")", "repair", "rebalance", "gc", "inventory"} {
		if !strings.Contains(string(table), want) {
			t.Fatalf("table lacks %q:\n%s", want, table)
		}
	}

	// A killed data node turns unhealthy once its heartbeats stop.
	if err := c.Datas[2].Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = ctlStatus(t, addrs, c.TrustArgs()...)
		down := ""
		for _, n := range st.Nodes {
			if !n.Healthy {
				down += n.ID
			}
		}
		if down == c.Datas[2].Name {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed %s, unhealthy: %q", c.Datas[2].Name, down)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Nobody listening: a clear error and a non-zero exit.
	cmd := exec.Command(cairnctlBin, append([]string{"--addr", freeAddr(t), "--timeout", "1s", "status"}, c.TrustArgs()...)...)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "is the cluster running?") {
		t.Fatalf("unreachable cluster: err=%v output=%s", err, msg)
	}
}

// TestLocalClusterScript: `make cluster-up`'s script starts 3 meta, 6 data
// and 1 gateway processes, writes pid files and a sourceable env file, and
// `cluster-down` stops them all.
func TestLocalClusterScript(t *testing.T) {
	dir := t.TempDir()
	base := freePortBlock(t, 320)
	gw := freeAddr(t)
	script := filepath.Join(moduleRoot, "deploy", "local", "cluster.sh")
	env := append(os.Environ(), "CLUSTER_DIR="+dir, "CAIRN_BIN="+cairnBin, "CAIRNCTL_BIN="+cairnctlBin,
		fmt.Sprintf("BASE_PORT=%d", base), "GATEWAY_ADDR="+gw)
	run := func(arg string) {
		t.Helper()
		cmd := exec.Command("bash", script, arg)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cluster.sh %s: %v\n%s\n%s", arg, err, out, logTails(dir))
		}
	}
	t.Cleanup(func() {
		cmd := exec.Command("bash", script, "down")
		cmd.Env = env
		_ = cmd.Run()
	})
	run("up")

	names := []string{"meta-1", "meta-2", "meta-3", "gateway-1"}
	for i := 1; i <= 6; i++ {
		names = append(names, fmt.Sprintf("data-%d", i))
	}
	pids := map[string]int{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n+".pid"))
		if err != nil {
			t.Fatalf("pid file of %s: %v", n, err)
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil || !alive(pid) {
			t.Fatalf("%s: pid %q is not a running process", n, b)
		}
		pids[n] = pid
	}
	// The env file, sourced by a shell, gives what S3 tools and cairnctl need.
	cmd := exec.Command("bash", "-c", `source "$1/env" && echo "$AWS_ENDPOINT_URL|$AWS_ACCESS_KEY_ID|$AWS_SECRET_ACCESS_KEY|$AWS_REGION|$CAIRN_ADMIN_ADDR|$CAIRN_CA|$CAIRN_CERT|$CAIRN_KEY"`, "_", dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "|")
	if len(f) != 8 || f[0] != "http://"+gw || f[4] == "" || f[5] == "" || f[6] == "" {
		t.Fatalf("env: %q", out)
	}
	cl := endpointClient(f[0], f[1], f[2])
	mustCreateBucket(t, cl, "scripted")
	body := pattern(8, 2<<20)
	mustPut(t, cl, "scripted", "k", body)
	// Any one process can be killed by its pid file.
	if err := syscall.Kill(pids["data-4"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	mustGetEqual(t, cl, "scripted", "k", body)
	if st := ctlStatus(t, f[4], "--ca", f[5], "--cert", f[6], "--key", f[7]); len(st.Members) != 3 || st.Leader == "" {
		t.Fatalf("status through the env's admin address: %+v", st)
	}

	run("down")
	time.Sleep(200 * time.Millisecond)
	for n, pid := range pids {
		if alive(pid) {
			t.Fatalf("%s (pid %d) still running after cluster-down", n, pid)
		}
	}
}

// freePortBlock returns a base port below the kernel's ephemeral range such
// that base..base+n-1 can all be bound right now. Ports in the ephemeral
// range may be taken at any moment by the client side of some connection,
// which would make a fixed-offset layout like cluster.sh's fail to bind.
func freePortBlock(t *testing.T, n int) int {
	t.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if _, err := fmt.Sscan(string(b), &a, &z); err == nil && a > 11000 {
			lo = a
		}
	}
	seed := time.Now().UnixNano()
	for try := 0; try < 50; try++ {
		base := 10000 + int((seed+int64(try)*7919)%int64(lo-10000-n))
		var held []net.Listener
		ok := true
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no block of %d free ports below %d", n, lo)
	return 0
}

// logTails returns the last lines of every *.log in dir, for a failure
// message that explains itself.
func logTails(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// alive reports whether pid is a running process (a zombie waiting for a
// parent to reap it does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
