package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/keyring"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Names of the leader's jobs, as status and metrics label them
// (cairn_meta_job_*{job=<name>}).
const (
	NameGC          = "gc"
	NameRepair      = "repair"
	NameRebalance   = "rebalance"
	NameRewrap      = "rewrap"
	NameOrphans     = "orphans"
	NameInventory   = "inventory"
	NameShardChecks = "shard-checks"
	NameLifecycle   = "lifecycle"
	NamePARExpiry   = "par-expiry"
)

// Env is what the jobs use of the meta node that runs them. The node
// builds one and hands the same Env to every job; a job keeps it for the
// node's life.
type Env struct {
	// Propose proposes cmd to the Raft group and waits until it has
	// applied: nil, the apply's refusal (an rpcerr sentinel, wrapped), or
	// why it did not commit. The node stamps the time and request ID.
	Propose func(ctx context.Context, cmd *cairnpb.Command) error
	// Store is the FSM's state, read through fsm's read API.
	Store *fsm.Store
	// Conns is the node's pool of data-node connections.
	Conns *dataclient.Pool
	// Now is the leader's clock, the one commands are stamped with.
	Now func() time.Time
	// Logger receives the jobs' logs.
	Logger *slog.Logger
	// Keyring holds the master keys; nil: no re-wrap job.
	Keyring *keyring.Keyring
	// Config holds the settings of the jobs, with the node's defaults
	// applied.
	Config Config
}

// Config is the jobs' part of the meta node's configuration (meta.Config
// says what each setting means).
type Config struct {
	// ID is the meta node's ID, which the statuses name as the leader's.
	ID string
	// GCInterval is the wait between GC rounds; GCGrace how old a GC
	// queue entry must be before its shard is deleted.
	GCInterval, GCGrace time.Duration
	// OrphanInterval is the wait between orphan reconciliations;
	// OrphanGrace how old a shard no record names must be before it is
	// deleted (see CheckVersionFence).
	OrphanInterval, OrphanGrace time.Duration
	// LifecycleDay is the length of a lifecycle rule's day; LifecycleRate
	// the expiry index entries examined per second (negative: unlimited).
	LifecycleDay  time.Duration
	LifecycleRate int64
	// RepairInterval is the wait between repair rounds and between
	// rebalance checks; RepairGrace how long a silent data node is
	// waited for before its shards are rebuilt elsewhere; HealthWindow
	// how recent a heartbeat makes a node alive.
	RepairInterval, RepairGrace, HealthWindow time.Duration
	// RepairParallel bounds concurrent rebuilds; RepairBytesPerSecond
	// paces repair and rebalancing.
	RepairParallel       int
	RepairBytesPerSecond int64
	// RebalanceManual: the rebalancer moves shards only when asked.
	RebalanceManual bool
	// InventoryInterval is the wait between inventory passes;
	// InventoryRate and ShardCheckRate pace them (shards per second).
	InventoryInterval             time.Duration
	InventoryRate, ShardCheckRate int64
	// RewrapRate bounds the keys re-wrapped per second.
	RewrapRate int
}
