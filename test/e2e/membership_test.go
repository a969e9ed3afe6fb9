package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-store/cairn/test/harness"
)

// ctlAt runs cairnctl against addrs with extra environment and returns its
// combined output and error.
func ctlAt(c *harness.Cluster, addrs []string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(cairnctlBin, append(append([]string{"--addr", strings.Join(addrs, ","), "--timeout", "20s"}, c.TrustArgs()...), args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func mustCtlAt(t *testing.T, c *harness.Cluster, addrs []string, args ...string) []byte {
	t.Helper()
	out, err := ctlAt(c, addrs, nil, args...)
	if err != nil {
		t.Fatalf("cairnctl %v: %v\n%s", args, err, out)
	}
	return out
}

// TestAdminTokenRequired: without the admin token, or with a wrong one,
// cairnctl is refused with a clear message and a non-zero exit; the token
// works from the environment, --token and --token-file, and the flag beats
// the environment.
func TestAdminTokenRequired(t *testing.T) {
	c := startCluster(t, harness.Options{Metas: 3, Datas: 1})
	addrs := c.MetaAddrs
	noEnv := []string{"CAIRN_ADMIN_TOKEN="}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"none", noEnv, nil, "admin token required"},
		{"wrong env", []string{"CAIRN_ADMIN_TOKEN=wrong-token-wrong-token"}, nil, "admin token rejected"},
		{"wrong flag", nil, []string{"--token", "wrong-token-wrong-token"}, "admin token rejected"},
	} {
		for _, cmd := range [][]string{{"status"}, {"namespace", "list"}, {"meta", "members"}} {
			out, err := ctlAt(c, addrs, tc.env, append(tc.args, cmd...)...)
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s: cairnctl %v: err=%v, output:\n%s", tc.name, cmd, err, out)
			}
		}
	}
	// The snapshot stream is refused too.
	out, err := ctlAt(c, addrs, noEnv, "meta", "snapshot", "save", filepath.Join(t.TempDir(), "s"))
	if err == nil || !strings.Contains(string(out), "admin token required") {
		t.Fatalf("snapshot save without token: err=%v, output:\n%s", err, out)
	}
	// The right token, by every route; a flag beats a wrong environment.
	mustCtlAt(t, c, addrs, "status")
	for _, args := range [][]string{
		{"--token", c.AdminToken, "status"},
		{"--token-file", c.AdminTokenFile, "status"},
	} {
		if out, err := ctlAt(c, addrs, []string{"CAIRN_ADMIN_TOKEN=wrong-token-wrong-token"}, args...); err != nil {
			t.Fatalf("cairnctl %v: %v\n%s", args, err, out)
		}
	}

	// With a majority gone the error says the group has no leader.
	for _, p := range c.Metas[:2] {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	out, err = ctlAt(c, addrs, nil, "--timeout", "3s", "meta", "members")
	if err == nil || !strings.Contains(string(out), "has no leader") {
		t.Fatalf("meta members without a majority: err=%v, output:\n%s", err, out)
	}
}

type memberRow struct {
	ID       string `json:"id"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
	GRPCAddr string `json:"grpc_addr"`
}

func metaMembers(t *testing.T, c *harness.Cluster, addrs []string) (ids []string, leader string) {
	t.Helper()
	var rows []memberRow
	out := mustCtlAt(t, c, addrs, "meta", "members", "-o", "json")
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("meta members -o json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Suffrage != "Voter" {
			t.Fatalf("member %s is a %s", r.ID, r.Suffrage)
		}
		ids = append(ids, r.ID)
		if r.Leader {
			leader = r.ID
		}
	}
	return ids, leader
}

// ackedWriter PUTs objects continuously and remembers the acknowledged ones.
type ackedWriter struct {
	mu     sync.Mutex
	acked  map[string][]byte
	failed int
	stop   chan struct{}
	done   chan struct{}
}

func startWriter(t *testing.T, c *harness.Cluster, bucket string) *ackedWriter {
	w := &ackedWriter{acked: map[string][]byte{}, stop: make(chan struct{}), done: make(chan struct{})}
	cl := client(c)
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			// Small (inline) and larger (erasure-coded) objects, alternately.
			size := 700
			if i%2 == 1 {
				size = 40 << 10
			}
			key := fmt.Sprintf("w-%06d", i)
			body := pattern(int64(i), size)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := put(ctx, cl, bucket, key, body)
			cancel()
			w.mu.Lock()
			if err == nil {
				w.acked[key] = body
			} else {
				w.failed++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *ackedWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitMore waits until n more PUTs were acknowledged.
func (w *ackedWriter) waitMore(t *testing.T, n int, what string) {
	t.Helper()
	start, deadline := w.count(), time.Now().Add(90*time.Second)
	for w.count() < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: writes stalled at %d acknowledged PUTs", what, w.count())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetaMembershipUnderWrites: with a writer PUTting continuously, the
// meta group grows from 3 to 5 voters, leadership moves to a new member,
// the group shrinks back to 3 by removing the leader and the other new
// member, then a member is killed with SIGKILL and replaced by a fresh
// node. Every acknowledged PUT reads back with the right bytes.
func TestMetaMembershipUnderWrites(t *testing.T) {
	c := startCluster(t, harness.Options{})
	cl := client(c)
	mustCreateBucket(t, cl, "members")
	w := startWriter(t, c, "members")
	defer func() {
		select {
		case <-w.stop:
		default:
			close(w.stop)
		}
		<-w.done
	}()
	w.waitMore(t, 20, "before any change")

	addrs := append([]string(nil), c.MetaAddrs...)
	add := func(name string) *harness.Proc {
		t.Helper()
		p := c.StartMeta(t, name)
		mustCtlAt(t, c, addrs, "meta", "add", name, "--raft-addr", p.MetaRaftAddr(), "--grpc-addr", p.Addr)
		addrs = append(addrs, p.Addr)
		return p
	}
	drop := func(p *harness.Proc) {
		t.Helper()
		var keep []string
		for _, a := range addrs {
			if a != p.Addr {
				keep = append(keep, a)
			}
		}
		addrs = keep
	}

	// Grow 3 -> 5.
	m4 := add("meta-4")
	w.waitMore(t, 10, "after adding meta-4")
	m5 := add("meta-5")
	w.waitMore(t, 10, "after adding meta-5")
	if ids, leader := metaMembers(t, c, addrs); len(ids) != 5 || leader == "" {
		t.Fatalf("after growing: members %v, leader %q", ids, leader)
	}

	// Leadership to a new member, then remove it while it leads: it hands
	// leadership over first. Then remove the other new member.
	out := mustCtlAt(t, c, addrs, "meta", "transfer-leader", "meta-4")
	if !strings.Contains(string(out), "leader: meta-4") {
		t.Fatalf("transfer-leader meta-4: %s", out)
	}
	w.waitMore(t, 10, "after moving leadership to meta-4")
	mustCtlAt(t, c, addrs, "meta", "remove", "meta-4")
	drop(m4)
	mustCtlAt(t, c, addrs, "meta", "remove", "meta-5")
	drop(m5)
	if err := m4.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m5.Kill(); err != nil {
		t.Fatal(err)
	}
	ids, leader := metaMembers(t, c, addrs)
	if len(ids) != 3 || leader == "" || leader == "meta-4" || leader == "meta-5" {
		t.Fatalf("after shrinking: members %v, leader %q", ids, leader)
	}
	w.waitMore(t, 10, "after shrinking to 3")

	// kill -9 the leader and replace it with a fresh node.
	var victim *harness.Proc
	for _, p := range c.Metas {
		if p.Name == leader {
			victim = p
		}
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	drop(victim)
	w.waitMore(t, 10, "after killing "+victim.Name)
	mustCtlAt(t, c, addrs, "meta", "remove", victim.Name)
	add("meta-6")
	w.waitMore(t, 10, "after adding meta-6")
	ids, leader = metaMembers(t, c, addrs)
	if len(ids) != 3 || leader == "" || strings.Contains(strings.Join(ids, ","), victim.Name) {
		t.Fatalf("after replacing %s: members %v, leader %q", victim.Name, ids, leader)
	}
	// The fresh member holds the state: leadership moves to it and writes
	// go on.
	mustCtlAt(t, c, addrs, "meta", "transfer-leader", "meta-6")
	w.waitMore(t, 10, "with meta-6 leading")

	close(w.stop)
	<-w.done
	w.mu.Lock()
	acked, failed := w.acked, w.failed
	w.mu.Unlock()
	t.Logf("%d PUTs acknowledged, %d failed during the changes", len(acked), failed)
	for key, body := range acked {
		mustGetEqual(t, cl, "members", key, body)
	}
}
