package rpcauth

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
)

// crypto/tls writes every record (at most 16 KiB) with a write call of its
// own, so a gRPC flush of 32 KiB becomes two system calls where plaintext
// makes one; on the shard path, with gigabytes crossing the gateway, those
// calls were a quarter of its CPU (docs/security.md). coalesced wraps TLS
// credentials so that the records of one Write leave in one call.

// coalesced wraps c.
func coalesced(c credentials.TransportCredentials) credentials.TransportCredentials {
	return &coalescingCreds{TransportCredentials: c}
}

type coalescingCreds struct {
	credentials.TransportCredentials
}

func (c *coalescingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	under := &batchingConn{Conn: raw}
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, under)
	if err != nil {
		return nil, nil, err
	}
	return &coalescingConn{Conn: conn, under: under}, info, nil
}

func (c *coalescingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	under := &batchingConn{Conn: raw}
	conn, info, err := c.TransportCredentials.ServerHandshake(under)
	if err != nil {
		return nil, nil, err
	}
	return &coalescingConn{Conn: conn, under: under}, info, nil
}

func (c *coalescingCreds) Clone() credentials.TransportCredentials {
	return &coalescingCreds{TransportCredentials: c.TransportCredentials.Clone()}
}

// batchingConn is the plain connection under TLS. While batching is on it
// keeps what TLS writes and sends it on flush; otherwise (the handshake,
// alerts sent from the read side) it writes through at once.
type batchingConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

// maxBatch bounds what one batch holds before it is sent anyway.
const maxBatch = 256 << 10

func (c *batchingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *batchingConn) flushLocked() error {
	for len(c.buf) > 0 {
		n, err := c.Conn.Write(c.buf)
		c.buf = c.buf[n:]
		if err != nil {
			c.buf = nil
			return err
		}
	}
	c.buf = c.buf[:0]
	return nil
}

func (c *batchingConn) setBatching(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = on
	if !on {
		return c.flushLocked()
	}
	return nil
}

// coalescingConn is the TLS connection gRPC uses: each Write's records are
// sent together when it returns.
type coalescingConn struct {
	net.Conn // the TLS connection
	under    *batchingConn
	wmu      sync.Mutex // one Write at a time, so batches do not interleave
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.under.setBatching(true); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if ferr := c.under.setBatching(false); err == nil && ferr != nil {
		// The records were accepted but could not be sent.
		return 0, ferr
	}
	return n, err
}
