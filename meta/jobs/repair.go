package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/placement"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The repair engine.
//
// The leader scans every unit of erasure-coded data, the shards of a
// version, of a part of a multipart version and of a part of an upload in
// progress, and classifies each shard:
//
//   - missing: never written (degraded write), on an unknown node, on a
//     removed node, on a node silent for longer than RepairGrace, reported
//     corrupt (by its node's scrubber, the inventory reconciliation or a
//     gateway's report checked by the leader), or recorded with another
//     incarnation than its node's (the node came back on an empty or
//     replaced directory);
//   - to move: on a draining node (still readable);
//   - healthy: everything else.
//
// Units with missing shards or shards to move are worked on, those with
// the fewest surviving shards first. For each, placement.Replace picks new
// nodes that hold no shard of the unit, spreading over zones, racks and
// hosts; each new node is asked (Data.RebuildShard) to copy the shard from
// its draining holder or to reconstruct it from K survivors, each source
// and the result checked against the digests recorded at write. A shard
// missing from a node that is up and active (corrupt, or of an old
// incarnation) is rebuilt on that same node when placement finds no other
// host. When placement cannot place a shard at all, the status says why
// in words (RepairStatus.blocked). The new
// locations are committed with one RelocateShardsCmd, which applies only
// if the record is unchanged meanwhile; the old locations go on the GC
// queue. A drained shard is deleted only after its replacement is
// committed, so a drain never lowers an object's redundancy.
//
// Rounds run every RepairInterval, at once after a node is removed, a
// corrupt shard is reported, a node comes back with a new incarnation or a
// degraded version or part is committed, and from scratch on a new
// leader: the scan is
// the only state, so a leader change loses nothing but the round's
// progress figures. The byte work is throttled to RepairBytesPerSecond.

// repairCallTimeout bounds one RebuildShard call.
const repairCallTimeout = 10 * time.Minute

// repairState is the leader's repair progress, and the kick that starts
// a round early.
type repairState struct {
	wake   leaderjob.Kick
	mu     sync.Mutex
	status *cairnpb.RepairStatus
	// unreadable holds the versions gateways reported unreadable since
	// this node became leader, by namespace/bucket/key/version; leader
	// memory only: after a leader change, the next failed read reports
	// again.
	unreadable map[string]*cairnpb.UnreadableReport
	// inventory is the inventory reconciliation's progress, kept here so
	// that RepairStatus shows it (inventory.go).
	inventory *cairnpb.InventoryProgress
}

// kick starts a repair round now (or after the one under way).
func (r *repairState) kick() { r.wake.Kick() }

// setInventory publishes the inventory reconciliation's progress.
func (r *repairState) setInventory(p *cairnpb.InventoryProgress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inventory = proto.Clone(p).(*cairnpb.InventoryProgress)
}

// Bounds of the unreadable reports a leader keeps and shows.
const (
	maxUnreadableKept  = 4096
	maxUnreadableShown = 10
)

// reportUnreadable records one report; a version reported again only
// has its report refreshed.
func (r *repairState) reportUnreadable(rep *cairnpb.UnreadableReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unreadable == nil {
		r.unreadable = map[string]*cairnpb.UnreadableReport{}
	}
	k := rep.GetNamespace() + "\x00" + rep.GetBucket() + "\x00" + rep.GetKey() + "\x00" + rep.GetVersionId()
	if _, seen := r.unreadable[k]; !seen && len(r.unreadable) >= maxUnreadableKept {
		return // the count stays at the bound; the operator already knows
	}
	r.unreadable[k] = rep
}

// resetUnreadable forgets the reports (a new term of leadership).
func (r *repairState) resetUnreadable() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreadable = nil
}

// update changes the status under the lock.
func (r *repairState) update(fn func(st *cairnpb.RepairStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == nil {
		r.status = &cairnpb.RepairStatus{EtaSeconds: -1}
	}
	fn(r.status)
}

// snapshot returns a copy of the status.
func (r *repairState) snapshot() *cairnpb.RepairStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &cairnpb.RepairStatus{EtaSeconds: -1}
	if r.status != nil {
		st = proto.Clone(r.status).(*cairnpb.RepairStatus)
	}
	if r.inventory != nil {
		st.Inventory = proto.Clone(r.inventory).(*cairnpb.InventoryProgress)
	}
	st.UnreadableReported = int64(len(r.unreadable))
	recent := make([]*cairnpb.UnreadableReport, 0, len(r.unreadable))
	for _, rep := range r.unreadable {
		recent = append(recent, rep)
	}
	sort.Slice(recent, func(i, j int) bool { return recent[i].GetUnixNano() > recent[j].GetUnixNano() })
	for _, rep := range recent[:min(len(recent), maxUnreadableShown)] {
		st.RecentUnreadable = append(st.RecentUnreadable, proto.Clone(rep).(*cairnpb.UnreadableReport))
	}
	return st
}

// repairUnit is one unit of erasure-coded data that needs work.
type repairUnit struct {
	cmd       *cairnpb.RelocateShardsCmd // identity; moves filled when done
	shardBase string
	scheme    *cairnpb.ErasureScheme
	size      int64
	locs      map[int32]string // index -> node ("" never written)
	digests   map[int32]uint64 // index -> digest recorded at write (0: none)
	incs      map[int32]uint64 // index -> incarnation recorded at write (0: unknown)
	missing   []int32          // to rebuild
	moving    []int32          // on draining nodes, to copy
	// damaged marks the missing shards whose node is known and not lost
	// but lacks them: reported corrupt, or recorded with another
	// incarnation than the node's. They serve as no source, and may be
	// rebuilt in place.
	damaged   map[int32]bool
	survivors int  // shards not missing
	blocked   bool // the scan found too few hosts for it (blockedReason)
}

// setLocs reads a unit's shard locations.
func (u *repairUnit) setLocs(locs []*cairnpb.ShardLocation) {
	u.locs = make(map[int32]string, len(locs))
	u.digests = make(map[int32]uint64, len(locs))
	u.incs = make(map[int32]uint64, len(locs))
	for _, l := range locs {
		u.locs[l.GetIndex()] = l.GetNodeId()
		u.digests[l.GetIndex()] = l.GetDigest()
		u.incs[l.GetIndex()] = l.GetIncarnation()
	}
}

// source names shard i on the node at addr as a rebuild source, with the
// digest it must have.
func (u *repairUnit) source(i int32, addr string) *cairnpb.RebuildSource {
	return &cairnpb.RebuildSource{Index: i, ShardId: fsm.ShardID(u.shardBase, i), Addr: addr, Digest: u.digests[i]}
}

// staleIncarnation reports whether a shard recorded with incarnation inc
// is gone from node d: both incarnations known and different.
func staleIncarnation(inc uint64, d *cairnpb.DataNode) bool {
	return inc != 0 && d.GetIncarnation() != 0 && inc != d.GetIncarnation()
}

// degradedLocations reports whether a unit's record has a shard that was
// never written (a degraded write).
func degradedLocations(flag bool, locs []*cairnpb.ShardLocation) bool {
	if flag {
		return true
	}
	for _, l := range locs {
		if l.GetNodeId() == "" {
			return true
		}
	}
	return false
}

// KickIfDegraded starts a repair round when a committed version, or one
// of its parts, is degraded, instead of leaving it under-protected until
// the next scheduled round. Leader's service path, after the commit.
func (s *Set) KickIfDegraded(v *cairnpb.ObjectVersion) {
	deg := degradedLocations(v.GetDegraded(), v.GetShards())
	for _, p := range v.GetParts() {
		deg = deg || degradedLocations(p.GetDegraded(), p.GetShards())
	}
	if deg {
		s.repair.kick()
	}
}

func (u *repairUnit) estimate() int64 {
	k := int64(max(1, u.scheme.GetData()))
	return int64(len(u.missing)+len(u.moving)) * ((u.size + k - 1) / k)
}

// nodeView is a data node as one repair round sees it.
type nodeView struct {
	rec   *cairnpb.DataNode
	lost  bool // removed, or silent past the grace
	alive bool // heartbeated within the health window
}

// usable reports whether the node may take new shards: alive, not lost,
// active.
func (nv *nodeView) usable() bool {
	return nv != nil && nv.alive && !nv.lost && nv.rec.GetState() == cairnpb.NodeState_NODE_STATE_ACTIVE
}

// hostOf names the node's host as placement counts it: a node without a
// host label is a host of its own.
func hostOf(d *cairnpb.DataNode) string {
	if d.GetHost() == "" {
		return "\x01" + d.GetId()
	}
	return d.GetZone() + "\x00" + d.GetRack() + "\x00" + d.GetHost()
}

// unitHosts counts the distinct hosts a unit's repair can use: those of
// the usable nodes and of the nodes keeping a shard of it (kept).
func unitHosts(nodes map[string]*nodeView, kept []string) int {
	hosts := map[string]bool{}
	for _, nv := range nodes {
		if nv.usable() {
			hosts[hostOf(nv.rec)] = true
		}
	}
	for _, id := range kept {
		if nv := nodes[id]; nv != nil {
			hosts[hostOf(nv.rec)] = true
		}
	}
	return len(hosts)
}

// blockedReason says in words why placement cannot place shards more
// shards of a unit of total shards, with hosts distinct hosts available.
func blockedReason(total, shards, hosts int) string {
	if hosts < total {
		return fmt.Sprintf("%d shards need %d failure domains (hosts), %d are available", total, total, hosts)
	}
	return fmt.Sprintf("%d shards of a unit cannot be placed: each of the %d available hosts already holds one of its shards", shards, hosts)
}

// blockedError is a unit repair that placement could not complete.
type blockedError struct{ reason string }

func (e *blockedError) Error() string {
	return "meta: repair: no node can take the shards: " + e.reason
}
func (e *blockedError) Unwrap() error { return rpcerr.ErrNotEnoughNodes }

// addBlocked adds a reason to the status once.
func addBlocked(st *cairnpb.RepairStatus, reason string) {
	for _, r := range st.Blocked {
		if r == reason {
			return
		}
	}
	st.Blocked = append(st.Blocked, reason)
}

// repairJob is the leader's repair engine: a round at once in a new term,
// then every RepairInterval and whenever kicked.
type repairJob struct{ s *Set }

func (j *repairJob) Name() string            { return NameRepair }
func (j *repairJob) Interval() time.Duration { return j.s.env.Config.RepairInterval }
func (j *repairJob) Kicks() *leaderjob.Kick  { return &j.s.repair.wake }

func (j *repairJob) Start(context.Context) time.Duration {
	s := j.s
	s.repair.update(func(st *cairnpb.RepairStatus) {
		*st = cairnpb.RepairStatus{EtaSeconds: -1, LeaderId: s.env.Config.ID}
	})
	s.repair.resetUnreadable()
	return 0
}

func (j *repairJob) Round(ctx context.Context) error { return j.s.repairRound(ctx, j.s.env.Conns) }

// repairRound scans once and works through what it found.
func (s *Set) repairRound(ctx context.Context, conns *dataclient.Pool) error {
	// No rebalance move runs during a round (repair has priority).
	s.rebalance.reloc.Lock()
	defer s.rebalance.reloc.Unlock()
	s.repair.update(func(st *cairnpb.RepairStatus) { st.Running = true })
	defer s.repair.update(func(st *cairnpb.RepairStatus) { st.Running = false })
	scanStart := s.env.Now()
	units, nodes, stale, err := s.repairScan(scanStart)
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		cmd := &cairnpb.Command{Op: &cairnpb.Command_ClearCorruptShards{ClearCorruptShards: &cairnpb.ClearCorruptShardsCmd{Shards: stale}}}
		if err := s.env.Propose(ctx, cmd); err != nil {
			return fmt.Errorf("meta: clear %d stale corrupt reports: %w", len(stale), err)
		}
	}
	if len(units) == 0 {
		return nil
	}
	s.env.Logger.Info("repair round", "units", len(units))
	start := time.Now()
	var done int64
	pace := leaderjob.NewPacer(s.env.Config.RepairBytesPerSecond)
	work := make(chan *repairUnit)
	var wg sync.WaitGroup
	for range s.env.Config.RepairParallel {
		wg.Go(func() {
			for u := range work {
				est := u.estimate()
				if err := pace.Wait(ctx, est); err != nil {
					continue
				}
				got, err := s.repairUnit(ctx, conns, nodes, u)
				var blocked *blockedError
				switch {
				case errors.As(err, &blocked):
					s.env.Logger.Debug("repair of a unit is blocked", "key", u.cmd.GetKey(), "version", u.cmd.GetVersionId(),
						"part", u.cmd.GetPartNumber(), "upload", u.cmd.GetUploadId(), "reason", blocked.reason)
				case err != nil && ctx.Err() == nil:
					s.env.Logger.Warn("repair of a unit failed", "key", u.cmd.GetKey(), "version", u.cmd.GetVersionId(),
						"part", u.cmd.GetPartNumber(), "upload", u.cmd.GetUploadId(), "err", err)
				}
				s.repair.update(func(st *cairnpb.RepairStatus) {
					st.UnitsLeft--
					st.BytesLeft = max(0, st.BytesLeft-est)
					if blocked != nil {
						addBlocked(st, blocked.reason)
						if !u.blocked {
							st.BlockedUnits++
						}
						st.BytesRepaired += got
						return
					}
					if err != nil {
						st.Failures++
						return
					}
					st.UnitsRepaired++
					st.BytesRepaired += got
					done += got
					if secs := time.Since(start).Seconds(); secs > 0 {
						st.RateBytesPerSecond = float64(done) / secs
					}
					st.EtaSeconds = -1
					if st.RateBytesPerSecond > 0 {
						st.EtaSeconds = float64(st.BytesLeft) / st.RateBytesPerSecond
					}
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
	if st := s.repair.snapshot(); len(st.GetBlocked()) > 0 {
		s.env.Logger.Warn("repair cannot rebuild every shard", "units", st.GetBlockedUnits(), "reasons", st.GetBlocked())
	}
	return ctx.Err()
}

// repairScan reads the state once: the nodes, the units that need work
// (riskiest first) and the corrupt reports that no unit refers to any more.
// It publishes the scan's figures.
func (s *Set) repairScan(now time.Time) ([]*repairUnit, map[string]*nodeView, []*cairnpb.CorruptShard, error) {
	var nodes map[string]*nodeView
	corrupt := map[fsm.ShardRef]*cairnpb.CorruptShard{}
	referenced := map[fsm.ShardRef]bool{}
	var units []*repairUnit
	var scanned, under, toMove, lostUnits, bytesLeft, blockedUnits int64
	var blocked []string

	consider := func(u *repairUnit, locs []*cairnpb.ShardLocation) {
		sc := u.scheme
		total := int32(sc.GetData() + sc.GetParity())
		if total <= 0 {
			return
		}
		scanned++
		u.setLocs(locs)
		damaged := func(i int32) {
			u.missing = append(u.missing, i)
			if u.damaged == nil {
				u.damaged = map[int32]bool{}
			}
			u.damaged[i] = true
		}
		for i := range total {
			id := u.locs[i]
			ref := fsm.ShardRef{Node: id, Shard: fsm.ShardID(u.shardBase, i)}
			nv := nodes[id]
			switch {
			case id == "" || nv == nil || nv.lost:
				u.missing = append(u.missing, i)
			case corrupt[ref] != nil:
				referenced[ref] = true
				damaged(i)
			case staleIncarnation(u.incs[i], nv.rec):
				damaged(i)
			case nv.rec.GetState() == cairnpb.NodeState_NODE_STATE_DRAINING:
				u.moving = append(u.moving, i)
				u.survivors++
			default:
				u.survivors++
			}
		}
		if len(u.missing) > 0 {
			under++
		}
		if len(u.moving) > 0 {
			toMove++
		}
		if len(u.missing)+len(u.moving) == 0 {
			return
		}
		if u.survivors < int(sc.GetData()) {
			lostUnits++
			return
		}
		// Too few hosts for the shards that need a new one (all but
		// the damaged ones on usable nodes, which may stay in place)?
		var kept []string
		needNew := len(u.moving)
		for i := range total {
			switch {
			case !slices.Contains(u.missing, i) && !slices.Contains(u.moving, i):
				kept = append(kept, u.locs[i])
			case slices.Contains(u.missing, i) && !(u.damaged[i] && nodes[u.locs[i]].usable()):
				needNew++
			}
		}
		if hosts := unitHosts(nodes, kept); needNew > 0 && hosts < int(total) {
			u.blocked = true
			blockedUnits++
			if r := blockedReason(int(total), needNew, hosts); !slices.Contains(blocked, r) {
				blocked = append(blocked, r)
			}
		}
		bytesLeft += u.estimate()
		units = append(units, u)
	}

	// Everything applied by now is visible to the reads below.
	index := s.env.Store.AppliedIndex()
	err := s.env.Store.View(func(r pebble.Reader) error {
		var err error
		if nodes, err = s.nodeViews(r, now); err != nil {
			return err
		}
		if err := fsm.Scan(r, []byte(fsm.TagCorrupt), func(key, value []byte) (bool, error) {
			c := &cairnpb.CorruptShard{}
			if err := proto.Unmarshal(value, c); err != nil {
				return false, fmt.Errorf("meta: decode %q: %w", key, err)
			}
			corrupt[fsm.ShardRef{Node: c.GetNodeId(), Shard: c.GetShardId()}] = c
			return true, nil
		}); err != nil {
			return err
		}
		return forEachUnit(r, consider)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	// Riskiest first: fewest survivors, then lost shards before moves.
	sort.SliceStable(units, func(i, j int) bool {
		a, b := units[i], units[j]
		if a.survivors != b.survivors {
			return a.survivors < b.survivors
		}
		return len(a.missing) > len(b.missing)
	})
	var stale []*cairnpb.CorruptShard
	for ref, c := range corrupt {
		if !referenced[ref] && c.GetReportedUnixNano() < now.UnixNano() {
			stale = append(stale, c)
		}
	}
	var lostNodes, draining []string
	for id, nv := range nodes {
		if nv.lost {
			lostNodes = append(lostNodes, id)
		} else if nv.rec.GetState() == cairnpb.NodeState_NODE_STATE_DRAINING {
			draining = append(draining, id)
		}
	}
	sort.Strings(lostNodes)
	sort.Strings(draining)
	s.repair.update(func(st *cairnpb.RepairStatus) {
		st.LeaderId = s.env.Config.ID
		st.LastScanUnixNano = s.env.Now().UnixNano()
		st.LastScanIndex = index
		st.UnitsScanned = scanned
		st.UnderReplicated = under
		st.ToMove = toMove
		st.LostUnits = lostUnits
		st.UnitsLeft = int64(len(units))
		st.BytesLeft = bytesLeft
		st.CorruptReports = int64(len(corrupt) - len(stale))
		st.LostNodes = lostNodes
		st.DrainingNodes = draining
		st.Blocked = blocked
		st.BlockedUnits = blockedUnits
		st.EtaSeconds = -1
		if st.RateBytesPerSecond > 0 {
			st.EtaSeconds = float64(bytesLeft) / st.RateBytesPerSecond
		}
	})
	return units, nodes, stale, nil
}

// repairUnit rebuilds or copies the unit's missing and draining shards onto
// the nodes planRepair picks and commits the new locations. It returns the
// bytes written, and a *blockedError when some shards wait for capacity.
func (s *Set) repairUnit(ctx context.Context, conns *dataclient.Pool, nodes map[string]*nodeView, u *repairUnit) (int64, error) {
	plan, err := planRepair(nodes, u)
	if err != nil {
		return 0, err
	}
	var b int64
	if len(plan.targets) > 0 {
		if _, b, err = s.relocateShards(ctx, conns, nodes, u, plan.targets, plan.sources, false); err != nil {
			return b, err
		}
	}
	if len(plan.left) > 0 {
		total := int(u.scheme.GetData() + u.scheme.GetParity())
		return b, &blockedError{reason: blockedReason(total, len(plan.left), unitHosts(nodes, plan.kept))}
	}
	return b, nil
}

// repairPlan is what repair does with a unit: the node each shard goes to
// (its own node when rebuilt in place), the surviving shards to rebuild
// from, and the shards no node can take now.
type repairPlan struct {
	targets map[int32]string
	sources []*cairnpb.RebuildSource
	left    []int32
	kept    []string // nodes keeping a shard of the unit
}

// planRepair places the unit's missing and draining shards on nodes that
// hold none of its shards (placement.Replace). When placement cannot find
// a host for every shard, damaged shards on usable nodes are rebuilt in
// place, the others go wherever placement still finds room, and the rest
// is left.
func planRepair(nodes map[string]*nodeView, u *repairUnit) (*repairPlan, error) {
	work := append(append([]int32(nil), u.missing...), u.moving...)
	workIdx := map[int32]bool{}
	for _, i := range work {
		workIdx[i] = true
	}
	// Nodes that keep their shard, and the candidates for new ones: alive,
	// active nodes that hold no shard of the unit.
	holds := map[string]bool{}
	plan := &repairPlan{targets: map[int32]string{}}
	for i, id := range u.locs {
		if id == "" {
			continue
		}
		holds[id] = true
		if !workIdx[i] && nodes[id] != nil && !slices.Contains(plan.kept, id) {
			plan.kept = append(plan.kept, id)
		}
	}
	slices.Sort(plan.kept)
	picked, err := placement.Replace(placeable(nodes, plan.kept, holds), plan.kept, []byte(u.shardBase), len(work))
	switch {
	case err == nil:
		for j, i := range work {
			plan.targets[i] = picked[j]
		}
	case errors.Is(err, placement.ErrNotEnoughNodes):
		// No free host for everything: a damaged shard on a usable node
		// may be rebuilt in place; the others go where placement still
		// finds room, counting the in-place nodes' hosts as taken.
		inPlace := slices.Clone(plan.kept)
		for _, i := range work {
			if id := u.locs[i]; u.damaged[i] && nodes[id].usable() {
				plan.targets[i] = id
				if !slices.Contains(inPlace, id) {
					inPlace = append(inPlace, id)
				}
			} else {
				plan.left = append(plan.left, i)
			}
		}
		if len(plan.left) > 0 && len(plan.targets) > 0 {
			picked, err := placement.Replace(placeable(nodes, inPlace, holds), inPlace, []byte(u.shardBase), len(plan.left))
			if err == nil {
				for j, i := range plan.left {
					plan.targets[i] = picked[j]
				}
				plan.left = nil
			}
		}
	default:
		return nil, fmt.Errorf("meta: repair placement: %w", err)
	}

	// Sources: every surviving shard on a node that answers.
	for i, id := range u.locs {
		if id == "" || nodes[id] == nil || !nodes[id].alive || nodes[id].lost || u.damaged[i] {
			continue
		}
		if workIdx[i] && nodes[id].rec.GetState() != cairnpb.NodeState_NODE_STATE_DRAINING {
			continue
		}
		plan.sources = append(plan.sources, u.source(i, nodes[id].rec.GetAddr()))
	}
	slices.SortFunc(plan.sources, func(a, b *cairnpb.RebuildSource) int { return int(a.GetIndex() - b.GetIndex()) })
	return plan, nil
}

// placeable lists the nodes placement may use for a unit: those in kept
// (they keep a shard), and the usable nodes that hold none of its shards.
func placeable(nodes map[string]*nodeView, kept []string, holds map[string]bool) []placement.Node {
	var cands []placement.Node
	for id, nv := range nodes {
		if slices.Contains(kept, id) || (!holds[id] && nv.usable()) {
			d := nv.rec
			cands = append(cands, placement.Node{ID: id, Weight: d.GetWeight(), Zone: d.GetZone(), Rack: d.GetRack(), Host: d.GetHost()})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	return cands
}

// relocateShards has each shard of u named in targets (index -> new node)
// made on its new node by Data.RebuildShard, from sources (a source of the
// same index is copied; the others serve a reconstruction), then commits
// the shards made with one conditional RelocateShardsCmd, which puts their
// old locations on the GC queue. With allOrNothing, a single failed shard
// commits nothing. When the commit finds the unit changed, the new shards
// are deleted and nothing is reported. It returns the shards committed and
// their bytes.
func (s *Set) relocateShards(ctx context.Context, conns *dataclient.Pool, nodes map[string]*nodeView, u *repairUnit,
	targets map[int32]string, sources []*cairnpb.RebuildSource, allOrNothing bool) (int, int64, error) {
	type result struct {
		move  *cairnpb.ShardMove
		bytes int64
		err   error
	}
	results := make([]result, 0, len(targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Go(func() {
			sid := fsm.ShardID(u.shardBase, i)
			resp, err := s.rebuildOn(ctx, conns, nodes[target].rec.GetAddr(), rebuildRequest(u, i, target, sources))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results = append(results, result{err: fmt.Errorf("shard %d onto %s: %w", i, target, err)})
				return
			}
			results = append(results, result{
				move: &cairnpb.ShardMove{Index: i, OldNodeId: u.locs[i], NewNodeId: target, ShardId: sid,
					Incarnation: resp.GetIncarnation(), Digest: resp.GetDigest()},
				bytes: resp.GetBytes(),
			})
		})
	}
	wg.Wait()
	var errs []error
	var total int64
	cmd := proto.Clone(u.cmd).(*cairnpb.RelocateShardsCmd)
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		cmd.Moves = append(cmd.Moves, r.move)
		total += r.bytes
	}
	// Shards rebuilt for moves that are not committed are left to orphan
	// reconciliation, which deletes only what no record places on that
	// node. Deleting them here was wrong: a shard keeps its ID when it is
	// rebuilt, so another repair or a rebalance may meanwhile have
	// committed the same shard onto the same node.
	if allOrNothing && len(errs) > 0 {
		return 0, 0, errors.Join(errs...)
	}
	if len(cmd.Moves) > 0 {
		sort.Slice(cmd.Moves, func(i, j int) bool { return cmd.Moves[i].GetIndex() < cmd.Moves[j].GetIndex() })
		err := s.env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: cmd}})
		if err != nil {
			if fsm.IsRefusal(err) {
				// The unit changed meanwhile: the rebuilt shards are
				// orphans unless a committed move placed them (see above).
				return 0, 0, nil
			}
			return 0, 0, errors.Join(append(errs, fmt.Errorf("commit: %w", err))...)
		}
	}
	return len(cmd.Moves), total, errors.Join(errs...)
}

// rebuildRequest is the Data.RebuildShard call that makes shard i of u on
// target from sources: a source of the same index is copied (unless it is
// target's own copy), the others serve a reconstruction. The shard made
// must have the digest recorded for it.
func rebuildRequest(u *repairUnit, i int32, target string, sources []*cairnpb.RebuildSource) *cairnpb.RebuildShardRequest {
	var srcs []*cairnpb.RebuildSource
	for _, s := range sources {
		if s.GetIndex() != i || u.locs[i] != target {
			srcs = append(srcs, s)
		}
	}
	return &cairnpb.RebuildShardRequest{ShardId: fsm.ShardID(u.shardBase, i), Index: i, Scheme: u.scheme, Sources: srcs, ExpectDigest: u.digests[i]}
}

// rebuildOn asks the data node at addr to rebuild a shard.
func (s *Set) rebuildOn(ctx context.Context, conns *dataclient.Pool, addr string, req *cairnpb.RebuildShardRequest) (*cairnpb.RebuildShardResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, repairCallTimeout)
	defer cancel()
	return conns.RebuildShard(cctx, addr, req)
}
