package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHandshake runs real TLS 1.3 handshakes between a meta server using
// a Source's ServerConfig and clients of many kinds.
func TestHandshake(t *testing.T) {
	ca := mustCA(t, "c1")
	otherCA := mustCA(t, "c1") // same cluster name, different key
	meta := mustIssue(t, ca, ident(RoleMeta, "meta-1"))
	gateway := mustIssue(t, ca, ident(RoleGateway, "gateway-1"))
	data := mustIssue(t, ca, ident(RoleData, "data-1"))
	server, _ := loadProcess(t, bundle(ca), meta)
	client, _ := loadProcess(t, bundle(ca), gateway)

	past := time.Now().Add(-48 * time.Hour)
	expired, err := ca.Issue(ident(RoleGateway, "gateway-1"), nil, time.Hour, past)
	if err != nil {
		t.Fatal(err)
	}
	otherCluster := mustIssue(t, ca, Identity{Cluster: "c2", Role: RoleGateway, ID: "gateway-1"})
	foreign := mustIssue(t, otherCA, ident(RoleGateway, "gateway-1"))
	foreignServer, _ := loadProcess(t, bundle(otherCA), mustIssue(t, otherCA, ident(RoleMeta, "meta-1")))

	gatewayID, metaID := ident(RoleGateway, "gateway-1"), ident(RoleMeta, "meta-1")
	cases := []struct {
		name      string
		serverCfg *tls.Config
		clientCfg *tls.Config
		// On success, serverSees and clientSees are the identities each
		// side sees of the other; nil when the peer sent no certificate.
		ok         bool
		serverSees *Identity
		clientSees *Identity
		// Otherwise refusedBy is the side whose verification refuses
		// ("server" or "client"); its error must be ErrRefused, unless
		// tlsRefusal (crypto/tls refuses before our verification runs).
		refusedBy  string
		tlsRefusal bool
	}{
		{name: "good pair", serverCfg: server.ServerConfig(false), clientCfg: client.ClientConfig(RoleMeta),
			ok: true, serverSees: &gatewayID, clientSees: &metaID},
		{name: "client asks for any role", serverCfg: server.ServerConfig(false), clientCfg: client.ClientConfig(),
			ok: true, serverSees: &gatewayID, clientSees: &metaID},
		{name: "server admits the client's role", serverCfg: server.ServerConfig(false, RoleGateway, RoleAdmin), clientCfg: client.ClientConfig(RoleMeta),
			ok: true, serverSees: &gatewayID, clientSees: &metaID},
		{name: "optional client certificate, none sent", serverCfg: server.ServerConfig(true), clientCfg: rawConfig(t, nil),
			ok: true, serverSees: nil, clientSees: &metaID},
		{name: "optional client certificate, good one sent", serverCfg: server.ServerConfig(true), clientCfg: client.ClientConfig(RoleMeta),
			ok: true, serverSees: &gatewayID, clientSees: &metaID},

		{name: "no client certificate", serverCfg: server.ServerConfig(false), clientCfg: rawConfig(t, nil),
			refusedBy: "server", tlsRefusal: true},
		{name: "self-signed client certificate", serverCfg: server.ServerConfig(false), clientCfg: rawConfig(t, selfSigned(t, gatewayID)),
			refusedBy: "server"},
		{name: "self-signed client certificate on an optional port", serverCfg: server.ServerConfig(true), clientCfg: rawConfig(t, selfSigned(t, gatewayID)),
			refusedBy: "server"},
		{name: "client certificate from another CA", serverCfg: server.ServerConfig(false), clientCfg: rawConfig(t, foreign),
			refusedBy: "server"},
		{name: "client certificate from another CA on an optional port", serverCfg: server.ServerConfig(true), clientCfg: rawConfig(t, foreign),
			refusedBy: "server"},
		{name: "client of another cluster name", serverCfg: server.ServerConfig(false), clientCfg: rawConfig(t, otherCluster),
			refusedBy: "server"},
		{name: "client role not admitted", serverCfg: server.ServerConfig(false, RoleMeta), clientCfg: client.ClientConfig(RoleMeta),
			refusedBy: "server"},
		{name: "data client on a gateway-only port", serverCfg: server.ServerConfig(false, RoleGateway), clientCfg: rawConfig(t, data),
			refusedBy: "server"},
		{name: "expired client certificate", serverCfg: server.ServerConfig(false), clientCfg: rawConfig(t, expired),
			refusedBy: "server"},

		{name: "server of a role the client did not ask for", serverCfg: server.ServerConfig(false), clientCfg: client.ClientConfig(RoleData),
			refusedBy: "client"},
		{name: "server from another CA", serverCfg: foreignServer.ServerConfig(false), clientCfg: client.ClientConfig(RoleMeta),
			refusedBy: "client"},
		{name: "self-signed server", serverCfg: rawConfig(t, selfSigned(t, metaID)), clientCfg: client.ClientConfig(RoleMeta),
			refusedBy: "client"},
		{name: "server of another cluster name", serverCfg: rawConfig(t, mustIssue(t, ca, Identity{Cluster: "c2", Role: RoleMeta, ID: "meta-1"})), clientCfg: client.ClientConfig(RoleMeta),
			refusedBy: "client"},
		{name: "expired server certificate", serverCfg: rawConfig(t, mustIssueAt(t, ca, metaID, time.Hour, past)), clientCfg: client.ClientConfig(RoleMeta),
			refusedBy: "client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cli := handshake(t, c.serverCfg, c.clientCfg)
			if c.ok {
				if srv.err != nil || cli.err != nil {
					t.Fatalf("handshake failed: server %v; client %v", srv.err, cli.err)
				}
				if !samePeer(srv.peer, c.serverSees) {
					t.Fatalf("server sees %v, want %v", srv.peer, c.serverSees)
				}
				if !samePeer(cli.peer, c.clientSees) {
					t.Fatalf("client sees %v, want %v", cli.peer, c.clientSees)
				}
				return
			}
			if srv.err == nil || cli.err == nil {
				t.Fatalf("connection was not refused: server %v; client %v", srv.err, cli.err)
			}
			refuser := srv.err
			if c.refusedBy == "client" {
				refuser = cli.err
			}
			if !c.tlsRefusal && !errors.Is(refuser, ErrRefused) {
				t.Fatalf("%s error %v, want ErrRefused", c.refusedBy, refuser)
			}
		})
	}
}

func mustIssueAt(t *testing.T, ca *CA, id Identity, validity time.Duration, now time.Time) *Leaf {
	t.Helper()
	leaf, err := ca.Issue(id, nil, validity, now)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func samePeer(got, want *Identity) bool {
	if got == nil || want == nil {
		return got == want
	}
	return *got == *want
}

// TestVerifyPeerUsesTheSourceClock: a peer accepted now is refused once
// the Source's clock passes the peer's NotAfter.
func TestVerifyPeerUsesTheSourceClock(t *testing.T) {
	ca := mustCA(t, "c1")
	server, _ := loadProcess(t, bundle(ca), mustIssue(t, ca, ident(RoleMeta, "meta-1")))
	clock := newTestClock(time.Now())
	server.now = clock.Now
	peer := mustIssueAt(t, ca, ident(RoleGateway, "gateway-1"), time.Hour, time.Now())

	srv, cli := handshake(t, server.ServerConfig(false), rawConfig(t, peer))
	if srv.err != nil || cli.err != nil {
		t.Fatalf("fresh peer refused: server %v; client %v", srv.err, cli.err)
	}
	clock.Advance(2 * time.Hour)
	srv, cli = handshake(t, server.ServerConfig(false), rawConfig(t, peer))
	if !errors.Is(srv.err, ErrRefused) || cli.err == nil {
		t.Fatalf("expired peer: server %v; client %v; want ErrRefused", srv.err, cli.err)
	}
}

// TestRevokedSerials: a serial in the deny-list, in any of the forms
// operators write it, refuses that peer and only that peer.
func TestRevokedSerials(t *testing.T) {
	ca := mustCA(t, "c1")
	serverLeaf := mustIssue(t, ca, ident(RoleMeta, "meta-1"))
	revoked := mustIssue(t, ca, ident(RoleGateway, "gateway-1"))
	// A serial with a high byte below 0x10 tests leading-zero handling
	// of the colon form.
	small := new(big.Int).SetBytes([]byte{0x0a, 0x1b, 0x2c, 0x3d})
	serial := revoked.Cert.SerialNumber
	kept := mustIssue(t, ca, ident(RoleGateway, "gateway-2"))

	hexOf := func(n *big.Int) string { return n.Text(16) }
	colons := func(n *big.Int, upper bool) string {
		parts := make([]string, 0, len(n.Bytes()))
		for _, b := range n.Bytes() {
			parts = append(parts, fmt.Sprintf("%02x", b))
		}
		s := strings.Join(parts, ":")
		if upper {
			s = strings.ToUpper(s)
		}
		return s
	}
	cases := []struct {
		name string
		list func(*big.Int) string
	}{
		{"plain hex", func(n *big.Int) string { return hexOf(n) + "\n" }},
		{"upper-case hex, no newline", func(n *big.Int) string { return strings.ToUpper(hexOf(n)) }},
		{"0x prefix", func(n *big.Int) string { return "0x" + hexOf(n) + "\n" }},
		{"0X prefix, upper case", func(n *big.Int) string { return "0X" + strings.ToUpper(hexOf(n)) + "\n" }},
		{"leading zeros", func(n *big.Int) string { return "000" + hexOf(n) + "\n" }},
		{"colons", func(n *big.Int) string { return colons(n, false) + "\n" }},
		{"colons, upper case (openssl)", func(n *big.Int) string { return colons(n, true) + "\n" }},
		{"colons with a leading 00 byte", func(n *big.Int) string { return "00:" + colons(n, false) + "\n" }},
		{"among comments and blanks", func(n *big.Int) string {
			return "# deny-list\n\n   # revoked 2026-01-01\n" + hexOf(small) + "\n  " + hexOf(n) + "   # laptop stolen\n# " + hexOf(kept.Cert.SerialNumber) + "\n"
		}},
		{"CRLF line ends", func(n *big.Int) string { return "# x\r\n" + hexOf(n) + "\r\n" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			f := writeProcess(t, dir, "meta-1", bundle(ca), serverLeaf)
			f.Revoked = filepath.Join(dir, "revoked.txt")
			if err := WriteFileAtomic(f.Revoked, []byte(c.list(serial)), 0o644); err != nil {
				t.Fatal(err)
			}
			server, err := Load(f, ident(RoleMeta, "meta-1"), discardLog())
			if err != nil {
				t.Fatal(err)
			}
			srv, cli := handshake(t, server.ServerConfig(false), rawConfig(t, revoked))
			if !errors.Is(srv.err, ErrRefused) || cli.err == nil {
				t.Fatalf("revoked peer: server %v; client %v; want ErrRefused", srv.err, cli.err)
			}
			if !strings.Contains(srv.err.Error(), "deny-list") {
				t.Fatalf("refused for another reason: %v", srv.err)
			}
			srv, cli = handshake(t, server.ServerConfig(false), rawConfig(t, kept))
			if srv.err != nil || cli.err != nil {
				t.Fatalf("peer not on the list refused: server %v; client %v", srv.err, cli.err)
			}
		})
	}

	t.Run("colon form of a small serial", func(t *testing.T) {
		got, err := readRevokedText(t, colons(small, false)+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if !got[hexOf(small)] || len(got) != 1 {
			t.Fatalf("read %v, want only %s", got, hexOf(small))
		}
	})

	t.Run("added without a restart", func(t *testing.T) {
		dir := t.TempDir()
		f := writeProcess(t, dir, "meta-1", bundle(ca), serverLeaf)
		f.Revoked = filepath.Join(dir, "revoked.txt") // absent at first
		server, err := Load(f, ident(RoleMeta, "meta-1"), discardLog())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.VerifyPeer(chain(t, revoked), x509.ExtKeyUsageClientAuth); err != nil {
			t.Fatalf("before listing: %v", err)
		}
		if err := WriteFileAtomic(f.Revoked, []byte(SerialHex(revoked.Cert)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := server.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := server.VerifyPeer(chain(t, revoked), x509.ExtKeyUsageClientAuth); !errors.Is(err, ErrRefused) {
			t.Fatalf("after listing: err %v, want ErrRefused", err)
		}
		if _, err := server.VerifyPeer(chain(t, kept), x509.ExtKeyUsageClientAuth); err != nil {
			t.Fatalf("unlisted peer: %v", err)
		}
	})
}

func readRevokedText(t *testing.T, text string) (map[string]bool, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "revoked")
	if err := WriteFileAtomic(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return readRevoked(p)
}
