package rpcauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/cairn-store/cairn/proto/pki"
)

// countingConn counts the write calls that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// tlsPair runs a TLS handshake over loopback with creds built from the
// fixture's sources and returns both ends with the client's socket counter.
func tlsPair(t *testing.T, wrap func(credentials.TransportCredentials) credentials.TransportCredentials) (client, server net.Conn, sock *countingConn) {
	t.Helper()
	dir := t.TempDir()
	srvID, cliID := pki.Identity{Role: pki.RoleData, ID: "data-1"}, pki.Identity{Role: pki.RoleGateway, ID: "gateway-1"}
	if _, err := pki.EnsureDir(dir, "c1", []pki.Identity{srvID, cliID}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	srcOf := func(id pki.Identity) *pki.Source {
		s, err := pki.Load(pki.DirFiles(dir, id), id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	srvCreds := wrap(credentials.NewTLS(srcOf(srvID).ServerConfig(false)))
	cliCreds := wrap(credentials.NewTLS(srcOf(cliID).ClientConfig(pki.RoleData)))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		raw, err := lis.Accept()
		if err != nil {
			close(accepted)
			return
		}
		conn, _, err := srvCreds.ServerHandshake(raw)
		if err != nil {
			raw.Close()
			close(accepted)
			return
		}
		accepted <- conn
	}()
	raw, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sock = &countingConn{Conn: raw}
	client, _, err = cliCreds.ClientHandshake(context.Background(), "data-1", sock)
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("server handshake failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server, sock
}

// sendAll writes payload in chunks of chunk bytes, as gRPC's flushes do,
// and checks the other side reads exactly it; it returns the socket
// writes the sending took.
func sendAll(t *testing.T, client, server net.Conn, sock *countingConn, payload []byte, chunk int) int64 {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(server, int64(len(payload))))
		got <- b
	}()
	before := sock.writes.Load()
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		if n, err := client.Write(payload[off:end]); err != nil || n != end-off {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	writes := sock.writes.Load() - before
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("the server read %d bytes that differ from the %d sent", len(b), len(payload))
	}
	return writes
}

// TestCoalescedTLSWritesOncePerWrite: a 32 KiB write, two TLS records,
// reaches the socket in one call, where plain crypto/tls makes two; the
// bytes arrive intact both ways.
func TestCoalescedTLSWritesOncePerWrite(t *testing.T) {
	payload := make([]byte, 4<<20)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	const chunk = 32 << 10
	calls := len(payload) / chunk

	c, s, sock := tlsPair(t, coalesced)
	if w := sendAll(t, c, s, sock, payload, chunk); w != int64(calls) {
		t.Fatalf("coalesced: %d socket writes for %d writes of 32 KiB", w, calls)
	}
	// The other direction works too (the server's writes are coalesced
	// the same way; its socket is not counted).
	back := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, 1<<20))
		back <- b
	}()
	if _, err := s.Write(payload[:1<<20]); err != nil {
		t.Fatal(err)
	}
	if b := <-back; !bytes.Equal(b, payload[:1<<20]) {
		t.Fatal("the client read other bytes than the server sent")
	}

	plain := func(c credentials.TransportCredentials) credentials.TransportCredentials { return c }
	c2, s2, sock2 := tlsPair(t, plain)
	if w := sendAll(t, c2, s2, sock2, payload, chunk); w < 2*int64(calls) {
		t.Fatalf("plain crypto/tls made %d socket writes for %d writes of 32 KiB; the premise of coalescing no longer holds", w, calls)
	}
}
