package meta

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cairn-store/cairn/proto/rpcauth"
)

// newRaftTransport opens the Raft transport on cfg.RaftAddr: mutual TLS
// that admits meta certificates only, both ways, or plain TCP when the
// transport is plaintext.
func newRaftTransport(cfg Config) (*raft.NetworkTransport, error) {
	src := cfg.Transport.Source()
	if src == nil {
		return raft.NewTCPTransportWithLogger(cfg.RaftAddr, nil, transportPool, transportTimeout,
			newHCLog(cfg.Logger, "raft-transport"))
	}
	lis, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, err
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		lis.Close()
		return nil, err
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		lis.Close()
		return nil, fmt.Errorf("raft address %s is not advertisable", cfg.RaftAddr)
	}
	layer := &tlsStreamLayer{
		Listener:  tls.NewListener(lis, src.ServerConfig(false, rpcauth.RaftRoles()...)),
		advertise: adv,
		client:    src.ClientConfig(rpcauth.RaftRoles()...),
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: transportPool, Timeout: transportTimeout,
		Logger: newHCLog(cfg.Logger, "raft-transport"),
	}), nil
}

// tlsStreamLayer is raft.StreamLayer over mutual TLS. Accept (the
// embedded TLS listener's) hands connections over before their handshake,
// which runs on Raft's per-connection goroutine at the first read, so a
// peer that stalls its handshake holds no one up; a refused peer's
// connection fails there and is closed.
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), l.client)
}
