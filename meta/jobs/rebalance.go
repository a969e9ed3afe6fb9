package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/placement"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// The rebalancer.
//
// New shards go where placement (weighted rendezvous hashing over the
// active data nodes, see package placement) puts them. When that layout
// changes, a node added or a weight changed, placement puts some units of
// data elsewhere; the rebalancer, on the meta leader, moves exactly the
// shards whose node placement no longer picks (planMoves), each onto a
// picked node that holds no shard of the unit. Adding one node to N moves
// about 1/(N+1) of the shards, all onto the new node.
//
// It reuses the repair engine's machinery: the new node copies the shard
// from its current holder (Data.RebuildShard; it falls back to
// reconstruction from the other shards), then one conditional
// RelocateShardsCmd switches the record and puts the old copy on the GC
// queue, all the unit's moves or none. So a unit never has fewer than k+m
// readable shards, and its shards end on placement's pick, which never has
// two on one host (units whose pick would are left where they are).
//
// A pass starts when the layout's fingerprint differs from the last
// finished pass's (not with --rebalance=false), when asked (Admin.Rebalance),
// and once on a new leader. Repair has priority: a pass does not start,
// and stops between units (to start over later), while the repair engine
// has work or an active node is down, and no move runs during a repair
// round (rebalanceState.reloc). Byte work is throttled to the repair rate
// limit. Each unit is read again just before its move, under
// that lock, so moves always start from the record as committed.

// rebalanceSettle is how long after a layout change writes placed by the
// old layout may still commit (gateways cache the cluster map for seconds,
// uploads take their time): a pass that starts sooner is followed by one
// more after it.
const rebalanceSettle = 30 * time.Second

// errLayoutChanged stops a pass whose layout changed under it; the next
// pass starts over with the new one.
var errLayoutChanged = errors.New("meta: rebalance: data-node layout changed")

// rebalanceState is the leader's rebalancer progress, its kick channel, and
// the lock that keeps rebalance moves (readers) out of repair rounds (the
// writer).
type rebalanceState struct {
	reloc sync.RWMutex

	wake   leaderjob.Kick
	mu     sync.Mutex
	status *cairnpb.RebalanceStatus
	manual bool // a pass was asked for and has not finished yet
}

func (r *rebalanceState) kick(manual bool) {
	if manual {
		r.mu.Lock()
		r.manual = true
		r.mu.Unlock()
	}
	r.wake.Kick()
}

func (r *rebalanceState) manualPending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manual
}

func (r *rebalanceState) update(fn func(st *cairnpb.RebalanceStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == nil {
		r.status = &cairnpb.RebalanceStatus{}
	}
	fn(r.status)
}

func (r *rebalanceState) snapshot() *cairnpb.RebalanceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == nil {
		return &cairnpb.RebalanceStatus{}
	}
	return proto.Clone(r.status).(*cairnpb.RebalanceStatus)
}

// rebalanceJob is the leader's rebalancer: a check at once in a new term,
// then every RepairInterval and whenever kicked; a check starts a pass
// when the layout changed since the last finished one (or is asked for).
type rebalanceJob struct {
	s       *Set
	done    string    // fingerprint of the layout the last finished pass placed for
	seen    string    // the layout's fingerprint at the last check
	since   time.Time // when seen was first seen
	recheck time.Time // when to pass once more over a layout that was new to the last pass
}

func (j *rebalanceJob) Name() string            { return NameRebalance }
func (j *rebalanceJob) Interval() time.Duration { return j.s.env.Config.RepairInterval }
func (j *rebalanceJob) Kicks() *leaderjob.Kick  { return &j.s.rebalance.wake }

func (j *rebalanceJob) Start(context.Context) time.Duration {
	s := j.s
	s.rebalance.update(func(st *cairnpb.RebalanceStatus) {
		*st = cairnpb.RebalanceStatus{Enabled: !s.env.Config.RebalanceManual, LeaderId: s.env.Config.ID}
	})
	j.done, j.seen, j.since, j.recheck = "", "", time.Time{}, time.Time{}
	return 0
}

func (j *rebalanceJob) Round(ctx context.Context) error {
	s := j.s
	manual := s.rebalance.manualPending()
	fp, err := s.layoutNow()
	if err != nil {
		return fmt.Errorf("meta: rebalance: read layout: %w", err)
	}
	if fp != j.seen {
		j.seen, j.since = fp, time.Now()
	}
	again := !j.recheck.IsZero() && time.Now().After(j.recheck)
	if !manual && (s.env.Config.RebalanceManual || (fp == j.done && !again)) {
		return nil
	}
	start := time.Now()
	finished, err := s.rebalancePass(ctx, s.env.Conns, fp)
	if finished {
		j.done, j.recheck = fp, time.Time{}
		if start.Sub(j.since) < rebalanceSettle {
			// Writes placed by the old layout may still commit.
			j.recheck = j.since.Add(rebalanceSettle)
		}
		if manual {
			s.rebalance.mu.Lock()
			s.rebalance.manual = false
			s.rebalance.mu.Unlock()
		}
	}
	switch {
	case err == nil || ctx.Err() != nil:
		return nil
	case errors.Is(err, errWaitForRepair) || errors.Is(err, errWaitForNodes) || errors.Is(err, errLayoutChanged):
		s.env.Logger.Info("rebalance pass stopped; it starts over later", "reason", err)
		return nil
	}
	return fmt.Errorf("meta: rebalance pass: %w", err)
}

// layoutNow returns the fingerprint of the current layout.
func (s *Set) layoutNow() (string, error) {
	var fp string
	err := s.env.Store.View(func(r pebble.Reader) error {
		recs, err := fsm.ListNodes(r)
		if err != nil {
			return err
		}
		fp = layoutFingerprint(layoutOf(recs))
		return nil
	})
	return fp, err
}

// layoutOf is what placement sees of the data nodes: the active ones.
// Health does not count: a node that is briefly down is still part of the
// layout (the rebalancer waits for it instead of moving shards off it).
func layoutOf(recs []*cairnpb.DataNode) []placement.Node {
	var out []placement.Node
	for _, d := range recs {
		if d.GetState() != cairnpb.NodeState_NODE_STATE_ACTIVE {
			continue
		}
		out = append(out, placement.Node{ID: d.GetId(), Weight: d.GetWeight(), Zone: d.GetZone(), Rack: d.GetRack(), Host: d.GetHost()})
	}
	return out
}

// rebalanceView reads the nodes as a pass sees them: the layout, its
// fingerprint, every node's view, and why the pass must wait ("" when it
// need not).
func (s *Set) rebalanceView(r pebble.Reader, now time.Time) ([]placement.Node, string, map[string]*nodeView, string, error) {
	recs, err := fsm.ListNodes(r)
	if err != nil {
		return nil, "", nil, "", err
	}
	nodes, err := s.nodeViews(r, now)
	if err != nil {
		return nil, "", nil, "", err
	}
	wait := ""
	for _, d := range recs {
		nv := nodes[d.GetId()]
		if d.GetState() == cairnpb.NodeState_NODE_STATE_ACTIVE && (!nv.alive || nv.lost) && wait == "" {
			wait = "data node " + d.GetId() + " is down"
		}
	}
	layout := layoutOf(recs)
	return layout, layoutFingerprint(layout), nodes, wait, nil
}

// repairBusy says why rebalancing must wait for the repair engine: it has
// units to rebuild or move (unreadable units aside, which it cannot help),
// or has not scanned yet under this leader.
func (s *Set) repairBusy() string {
	st := s.repair.snapshot()
	switch {
	case st.GetLastScanUnixNano() == 0:
		return "no repair scan yet"
	case st.GetUnderReplicated()-st.GetLostUnits() > 0 || st.GetToMove() > 0 || st.GetUnitsLeft() > 0:
		return "repair has work"
	}
	return ""
}

// rebalancePass scans every unit, then moves the shards placement wants
// elsewhere. It reports whether the pass finished for layout fp (false when
// it had to wait, the layout changed or a move failed: a later pass tries
// again).
func (s *Set) rebalancePass(ctx context.Context, conns *dataclient.Pool, fp string) (bool, error) {
	if why := s.repairBusy(); why != "" {
		s.rebalance.update(func(st *cairnpb.RebalanceStatus) { st.WaitingForRepair = true })
		return false, nil
	}
	var (
		layout  []placement.Node
		nodes   map[string]*nodeView
		units   []*repairUnit
		scanned int64
		shards  int64
		blocked int64
	)
	err := s.env.Store.View(func(r pebble.Reader) error {
		var got, wait string
		var err error
		layout, got, nodes, wait, err = s.rebalanceView(r, s.env.Now())
		switch {
		case err != nil:
			return err
		case got != fp:
			return errLayoutChanged
		case wait != "":
			return errWaitForNodes
		}
		return forEachUnit(r, func(u *repairUnit, locs []*cairnpb.ShardLocation) {
			scanned++
			moves, err := s.planUnit(layout, nodes, u, locs)
			if err != nil {
				if errors.Is(err, errRebalanceBlocked) || errors.Is(err, placement.ErrNotEnoughNodes) {
					blocked++
				}
				return
			}
			if len(moves) == 0 {
				return
			}
			for i := range moves {
				u.moving = append(u.moving, i)
			}
			slices.Sort(u.moving)
			shards += int64(len(moves))
			units = append(units, u)
		})
	})
	if errors.Is(err, errWaitForNodes) {
		s.rebalance.update(func(st *cairnpb.RebalanceStatus) { st.WaitingForRepair = true })
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.rebalance.update(func(st *cairnpb.RebalanceStatus) {
		st.Enabled = !s.env.Config.RebalanceManual
		st.LeaderId = s.env.Config.ID
		st.Running = true
		st.WaitingForRepair = false
		st.UnitsScanned = scanned
		st.UnitsToMove = int64(len(units))
		st.ShardsToMove = shards
		st.ShardsMoved = 0
		st.BytesMoved = 0
		st.Blocked = blocked
		st.Failures = 0
	})
	defer s.rebalance.update(func(st *cairnpb.RebalanceStatus) { st.Running = false })
	if len(units) > 0 {
		s.env.Logger.Info("rebalance pass", "units", len(units), "shards", shards, "layout", fp)
	}

	pace := leaderjob.NewPacer(s.env.Config.RepairBytesPerSecond)
	work := make(chan *repairUnit)
	var (
		mu       sync.Mutex
		failures int
		stop     error
	)
	var wg sync.WaitGroup
	for range s.env.Config.RepairParallel {
		wg.Go(func() {
			for u := range work {
				mu.Lock()
				stopped := stop != nil
				mu.Unlock()
				if stopped {
					continue
				}
				var err error
				if why := s.repairBusy(); why != "" {
					err = fmt.Errorf("%w: %s", errWaitForRepair, why)
				} else {
					err = pace.Wait(ctx, u.estimate())
				}
				var moved int
				var bytes int64
				if err == nil {
					moved, bytes, err = s.rebalanceUnit(ctx, conns, fp, u)
				}
				mu.Lock()
				switch {
				case errors.Is(err, errLayoutChanged) || errors.Is(err, errWaitForRepair) || errors.Is(err, errWaitForNodes) || ctx.Err() != nil:
					if stop == nil {
						stop = err
					}
				case err != nil:
					failures++
					s.env.Logger.Warn("rebalance of a unit failed", "key", u.cmd.GetKey(), "version", u.cmd.GetVersionId(),
						"part", u.cmd.GetPartNumber(), "upload", u.cmd.GetUploadId(), "err", err)
				}
				mu.Unlock()
				s.rebalance.update(func(st *cairnpb.RebalanceStatus) {
					switch {
					case errors.Is(err, errWaitForRepair) || errors.Is(err, errWaitForNodes):
						st.WaitingForRepair = true
					case err != nil && !errors.Is(err, errLayoutChanged) && ctx.Err() == nil:
						st.Failures++
					}
					st.ShardsMoved += int64(moved)
					st.TotalShardsMoved += int64(moved)
					st.BytesMoved += bytes
				})
			}
		})
	}
	for _, u := range units {
		if ctx.Err() != nil {
			break
		}
		work <- u
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if stop != nil {
		return false, stop
	}
	if failures > 0 {
		return false, fmt.Errorf("meta: rebalance: %d units failed to move", failures)
	}
	s.rebalance.update(func(st *cairnpb.RebalanceStatus) {
		st.Layout = fp
		st.LastPassUnixNano = s.env.Now().UnixNano()
		st.Passes++
	})
	return true, nil
}

// errWaitForNodes holds a pass back while an active data node is down.
var errWaitForNodes = errors.New("meta: rebalance: an active data node is down")

// errWaitForRepair stops a pass while the repair engine has work; the
// pass starts over once it is done.
var errWaitForRepair = errors.New("meta: rebalance: waiting for repair")

// planUnit plans a unit's moves (planMoves), with u.locs set from locs.
// Units with a shard that is not on a live, active node, or that its node
// lost with an old incarnation, are the repair engine's and get no moves.
func (s *Set) planUnit(layout []placement.Node, nodes map[string]*nodeView, u *repairUnit, locs []*cairnpb.ShardLocation) (map[int32]string, error) {
	total := int(u.scheme.GetData() + u.scheme.GetParity())
	if total <= 0 {
		return nil, nil
	}
	u.setLocs(locs)
	for i := range int32(total) {
		nv := nodes[u.locs[i]]
		if !nv.usable() || staleIncarnation(u.incs[i], nv.rec) {
			return nil, nil
		}
	}
	return planMoves(layout, u.locs, []byte(u.shardBase), total)
}

// rebalanceUnit moves one unit's shards to where placement wants them,
// planned again from the record as committed now, with no repair round
// running. It returns the shards moved and their bytes.
func (s *Set) rebalanceUnit(ctx context.Context, conns *dataclient.Pool, fp string, u *repairUnit) (int, int64, error) {
	s.rebalance.reloc.RLock()
	defer s.rebalance.reloc.RUnlock()
	var (
		layout []placement.Node
		nodes  map[string]*nodeView
		locs   []*cairnpb.ShardLocation
	)
	err := s.env.Store.View(func(r pebble.Reader) error {
		var got, wait string
		var err error
		layout, got, nodes, wait, err = s.rebalanceView(r, s.env.Now())
		switch {
		case err != nil:
			return err
		case got != fp:
			return errLayoutChanged
		case wait != "":
			return errWaitForNodes
		}
		_, locs, err = loadUnit(r, u.cmd)
		return err
	})
	if err != nil {
		if fsm.RefusalReason(err) != "" {
			return 0, 0, nil // the unit is gone
		}
		return 0, 0, err
	}
	moves, err := s.planUnit(layout, nodes, u, locs)
	if err != nil || len(moves) == 0 {
		return 0, 0, err
	}
	var sources []*cairnpb.RebuildSource
	for i, id := range u.locs {
		if nv := nodes[id]; nv != nil {
			sources = append(sources, u.source(i, nv.rec.GetAddr()))
		}
	}
	slices.SortFunc(sources, func(a, b *cairnpb.RebuildSource) int { return int(a.GetIndex() - b.GetIndex()) })
	return s.relocateShards(ctx, conns, nodes, u, moves, sources, true)
}
