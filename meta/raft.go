package meta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/jobs"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Raft tuning for meta groups on one LAN (or loopback): a follower notices a
// dead leader after 0.5–1 s without contact and a new leader is usually
// elected within 1–3 s.
const (
	heartbeatTimeout   = 500 * time.Millisecond
	electionTimeout    = 500 * time.Millisecond
	leaderLeaseTimeout = 250 * time.Millisecond
	snapshotThreshold  = 16384
	snapshotInterval   = 60 * time.Second
	trailingLogs       = 10240
	logCacheSize       = 512
	snapshotsRetained  = 2
	transportPool      = 5
	transportTimeout   = 5 * time.Second
	enqueueTimeout     = 5 * time.Second
	officeRetryPause   = 100 * time.Millisecond
)

// node is this process's Raft member: the FSM, the log store, the
// transport, and the duties of leadership.
type node struct {
	cfg   Config
	store *fsm.Store
	fsm   *fsm.FSM
	// logDB holds the Raft log and Raft's stable state (term, vote).
	logDB *raftboltdb.BoltStore
	trans *raft.NetworkTransport
	raft  *raft.Raft

	notifyCh chan bool
	stop     chan struct{}
	wg       sync.WaitGroup // leadership watcher and office holders

	// bootstrapped is set when this start wrote the group's initial
	// configuration (the directory held no Raft state, and no group
	// existed: bootstrap.go); read it after bootstrapDecided closes.
	bootstrapped     bool
	bootstrapDecided chan struct{}

	mu   sync.Mutex
	lead *leadership // nil while not leading
	// leaseOff is above 0 while a leadership transfer is under way: reads
	// use no lease then (withoutLease).
	leaseOff atomic.Int32

	// jobs runs the leader's background jobs (jobs.go) while this node
	// leads; conns is the data-node connection pool they share.
	jobs  *leaderjob.Runner
	conns *dataclient.Pool

	// jobSet is the leader's jobs and the state they share, which the
	// services read and kick through its methods.
	jobSet *jobs.Set
}

// leadership is one stretch of leading. ready closes when the post-election
// Barrier has completed: from then on the FSM holds every entry committed in
// earlier terms and linearizable reads may be served. ctx ends with it.
type leadership struct {
	term   uint64
	ready  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	// lease lets reads share confirmations of this leadership
	// (readlease.go).
	lease readLease
}

// startNode opens the stores, bootstraps if asked and starts Raft.
func startNode(cfg Config) (_ *node, err error) {
	n := &node{cfg: cfg, notifyCh: make(chan bool, 16), stop: make(chan struct{}), bootstrapDecided: make(chan struct{})}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	n.store, err = fsm.OpenStore(filepath.Join(cfg.Dir, "fsm"), cfg.Logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, n.store.Close)
	if n.fsm, err = fsm.New(n.store, cfg.Logger); err != nil {
		return nil, err
	}

	// The Raft log and stable store live in one bbolt file; raft-wal was
	// dropped because its v0.4.0 can leave a log it cannot reopen after a
	// crash during suffix truncation (docs/architecture.md, decisions).
	raftDir := filepath.Join(cfg.Dir, "raft")
	if err := os.MkdirAll(raftDir, 0o755); err != nil {
		return nil, fmt.Errorf("meta: create raft log directory: %w", err)
	}
	n.logDB, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, "log.bolt")})
	if err != nil {
		return nil, fmt.Errorf("meta: open raft log: %w", err)
	}
	closers = append(closers, n.logDB.Close)
	logs, err := raft.NewLogCache(logCacheSize, n.logDB)
	if err != nil {
		return nil, fmt.Errorf("meta: raft log cache: %w", err)
	}

	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(cfg.Dir, "raft"), snapshotsRetained,
		newHCLog(cfg.Logger, "raft-snapshots"))
	if err != nil {
		return nil, fmt.Errorf("meta: open raft snapshots: %w", err)
	}

	n.conns = dataclient.New(cfg.Transport)
	closers = append(closers, n.conns.Close)
	n.jobSet = jobs.New(n.jobsEnv())
	if n.jobs, err = leaderjob.New(leaderjob.Config{Logger: cfg.Logger}, n.jobSet.Jobs()...); err != nil {
		return nil, fmt.Errorf("meta: leader jobs: %w", err)
	}

	// A node that has just restarted knows no leader, so it would vote at
	// once; read leases assume a voter that answered the leader keeps
	// refusing votes for heartbeatTimeout (readlease.go). Staying out of
	// reach that long after starting keeps that true across a restart.
	if cfg.StartQuiet > 0 {
		time.Sleep(cfg.StartQuiet)
	}
	n.trans, err = newRaftTransport(cfg)
	if err != nil {
		return nil, fmt.Errorf("meta: raft transport on %s: %w", cfg.RaftAddr, err)
	}
	closers = append(closers, n.trans.Close)

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = heartbeatTimeout
	rc.ElectionTimeout = electionTimeout
	rc.LeaderLeaseTimeout = leaderLeaseTimeout
	rc.SnapshotThreshold = snapshotThreshold
	rc.SnapshotInterval = snapshotInterval
	rc.TrailingLogs = trailingLogs
	rc.BatchApplyCh = true
	rc.NotifyCh = n.notifyCh
	rc.Logger = newHCLog(cfg.Logger, "raft")

	var servers []raft.Server // the configuration to bootstrap, if any
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, n.logDB, snaps)
		if err != nil {
			return nil, fmt.Errorf("meta: inspect raft state: %w", err)
		}
		if !has {
			for _, p := range cfg.Peers {
				servers = append(servers, raft.Server{
					Suffrage: raft.Voter,
					ID:       raft.ServerID(p.ID),
					Address:  raft.ServerAddress(p.RaftAddr),
				})
			}
		}
	}

	n.raft, err = raft.NewRaft(rc, n.fsm, logs, n.logDB, snaps, n.trans)
	if err != nil {
		return nil, fmt.Errorf("meta: start raft: %w", err)
	}
	n.wg.Add(1)
	go n.watchLeadership()
	if servers == nil {
		close(n.bootstrapDecided)
	} else {
		// Only when no group exists yet (bootstrap.go).
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.bootstrapWhenSafe(servers)
		}()
	}
	return n, nil
}

// close stops Raft and releases every store. Raft is shut down while the
// leadership watcher still drains NotifyCh, which Raft writes to blockingly;
// the leader's jobs end with the last term, before their connections close.
func (n *node) close() error {
	errs := []error{n.raft.Shutdown().Error()}
	close(n.stop)
	n.wg.Wait()
	n.jobs.Wait()
	errs = append(errs, n.conns.Close(), n.trans.Close(), n.logDB.Close(), n.store.Close())
	return errors.Join(errs...)
}

// watchLeadership follows Raft's leadership notifications.
func (n *node) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case leading := <-n.notifyCh:
			n.setLeading(leading)
		case <-n.stop:
			n.setLeading(false)
			return
		}
	}
}

func (n *node) setLeading(leading bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lead != nil {
		n.lead.cancel()
		n.lead = nil
	}
	if !leading {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	ld := &leadership{term: n.raft.CurrentTerm(), ready: make(chan struct{}), ctx: ctx, cancel: cancel}
	n.lead = ld
	n.cfg.Logger.Info("became raft leader", "term", ld.term)
	n.wg.Add(1)
	go n.holdOffice(ld)
	n.jobs.Lead(ld.ctx, ld.ready)
}

// holdOffice runs the duties of a new leader: a Barrier so the FSM has
// applied everything earlier leaders committed, then the member record that
// tells followers where to forward.
func (n *node) holdOffice(ld *leadership) {
	defer n.wg.Done()
	for {
		err := n.raft.Barrier(enqueueTimeout).Error()
		if err == nil {
			break
		}
		if ld.ctx.Err() != nil {
			return
		}
		n.cfg.Logger.Warn("post-election barrier failed; retrying", "term", ld.term, "err", err)
		if !leaderjob.Sleep(ld.ctx, officeRetryPause) {
			return
		}
	}
	close(ld.ready)
	n.cfg.Logger.Info("leader ready for linearizable reads", "term", ld.term)

	want := &cairnpb.MetaMember{Id: n.cfg.ID, RaftAddr: n.cfg.RaftAddr, GrpcAddr: n.cfg.GRPCAddr}
	n.retryInOffice(ld, "publishing member record", func() error {
		var have *cairnpb.MetaMember
		err := n.store.View(func(r pebble.Reader) error {
			var err error
			have, err = fsm.GetMember(r, n.cfg.ID)
			return err
		})
		if err != nil || proto.Equal(have, want) {
			return err
		}
		return n.propose(ld.ctx, &cairnpb.Command{Op: &cairnpb.Command_SetMember{SetMember: &cairnpb.SetMemberCmd{Member: want}}})
	})
	n.retryInOffice(ld, "drawing the cluster ID", func() error {
		_, err := n.ensureClusterID(ld.ctx)
		return err
	})
}

// retryInOffice runs fn until it succeeds or ld ends.
func (n *node) retryInOffice(ld *leadership, what string, fn func() error) {
	for {
		err := fn()
		if err == nil || ld.ctx.Err() != nil {
			return
		}
		n.cfg.Logger.Warn(what+" failed; retrying", "err", err)
		if !leaderjob.Sleep(ld.ctx, officeRetryPause) {
			return
		}
	}
}

// leadership returns the current stretch of leading, or nil.
func (n *node) leadership() *leadership {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lead
}

// isLeader reports whether Raft considers this node the leader.
func (n *node) isLeader() bool { return n.raft.State() == raft.Leader }

// raftErr maps raft-level failures that mean "ask the leader" to
// rpcerr.ErrNotLeader, which clients retry. After ErrLeadershipLost a write's
// outcome is unknown: it may still commit under the next leader.
func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader),
		errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrRaftShutdown),
		errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("meta: %w: %w", rpcerr.ErrNotLeader, err)
	}
	return fmt.Errorf("meta: raft: %w", err)
}

// waitFuture waits for f or ctx. When ctx ends first the operation may still
// complete later.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// propose stamps cmd with the leader's clock (unless already stamped) and
// the caller's request ID from ctx (requestid.go), replicates it and returns
// the FSM's verdict.
func (n *node) propose(ctx context.Context, cmd *cairnpb.Command) error {
	if err := stampRequest(ctx, cmd); err != nil {
		return err
	}
	if cmd.UnixNano == 0 {
		cmd.UnixNano = n.cfg.Now().UnixNano()
	}
	data, err := proto.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("meta: encode command: %w", err)
	}
	f := n.raft.Apply(data, enqueueTimeout)
	if err := waitFuture(ctx, f); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("meta: waiting for commit: %w", err)
		}
		return raftErr(err)
	}
	switch resp := f.Response().(type) {
	case nil:
		return nil
	case error:
		return resp
	default:
		return fmt.Errorf("meta: unexpected FSM response %T", resp)
	}
}

// readBarrier returns once a linearizable read may be served from the local
// FSM: this node leads, its post-election Barrier is done, and a quorum still
// accepts it as leader. Otherwise it returns an rpcerr.ErrNotLeader error.
func (n *node) readBarrier(ctx context.Context) error {
	var ld *leadership
	for {
		ld = n.leadership()
		if ld != nil {
			break
		}
		// Raft may lead a moment before its notification is processed.
		if !n.isLeader() {
			return fmt.Errorf("meta: read: %w", rpcerr.ErrNotLeader)
		}
		if !leaderjob.Sleep(ctx, 5*time.Millisecond) {
			return ctx.Err()
		}
	}
	select {
	case <-ld.ready:
	case <-ld.ctx.Done():
		return fmt.Errorf("meta: read: leadership ended: %w", rpcerr.ErrNotLeader)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Monotonic time, not cfg.Now: the lease measures intervals only.
	verify := func() error { return n.raft.VerifyLeader().Error() }
	if err := ld.lease.confirm(ctx, time.Now, n.leaseOff.Load() == 0, verify); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return raftErr(err)
	}
	return nil
}

// withoutLease runs fn, a leadership transfer, with read leases off: reads
// wait for a confirmation that began after they arrived (readlease.go).
func (n *node) withoutLease(fn func() error) error {
	n.leaseOff.Add(1)
	defer n.leaseOff.Add(-1)
	if ld := n.leadership(); ld != nil {
		ld.lease.revoke()
		defer ld.lease.revoke()
	}
	return fn()
}
