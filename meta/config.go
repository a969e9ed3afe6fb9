package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Peer is one voter of a meta group, as listed for bootstrap.
type Peer struct {
	ID       string
	RaftAddr string
}

// Config configures one meta node.
type Config struct {
	// ID is this node's Raft server ID; unique and stable across restarts.
	ID string
	// RaftAddr is the host:port the Raft transport listens on and advertises
	// to peers; it must be a routable address, not 0.0.0.0.
	RaftAddr string
	// GRPCAddr is the host:port other meta nodes use to forward requests to
	// this node's gRPC server when it leads.
	GRPCAddr string
	// Dir holds the Raft log, Raft snapshots and the FSM database.
	Dir string
	// Peers are the voters of the initial configuration, this node included.
	// Empty means a single-voter group of this node.
	Peers []Peer
	// Bootstrap writes the initial configuration when Dir holds no Raft state
	// yet. Every voter of a new group may be started with Bootstrap and the
	// same Peers: identical bootstrap configurations are safe in
	// hashicorp/raft. With existing state Bootstrap is a no-op.
	Bootstrap bool
	// Logger receives all logs, raft's and Pebble's included. Default:
	// slog.Default().
	Logger *slog.Logger
	// HealthWindow is how recently a data node must have heartbeated to be
	// healthy. Default 10s.
	HealthWindow time.Duration
	// Now is the clock the leader stamps commands with. Default time.Now.
	Now func() time.Time
	// GCGrace is how long a shard that no version references any more is
	// kept before the leader deletes it, so reads of an overwritten or
	// deleted version that started before the change can finish. Default
	// 10 minutes.
	GCGrace time.Duration
	// GCInterval is the pause between garbage-collection rounds. Default 5s.
	GCInterval time.Duration
}

// Garbage-collection defaults.
const (
	DefaultGCGrace    = 10 * time.Minute
	DefaultGCInterval = 5 * time.Second
)

// DefaultHealthWindow is Config.HealthWindow's default.
const DefaultHealthWindow = 10 * time.Second

// errConfig marks an invalid Config.
var errConfig = errors.New("meta: invalid config")

// withDefaults validates cfg and fills its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.ID == "" {
		return cfg, fmt.Errorf("%w: ID is required", errConfig)
	}
	if cfg.Dir == "" {
		return cfg, fmt.Errorf("%w: Dir is required", errConfig)
	}
	if cfg.GRPCAddr == "" {
		return cfg, fmt.Errorf("%w: GRPCAddr is required", errConfig)
	}
	host, _, err := net.SplitHostPort(cfg.RaftAddr)
	if err != nil {
		return cfg, fmt.Errorf("%w: RaftAddr %q: %w", errConfig, cfg.RaftAddr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return cfg, fmt.Errorf("%w: RaftAddr %q is not advertisable; give a routable host", errConfig, cfg.RaftAddr)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HealthWindow <= 0 {
		cfg.HealthWindow = DefaultHealthWindow
	}
	if cfg.GCGrace <= 0 {
		cfg.GCGrace = DefaultGCGrace
	}
	if cfg.GCInterval <= 0 {
		cfg.GCInterval = DefaultGCInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Peers) == 0 {
		cfg.Peers = []Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}
	}
	seen := map[string]bool{}
	self := false
	for _, p := range cfg.Peers {
		if p.ID == "" || p.RaftAddr == "" {
			return cfg, fmt.Errorf("%w: peer %+v needs an ID and a RaftAddr", errConfig, p)
		}
		if seen[p.ID] {
			return cfg, fmt.Errorf("%w: peer ID %q listed twice", errConfig, p.ID)
		}
		seen[p.ID] = true
		if p.ID == cfg.ID {
			self = true
			if p.RaftAddr != cfg.RaftAddr {
				return cfg, fmt.Errorf("%w: peer %q has RaftAddr %q but the node's is %q", errConfig, p.ID, p.RaftAddr, cfg.RaftAddr)
			}
		}
	}
	if cfg.Bootstrap && !self {
		return cfg, fmt.Errorf("%w: bootstrapping node %q must be one of Peers", errConfig, cfg.ID)
	}
	cfg.Peers = append([]Peer(nil), cfg.Peers...)
	return cfg, nil
}
