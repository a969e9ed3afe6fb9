package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the Source's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoadChecksWant(t *testing.T) {
	ca := mustCA(t, "c1")
	leaf := mustIssue(t, ca, ident(RoleData, "data-1"))
	f := writeProcess(t, t.TempDir(), "data-1", bundle(ca), leaf)
	cases := []struct {
		name string
		want Identity
		ok   bool
	}{
		{"exact", ident(RoleData, "data-1"), true},
		{"empty matches anything", Identity{}, true},
		{"role only", Identity{Role: RoleData}, true},
		{"other ID", Identity{Role: RoleData, ID: "data-2"}, false},
		{"other role", Identity{Role: RoleMeta, ID: "data-1"}, false},
		{"other cluster", Identity{Cluster: "c2", Role: RoleData, ID: "data-1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := Load(f, c.want, discardLog())
			if !c.ok {
				if !errors.Is(err, ErrIdentity) {
					t.Fatalf("err %v, want ErrIdentity", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := src.Identity(); got != ident(RoleData, "data-1") {
				t.Fatalf("Identity %+v", got)
			}
		})
	}

	t.Run("own certificate must chain to the bundle", func(t *testing.T) {
		g := writeProcess(t, t.TempDir(), "data-1", bundle(mustCA(t, "c1")), leaf)
		if _, err := Load(g, Identity{}, discardLog()); !errors.Is(err, ErrRefused) {
			t.Fatalf("err %v, want ErrRefused", err)
		}
	})
	t.Run("files required", func(t *testing.T) {
		if _, err := Load(Files{CA: f.CA, Cert: f.Cert}, Identity{}, discardLog()); err == nil {
			t.Fatal("Load without a key succeeded")
		}
	})
}

// TestReloadPicksUpRotation: a new leaf and a new bundle written in place
// are served and used after Reload, and after the check interval passes
// on the Source's clock without any call to Reload.
func TestReloadPicksUpRotation(t *testing.T) {
	for _, path := range []string{"Reload", "clock"} {
		t.Run(path, func(t *testing.T) {
			ca, next := mustCA(t, "c1"), mustCA(t, "c1")
			oldLeaf := mustIssue(t, ca, ident(RoleGateway, "gateway-1"))
			src, f := loadProcess(t, bundle(ca), oldLeaf)
			clock := newTestClock(time.Now())
			src.now = clock.Now
			mtime := time.Now().Add(time.Hour)
			// refresh makes the Source see rewritten files: by Reload, or
			// by its clock passing the check interval (and not before).
			refresh := func(stillOld func()) {
				t.Helper()
				if path == "Reload" {
					if err := src.Reload(); err != nil {
						t.Fatal(err)
					}
					return
				}
				mtime = mtime.Add(time.Minute)
				bumpMTime(t, mtime, f.CA, f.Cert, f.Key)
				clock.Advance(reloadEvery / 2)
				stillOld()
				clock.Advance(reloadEvery)
			}

			// A new leaf for the same identity.
			newLeaf := mustIssue(t, ca, ident(RoleGateway, "gateway-1"))
			if err := newLeaf.WriteFiles(f.Cert, f.Key); err != nil {
				t.Fatal(err)
			}
			refresh(func() {
				if got := servedSerial(t, src); got != SerialHex(oldLeaf.Cert) {
					t.Fatalf("reloaded within the check interval: serving %s", got)
				}
			})
			if got := servedSerial(t, src); got != SerialHex(newLeaf.Cert) {
				t.Fatalf("serving %s, want the new leaf %s", got, SerialHex(newLeaf.Cert))
			}
			if got := src.Identity(); got != ident(RoleGateway, "gateway-1") {
				t.Fatalf("Identity %+v", got)
			}

			// A bundle that adds a CA: its leaves become acceptable.
			peer := mustIssue(t, next, ident(RoleMeta, "meta-1"))
			refused := func() {
				t.Helper()
				if _, err := src.VerifyPeer(chain(t, peer), x509.ExtKeyUsageServerAuth); !errors.Is(err, ErrRefused) {
					t.Fatalf("peer of a CA not (yet) in the bundle: err %v, want ErrRefused", err)
				}
			}
			refused()
			if err := WriteFileAtomic(f.CA, bundle(ca, next), 0o644); err != nil {
				t.Fatal(err)
			}
			refresh(refused)
			if _, err := src.VerifyPeer(chain(t, peer), x509.ExtKeyUsageServerAuth); err != nil {
				t.Fatalf("peer of the added CA: %v", err)
			}
		})
	}
}

// TestReloadKeepsOldMaterial: a rewrite that cannot be verified leaves
// the Source serving and trusting what it had, through Reload and
// through the clock; fixing the files then takes effect.
func TestReloadKeepsOldMaterial(t *testing.T) {
	ca, otherCA := mustCA(t, "c1"), mustCA(t, "c1")
	me := ident(RoleGateway, "gateway-1")
	past := time.Now().Add(-48 * time.Hour)
	cases := []struct {
		name    string
		rewrite func(t *testing.T, f Files)
		want    error
	}{
		{"certificate does not match the key", func(t *testing.T, f Files) {
			writeOnly(t, f.Cert, mustIssue(t, ca, me).CertPEM)
		}, ErrPEM},
		{"key does not match the certificate", func(t *testing.T, f Files) {
			writeOnly(t, f.Key, mustIssue(t, ca, me).KeyPEM)
		}, ErrPEM},
		{"another ID", func(t *testing.T, f Files) {
			writeLeaf(t, f, mustIssue(t, ca, ident(RoleGateway, "gateway-2")))
		}, ErrIdentity},
		{"another role", func(t *testing.T, f Files) {
			writeLeaf(t, f, mustIssue(t, ca, ident(RoleAdmin, "gateway-1")))
		}, ErrIdentity},
		{"another cluster name", func(t *testing.T, f Files) {
			writeLeaf(t, f, mustIssue(t, ca, Identity{Cluster: "c2", Role: RoleGateway, ID: "gateway-1"}))
		}, ErrIdentity},
		{"leaf of a CA not in the bundle", func(t *testing.T, f Files) {
			writeLeaf(t, f, mustIssue(t, otherCA, me))
		}, ErrRefused},
		{"bundle without the leaf's CA", func(t *testing.T, f Files) {
			writeOnly(t, f.CA, bundle(otherCA))
		}, ErrRefused},
		{"expired leaf", func(t *testing.T, f Files) {
			writeLeaf(t, f, mustIssueAt(t, ca, me, time.Hour, past))
		}, ErrRefused},
		{"bundle is not PEM", func(t *testing.T, f Files) {
			writeOnly(t, f.CA, []byte("not a certificate\n"))
		}, ErrPEM},
		{"certificate is empty", func(t *testing.T, f Files) {
			writeOnly(t, f.Cert, nil)
		}, ErrPEM},
	}
	for _, c := range cases {
		for _, path := range []string{"Reload", "clock"} {
			t.Run(c.name+"/"+path, func(t *testing.T) {
				oldLeaf := mustIssue(t, ca, me)
				f := writeProcess(t, t.TempDir(), "gateway-1", bundle(ca), oldLeaf)
				logs := &syncBuffer{}
				// want leaves the cluster empty: Load pins the one it reads.
				src, err := Load(f, Identity{Role: me.Role, ID: me.ID}, slog.New(slog.NewTextHandler(logs, nil)))
				if err != nil {
					t.Fatal(err)
				}
				clock := newTestClock(time.Now())
				src.now = clock.Now
				peer := mustIssue(t, ca, ident(RoleMeta, "meta-1"))

				c.rewrite(t, f)
				if path == "Reload" {
					if err := src.Reload(); !errors.Is(err, c.want) {
						t.Fatalf("Reload: err %v, want %v", err, c.want)
					}
				} else {
					bumpMTime(t, time.Now().Add(time.Hour), f.CA, f.Cert, f.Key)
					clock.Advance(2 * reloadEvery)
				}
				if got := servedSerial(t, src); got != SerialHex(oldLeaf.Cert) {
					t.Fatalf("serving %s, want the old leaf %s", got, SerialHex(oldLeaf.Cert))
				}
				if got := src.Identity(); got != me {
					t.Fatalf("Identity %+v, want %+v", got, me)
				}
				if _, err := src.VerifyPeer(chain(t, peer), x509.ExtKeyUsageServerAuth); err != nil {
					t.Fatalf("the old bundle no longer accepts a peer: %v", err)
				}
				if path == "clock" && !strings.Contains(logs.String(), "level=WARN") {
					t.Fatalf("no warning logged for the failed reload; log:\n%s", logs)
				}

				// Good files again: they are taken up.
				fixed := mustIssue(t, ca, me)
				writeLeaf(t, f, fixed)
				writeOnly(t, f.CA, bundle(ca))
				if path == "Reload" {
					if err := src.Reload(); err != nil {
						t.Fatal(err)
					}
				} else {
					bumpMTime(t, time.Now().Add(2*time.Hour), f.CA, f.Cert, f.Key)
					clock.Advance(2 * reloadEvery)
				}
				if got := servedSerial(t, src); got != SerialHex(fixed.Cert) {
					t.Fatalf("after fixing the files: serving %s, want %s", got, SerialHex(fixed.Cert))
				}
			})
		}
	}
}

func writeOnly(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := WriteFileAtomic(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeLeaf(t *testing.T, f Files, leaf *Leaf) {
	t.Helper()
	if err := leaf.WriteFiles(f.Cert, f.Key); err != nil {
		t.Fatal(err)
	}
}

// TestCARotation walks a CA rotation across a meta server, a gateway and
// a data node: old bundle, bundle old+new, new leaves, bundle new only.
// At each step it checks which peers each process accepts, over real
// handshakes for the processes and with VerifyPeer for probe leaves.
func TestCARotation(t *testing.T) {
	oldCA, newCA := mustCA(t, "c1"), mustCA(t, "c1")
	strangerCA := mustCA(t, "c1")
	metaID, gatewayID, dataID := ident(RoleMeta, "meta-1"), ident(RoleGateway, "gateway-1"), ident(RoleData, "data-1")

	type process struct {
		src *Source
		f   Files
	}
	start := func(id Identity) process {
		src, f := loadProcess(t, bundle(oldCA), mustIssue(t, oldCA, id))
		return process{src, f}
	}
	meta, gateway, data := start(metaID), start(gatewayID), start(dataID)
	all := []process{meta, gateway, data}

	probes := map[string]*Leaf{
		"old CA":      mustIssue(t, oldCA, ident(RoleGateway, "probe")),
		"new CA":      mustIssue(t, newCA, ident(RoleGateway, "probe")),
		"stranger CA": mustIssue(t, strangerCA, ident(RoleGateway, "probe")),
	}

	setBundle := func(cas ...*CA) {
		t.Helper()
		for _, p := range all {
			writeOnly(t, p.f.CA, bundle(cas...))
			if err := p.src.Reload(); err != nil {
				t.Fatal(err)
			}
		}
	}
	reissue := func(ca *CA) {
		t.Helper()
		for _, p := range all {
			writeLeaf(t, p.f, mustIssue(t, ca, p.src.Identity()))
			if err := p.src.Reload(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(step string, accepted map[string]bool) {
		t.Helper()
		for _, pair := range []struct {
			server, client process
			role           Role
		}{{meta, gateway, RoleMeta}, {meta, data, RoleMeta}, {data, gateway, RoleData}} {
			srv, cli := handshake(t, pair.server.src.ServerConfig(false), pair.client.src.ClientConfig(pair.role))
			if srv.err != nil || cli.err != nil {
				t.Fatalf("%s: %s -> %s refused: server %v; client %v", step, pair.client.src.Identity(), pair.server.src.Identity(), srv.err, cli.err)
			}
		}
		for name, leaf := range probes {
			for _, p := range all {
				_, err := p.src.VerifyPeer(chain(t, leaf), x509.ExtKeyUsageClientAuth)
				if accepted[name] && err != nil {
					t.Fatalf("%s: %s refuses a leaf of the %s: %v", step, p.src.Identity(), name, err)
				}
				if !accepted[name] && !errors.Is(err, ErrRefused) {
					t.Fatalf("%s: %s accepts a leaf of the %s (err %v)", step, p.src.Identity(), name, err)
				}
			}
		}
	}

	check("1 old bundle", map[string]bool{"old CA": true})
	setBundle(oldCA, newCA)
	check("2 bundle old+new", map[string]bool{"old CA": true, "new CA": true})
	reissue(newCA)
	for _, p := range all {
		if issuer := p.src.current().cert.Leaf.Issuer.String(); issuer != newCA.Cert.Subject.String() {
			t.Fatalf("%s serves a leaf issued by %s", p.src.Identity(), issuer)
		}
	}
	check("3 new leaves", map[string]bool{"old CA": true, "new CA": true})
	// A process not yet rotated still talks to the rotated ones.
	laggard, _ := loadProcess(t, bundle(oldCA, newCA), mustIssue(t, oldCA, ident(RoleGateway, "gateway-2")))
	if srv, cli := handshake(t, meta.src.ServerConfig(false), laggard.ClientConfig(RoleMeta)); srv.err != nil || cli.err != nil {
		t.Fatalf("3: laggard on the old CA refused: server %v; client %v", srv.err, cli.err)
	}
	setBundle(newCA)
	check("4 new bundle only", map[string]bool{"new CA": true})
	srv, cli := handshake(t, meta.src.ServerConfig(false), laggard.ClientConfig(RoleMeta))
	if !errors.Is(srv.err, ErrRefused) || cli.err == nil {
		t.Fatalf("4: a leaf of the old CA: server %v; client %v; want refused", srv.err, cli.err)
	}
	srv, cli = handshake(t, rawConfig(t, probes["old CA"]), gateway.src.ClientConfig())
	if srv.err == nil || !errors.Is(cli.err, ErrRefused) {
		t.Fatalf("4: a server on the old CA: server %v; client %v; want refused by the client", srv.err, cli.err)
	}
}
