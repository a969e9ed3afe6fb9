package meta

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cairn-store/cairn/proto/netseam"
	"github.com/cairn-store/cairn/proto/rpcauth"
)

// newRaftTransport opens the Raft transport on cfg.RaftAddr, which is both
// the address it listens on and the one it advertises: mutual TLS that
// admits meta certificates only, both ways, or plain TCP when the
// transport is plaintext. Names resolve on the transport's network (the
// system's, or the test seam's).
func newRaftTransport(cfg Config) (*raft.NetworkTransport, error) {
	nw := cfg.Transport.Net()
	lis, err := nw.Listen(context.Background(), cfg.RaftAddr)
	if err != nil {
		return nil, err
	}
	resolved, err := nw.ResolveAddr(cfg.RaftAddr)
	if err != nil {
		lis.Close()
		return nil, err
	}
	adv, err := net.ResolveTCPAddr("tcp", resolved)
	if err != nil {
		lis.Close()
		return nil, err
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		lis.Close()
		return nil, fmt.Errorf("raft address %s is not advertisable", cfg.RaftAddr)
	}
	layer := &streamLayer{Listener: lis, advertise: adv, net: nw}
	if src := cfg.Transport.Source(); src != nil {
		layer.Listener = tls.NewListener(lis, src.ServerConfig(false, rpcauth.RaftRoles()...))
		layer.client = src.ClientConfig(rpcauth.RaftRoles()...)
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: transportPool, Timeout: transportTimeout,
		Logger: newHCLog(cfg.Logger, "raft-transport"),
	}), nil
}

// streamLayer is raft.StreamLayer over mutual TLS, or plain TCP when
// client is nil. With TLS, Accept (the embedded TLS listener's) hands
// connections over before their handshake, which runs on Raft's
// per-connection goroutine at the first read, so a peer that stalls its
// handshake holds no one up; a refused peer's connection fails there and
// is closed.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
	net       *netseam.Net
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func (l *streamLayer) Addr() net.Addr { return l.advertise }

func (l *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	addr, err := l.net.ResolveAddr(string(address))
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: timeout}
	if l.client == nil {
		return d.Dial("tcp", addr)
	}
	return tls.DialWithDialer(d, "tcp", addr, l.client)
}
