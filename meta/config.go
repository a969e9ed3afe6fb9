package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/cairn-store/cairn/meta/keyring"
	"github.com/cairn-store/cairn/proto/rpcauth"
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
	// yet and no group exists: once every other peer has answered and none
	// has seen an election (bootstrap.go). Every voter of a new group may be
	// started with Bootstrap and the same Peers: identical bootstrap
	// configurations are safe in hashicorp/raft. With existing state
	// Bootstrap is a no-op.
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
	// StartQuiet is how long a starting node stays out of its peers'
	// reach before its Raft transport listens, so that a node restarted
	// at once cannot vote while the leader's read lease it answered for
	// may still hold (readlease.go). 0 means the Raft heartbeat timeout,
	// 500 ms; negative means none, for in-process tests only.
	StartQuiet time.Duration
	// RepairGrace is how long a data node may miss heartbeats before the
	// repair engine treats its shards as lost and rebuilds them elsewhere.
	// Default 5 minutes.
	RepairGrace time.Duration
	// RepairInterval is the pause between repair scans. Default 30s.
	RepairInterval time.Duration
	// RepairBytesPerSecond bounds the shard bytes the repair engine has
	// rebuilt or copied per second, cluster-wide. Default 64 MiB/s;
	// negative: unlimited.
	RepairBytesPerSecond int64
	// RepairParallel is how many units are repaired at once. Default 4.
	RepairParallel int
	// RebalanceManual turns automatic rebalancing off: the rebalancer then
	// moves shards only when asked (Admin.Rebalance, `cairnctl node
	// rebalance`), not on every change of the data-node layout.
	RebalanceManual bool
	// Keyring holds the master keys that seal access key secrets and that
	// the leader re-wraps data keys with after a rotation (see
	// docs/encryption.md). Nil only in tests: secrets are then stored in
	// plaintext and nothing is re-wrapped.
	Keyring *keyring.Keyring
	// RewrapRate caps how many wrapped keys per second the leader's
	// re-wrap proposes. Default 500.
	RewrapRate int
	// AdminToken is the secret every Admin service call must carry (see
	// LoadAdminToken). Empty refuses every Admin call.
	AdminToken string
	// RestoreFrom is a file written by SaveMetaSnapshot. When this node
	// starts with no Raft state, bootstraps, and becomes leader, it loads
	// the file into the FSM before it reports ready. Ignored when the node
	// already has state.
	RestoreFrom string
	// OrphanGrace is how old a shard that nothing in meta references must
	// be before the leader reclaims it as the orphan of a write that never
	// committed; a version whose data started being written more than
	// three quarters of it ago cannot be committed any more. Default 6h.
	OrphanGrace time.Duration
	// OrphanInterval is the pause between orphan reconciliation rounds.
	// Default 10 minutes.
	OrphanInterval time.Duration
	// InventoryInterval is the pause between the end of one inventory
	// reconciliation pass (every shard every record names is stat'ed on
	// its node) and the start of the next. Default 24h.
	InventoryInterval time.Duration
	// InventoryRate bounds the shards per second the inventory
	// reconciliation checks, over all data nodes of the region. Default
	// 20000; negative: unlimited.
	InventoryRate int64
	// ShardCheckRate bounds the shards per second the leader checks on
	// their node after gateways reported them (Meta.ReportShards).
	// Default 100.
	ShardCheckRate int64
	// LifecycleDay is the length of a lifecycle rule's day (tests shorten
	// it so "Days: 1" passes in seconds; docs/lifecycle.md). Default 24h.
	LifecycleDay time.Duration
	// LifecycleRate bounds the expiry index entries per second the
	// lifecycle job examines. Default 5000; negative: unlimited.
	LifecycleRate int64
	// Transport secures the gRPC port, the Raft transport and this node's
	// connections to other meta nodes and to data nodes. Nil is plaintext
	// with no caller identities (tests; --insecure-internal).
	Transport *rpcauth.Transport
}

// DefaultRewrapRate is Config.RewrapRate's default.
const DefaultRewrapRate = 500

// Lifecycle defaults.
const (
	DefaultLifecycleDay  = 24 * time.Hour
	DefaultLifecycleRate = 5000
)

// Orphan reconciliation defaults.
const (
	DefaultOrphanGrace    = 6 * time.Hour
	DefaultOrphanInterval = 10 * time.Minute
)

// Inventory reconciliation and shard-report check defaults (see
// docs/durability.md, "Shard accounting").
const (
	DefaultInventoryInterval = 24 * time.Hour
	DefaultInventoryRate     = 20000
	DefaultShardCheckRate    = 100
)

// Garbage-collection defaults.
const (
	DefaultGCGrace    = 10 * time.Minute
	DefaultGCInterval = 5 * time.Second
)

// Repair defaults.
const (
	DefaultRepairGrace          = 5 * time.Minute
	DefaultRepairInterval       = 30 * time.Second
	DefaultRepairBytesPerSecond = 64 << 20
	DefaultRepairParallel       = 4
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
	if cfg.StartQuiet == 0 {
		cfg.StartQuiet = heartbeatTimeout
	}
	if cfg.GCInterval <= 0 {
		cfg.GCInterval = DefaultGCInterval
	}
	if cfg.RepairGrace <= 0 {
		cfg.RepairGrace = DefaultRepairGrace
	}
	if cfg.RepairInterval <= 0 {
		cfg.RepairInterval = DefaultRepairInterval
	}
	if cfg.RepairBytesPerSecond == 0 {
		cfg.RepairBytesPerSecond = DefaultRepairBytesPerSecond
	}
	if cfg.RepairParallel <= 0 {
		cfg.RepairParallel = DefaultRepairParallel
	}
	if cfg.RewrapRate <= 0 {
		cfg.RewrapRate = DefaultRewrapRate
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = DefaultOrphanGrace
	}
	if cfg.OrphanInterval <= 0 {
		cfg.OrphanInterval = DefaultOrphanInterval
	}
	if cfg.InventoryInterval <= 0 {
		cfg.InventoryInterval = DefaultInventoryInterval
	}
	if cfg.InventoryRate == 0 {
		cfg.InventoryRate = DefaultInventoryRate
	}
	if cfg.ShardCheckRate <= 0 {
		cfg.ShardCheckRate = DefaultShardCheckRate
	}
	if cfg.LifecycleDay <= 0 {
		cfg.LifecycleDay = DefaultLifecycleDay
	}
	if cfg.LifecycleRate == 0 {
		cfg.LifecycleRate = DefaultLifecycleRate
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
