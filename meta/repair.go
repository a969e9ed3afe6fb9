package meta

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

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
//     removed node, on a node silent for longer than RepairGrace, or
//     reported corrupt by its node's scrubber;
//   - to move: on a draining node (still readable);
//   - healthy: everything else.
//
// Units with missing shards or shards to move are worked on, those with
// the fewest surviving shards first. For each, placement.Replace picks new
// nodes that hold no shard of the unit, spreading over zones, racks and
// hosts; each new node is asked (Data.RebuildShard) to copy the shard from
// its draining holder or to reconstruct it from K survivors. The new
// locations are committed with one RelocateShardsCmd, which applies only
// if the record is unchanged meanwhile; the old locations go on the GC
// queue. A drained shard is deleted only after its replacement is
// committed, so a drain never lowers an object's redundancy.
//
// Rounds run every RepairInterval, at once after a node is removed or a
// corrupt shard is reported, and from scratch on a new leader: the scan is
// the only state, so a leader change loses nothing but the round's
// progress figures. The byte work is throttled to RepairBytesPerSecond.

// repairCallTimeout bounds one RebuildShard call.
const repairCallTimeout = 10 * time.Minute

// repairState is the leader's repair progress, and the wakeup that starts
// a round early.
type repairState struct {
	wakeup
	mu     sync.Mutex
	status *cairnpb.RepairStatus
	// unreadable holds the versions gateways reported unreadable since
	// this node became leader, by namespace/bucket/key/version; leader
	// memory only: after a leader change, the next failed read reports
	// again.
	unreadable map[string]*cairnpb.UnreadableReport
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
	missing   []int32          // to rebuild
	moving    []int32          // on draining nodes, to copy
	corrupt   map[int32]bool   // of missing: reported corrupt (node still up)
	survivors int              // shards not missing
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

// repairLoop runs repair rounds for as long as ld lasts.
func (n *node) repairLoop(ld *leadership) {
	defer n.wg.Done()
	if !leaderReady(ld) {
		return
	}
	conns := dataclient.New(n.cfg.Transport)
	defer func() { _ = conns.Close() }()
	n.repair.update(func(st *cairnpb.RepairStatus) {
		*st = cairnpb.RepairStatus{EtaSeconds: -1, LeaderId: n.cfg.ID}
	})
	n.repair.resetUnreadable()
	kick := n.repair.kicked()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ld.ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		if err := n.repairRound(ld.ctx, conns); err != nil && ld.ctx.Err() == nil {
			n.cfg.Logger.Warn("repair round failed", "err", err)
		}
		t.Reset(n.cfg.RepairInterval)
	}
}

// repairRound scans once and works through what it found.
func (n *node) repairRound(ctx context.Context, conns *dataclient.Pool) error {
	// No rebalance move runs during a round (repair has priority).
	n.rebalance.reloc.Lock()
	defer n.rebalance.reloc.Unlock()
	n.repair.update(func(st *cairnpb.RepairStatus) { st.Running = true })
	defer n.repair.update(func(st *cairnpb.RepairStatus) { st.Running = false })
	scanStart := n.cfg.Now()
	units, nodes, stale, err := n.repairScan(scanStart)
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		cmd := &cairnpb.Command{Op: &cairnpb.Command_ClearCorruptShards{ClearCorruptShards: &cairnpb.ClearCorruptShardsCmd{Shards: stale}}}
		if err := n.propose(ctx, cmd); err != nil {
			return fmt.Errorf("meta: clear %d stale corrupt reports: %w", len(stale), err)
		}
	}
	if len(units) == 0 {
		return nil
	}
	n.cfg.Logger.Info("repair round", "units", len(units))
	start := time.Now()
	var done int64
	pace := newBytePacer(n.cfg.RepairBytesPerSecond)
	work := make(chan *repairUnit)
	var wg sync.WaitGroup
	for range n.cfg.RepairParallel {
		wg.Go(func() {
			for u := range work {
				est := u.estimate()
				if err := pace.wait(ctx, est); err != nil {
					continue
				}
				got, err := n.repairUnit(ctx, conns, nodes, u)
				if err != nil && ctx.Err() == nil {
					n.cfg.Logger.Warn("repair of a unit failed", "key", u.cmd.GetKey(), "version", u.cmd.GetVersionId(),
						"part", u.cmd.GetPartNumber(), "upload", u.cmd.GetUploadId(), "err", err)
				}
				n.repair.update(func(st *cairnpb.RepairStatus) {
					st.UnitsLeft--
					st.BytesLeft = max(0, st.BytesLeft-est)
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
	return ctx.Err()
}

// repairScan reads the state once: the nodes, the units that need work
// (riskiest first) and the corrupt reports that no unit refers to any more.
// It publishes the scan's figures.
func (n *node) repairScan(now time.Time) ([]*repairUnit, map[string]*nodeView, []*cairnpb.CorruptShard, error) {
	nodes := map[string]*nodeView{}
	corrupt := map[shardRef]*cairnpb.CorruptShard{}
	referenced := map[shardRef]bool{}
	var units []*repairUnit
	var scanned, under, toMove, lostUnits, bytesLeft int64
	grace := n.cfg.RepairGrace.Nanoseconds()
	window := n.cfg.HealthWindow.Nanoseconds()

	consider := func(u *repairUnit, locs []*cairnpb.ShardLocation) {
		sc := u.scheme
		total := int32(sc.GetData() + sc.GetParity())
		if total <= 0 {
			return
		}
		scanned++
		u.locs = map[int32]string{}
		for _, l := range locs {
			u.locs[l.GetIndex()] = l.GetNodeId()
		}
		for i := range total {
			id := u.locs[i]
			ref := shardRef{id, shardID(u.shardBase, i)}
			nv := nodes[id]
			switch {
			case id == "" || nv == nil || nv.lost:
				u.missing = append(u.missing, i)
			case corrupt[ref] != nil:
				referenced[ref] = true
				u.missing = append(u.missing, i)
				if u.corrupt == nil {
					u.corrupt = map[int32]bool{}
				}
				u.corrupt[i] = true
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
		bytesLeft += u.estimate()
		units = append(units, u)
	}

	err := n.store.view(func(r pebble.Reader) error {
		recs, err := listNodes(r)
		if err != nil {
			return err
		}
		for _, d := range recs {
			silent := now.UnixNano() - d.GetLastHeartbeatUnixNano()
			nodes[d.GetId()] = &nodeView{
				rec:   d,
				lost:  d.GetState() == cairnpb.NodeState_NODE_STATE_REMOVED || silent > grace,
				alive: silent <= window,
			}
		}
		if err := scan(r, []byte(tagCorrupt), func(key, value []byte) (bool, error) {
			c := &cairnpb.CorruptShard{}
			if err := proto.Unmarshal(value, c); err != nil {
				return false, fmt.Errorf("meta: decode %q: %w", key, err)
			}
			corrupt[shardRef{c.GetNodeId(), c.GetShardId()}] = c
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
	n.repair.update(func(st *cairnpb.RepairStatus) {
		st.LeaderId = n.cfg.ID
		st.LastScanUnixNano = n.cfg.Now().UnixNano()
		st.UnitsScanned = scanned
		st.UnderReplicated = under
		st.ToMove = toMove
		st.LostUnits = lostUnits
		st.UnitsLeft = int64(len(units))
		st.BytesLeft = bytesLeft
		st.CorruptReports = int64(len(corrupt) - len(stale))
		st.LostNodes = lostNodes
		st.DrainingNodes = draining
		st.EtaSeconds = -1
		if st.RateBytesPerSecond > 0 {
			st.EtaSeconds = float64(bytesLeft) / st.RateBytesPerSecond
		}
	})
	return units, nodes, stale, nil
}

// forEachUnit calls fn with every unit of erasure-coded data and its shard
// locations: the shards of each version (current or not), of each part of
// a multipart version and of each part of an upload in progress. u carries
// the unit's identity, shard base, scheme and size.
func forEachUnit(r pebble.Reader, fn func(u *repairUnit, locs []*cairnpb.ShardLocation)) error {
	err := forEachVersion(r, nil, func(_ []byte, v *cairnpb.ObjectVersion) error {
		if v.GetScheme() != nil && len(v.GetShards()) > 0 {
			fn(&repairUnit{
				cmd:       &cairnpb.RelocateShardsCmd{BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId()},
				shardBase: v.GetVersionId(), scheme: v.GetScheme(), size: v.GetSize(),
			}, v.GetShards())
		}
		for _, p := range v.GetParts() {
			if p.GetScheme() == nil || len(p.GetShards()) == 0 {
				continue
			}
			fn(&repairUnit{
				cmd:       &cairnpb.RelocateShardsCmd{BucketId: v.GetBucketId(), Key: v.GetKey(), VersionId: v.GetVersionId(), PartNumber: p.GetNumber()},
				shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize(),
			}, p.GetShards())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return scan(r, []byte(tagPart), func(key, value []byte) (bool, error) {
		up := &cairnpb.UploadedPart{}
		if err := proto.Unmarshal(value, up); err != nil {
			return false, fmt.Errorf("meta: decode %q: %w", key, err)
		}
		p := up.GetPart()
		if p.GetScheme() == nil || len(p.GetShards()) == 0 {
			return true, nil
		}
		rest := key[len(tagPart):]
		if len(rest) < 4 {
			return true, nil
		}
		fn(&repairUnit{
			cmd:       &cairnpb.RelocateShardsCmd{UploadId: string(rest[:len(rest)-4]), PartNumber: p.GetNumber(), VersionId: p.GetShardBase()},
			shardBase: p.GetShardBase(), scheme: p.GetScheme(), size: p.GetSize(),
		}, p.GetShards())
		return true, nil
	})
}

// repairUnit rebuilds or copies the unit's missing and draining shards onto
// new nodes and commits the new locations. It returns the bytes written.
func (n *node) repairUnit(ctx context.Context, conns *dataclient.Pool, nodes map[string]*nodeView, u *repairUnit) (int64, error) {
	work := append(append([]int32(nil), u.missing...), u.moving...)
	workIdx := map[int32]bool{}
	for _, i := range work {
		workIdx[i] = true
	}
	// Nodes that keep their shard, and the candidates for new ones: alive,
	// active nodes that hold no shard of the unit.
	holds := map[string]bool{}
	var kept []string
	for i, id := range u.locs {
		if id == "" {
			continue
		}
		holds[id] = true
		if !workIdx[i] && nodes[id] != nil && !containsString(kept, id) {
			kept = append(kept, id)
		}
	}
	var cands []placement.Node
	for id, nv := range nodes {
		keep := containsString(kept, id)
		free := !holds[id] && nv.alive && !nv.lost && nv.rec.GetState() == cairnpb.NodeState_NODE_STATE_ACTIVE
		if keep || free {
			d := nv.rec
			cands = append(cands, placement.Node{ID: id, Weight: d.GetWeight(), Zone: d.GetZone(), Rack: d.GetRack(), Host: d.GetHost()})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	targets := map[int32]string{}
	picked, err := placement.Replace(cands, kept, []byte(u.shardBase), len(work))
	if err == nil {
		for j, i := range work {
			targets[i] = picked[j]
		}
	} else if errors.Is(err, placement.ErrNotEnoughNodes) {
		// No free host for everything: a corrupt shard on a live node may
		// be rewritten in place; the rest waits for capacity.
		for _, i := range u.missing {
			if id := u.locs[i]; u.corrupt[i] && nodes[id] != nil && nodes[id].alive {
				targets[i] = id
			}
		}
		if len(targets) == 0 {
			return 0, fmt.Errorf("meta: repair: no node can take the shards: %w", rpcerr.ErrNotEnoughNodes)
		}
	} else {
		return 0, fmt.Errorf("meta: repair placement: %w", err)
	}

	// Sources: every surviving shard on a node that answers.
	var sources []*cairnpb.RebuildSource
	for i, id := range u.locs {
		if id == "" || nodes[id] == nil || !nodes[id].alive || nodes[id].lost || u.corrupt[i] {
			continue
		}
		if workIdx[i] && nodes[id].rec.GetState() != cairnpb.NodeState_NODE_STATE_DRAINING {
			continue
		}
		sources = append(sources, &cairnpb.RebuildSource{Index: i, ShardId: shardID(u.shardBase, i), Addr: nodes[id].rec.GetAddr()})
	}
	_, b, err := n.relocateShards(ctx, conns, nodes, u, targets, sources, false)
	return b, err
}

// relocateShards has each shard of u named in targets (index -> new node)
// made on its new node by Data.RebuildShard, from sources (a source of the
// same index is copied; the others serve a reconstruction), then commits
// the shards made with one conditional RelocateShardsCmd, which puts their
// old locations on the GC queue. With allOrNothing, a single failed shard
// commits nothing. When the commit finds the unit changed, the new shards
// are deleted and nothing is reported. It returns the shards committed and
// their bytes.
func (n *node) relocateShards(ctx context.Context, conns *dataclient.Pool, nodes map[string]*nodeView, u *repairUnit,
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
			sid := shardID(u.shardBase, i)
			var srcs []*cairnpb.RebuildSource
			for _, s := range sources {
				if s.GetIndex() != i || u.locs[i] != target {
					srcs = append(srcs, s)
				}
			}
			b, err := n.rebuildOn(ctx, conns, nodes[target].rec.GetAddr(), &cairnpb.RebuildShardRequest{
				ShardId: sid, Index: i, Scheme: u.scheme, Sources: srcs,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results = append(results, result{err: fmt.Errorf("shard %d onto %s: %w", i, target, err)})
				return
			}
			results = append(results, result{
				move:  &cairnpb.ShardMove{Index: i, OldNodeId: u.locs[i], NewNodeId: target, ShardId: sid},
				bytes: b,
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
		err := n.propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_RelocateShards{RelocateShards: cmd}})
		if err != nil {
			if isRefusal(err) {
				// The unit changed meanwhile: the rebuilt shards are
				// orphans unless a committed move placed them (see above).
				return 0, 0, nil
			}
			return 0, 0, errors.Join(append(errs, fmt.Errorf("commit: %w", err))...)
		}
	}
	return len(cmd.Moves), total, errors.Join(errs...)
}

// rebuildOn asks the data node at addr to rebuild a shard; it returns the
// bytes written.
func (n *node) rebuildOn(ctx context.Context, conns *dataclient.Pool, addr string, req *cairnpb.RebuildShardRequest) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, repairCallTimeout)
	defer cancel()
	resp, err := conns.RebuildShard(cctx, addr, req)
	if err != nil {
		return 0, err
	}
	return resp.GetBytes(), nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bytePacer spreads byte work to a rate, across goroutines.
type bytePacer struct {
	mu    sync.Mutex
	rate  float64
	start time.Time
	sum   float64
}

func newBytePacer(bytesPerSec int64) *bytePacer {
	return &bytePacer{rate: float64(bytesPerSec), start: time.Now()}
}

// wait blocks until n more bytes fit under the rate.
func (p *bytePacer) wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	if idle := time.Since(p.start) - time.Duration(p.sum/p.rate*float64(time.Second)); idle > time.Second {
		// Bank at most a second of idle time as a burst.
		p.start = time.Now()
		p.sum = 0
	}
	p.sum += float64(n)
	due := p.start.Add(time.Duration(p.sum / p.rate * float64(time.Second)))
	p.mu.Unlock()
	if d := time.Until(due); d > 0 && !sleepCtx(ctx, d) {
		return ctx.Err()
	}
	return nil
}
