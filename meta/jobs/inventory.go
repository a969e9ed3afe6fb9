package jobs

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/leaderjob"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Anti-entropy: meta's records and the data nodes' stores, reconciled both
// ways by the leader.
//
// Records and stores drift apart in two directions, and each has its own
// reconciliation:
//
//   - node -> meta, orphan reconciliation (reconcile.go): a shard a node
//     holds that no record names (a write that never committed) is
//     deleted, once it is older than any write that could still commit.
//   - meta -> node, inventory reconciliation (this file): a shard a record
//     names that its node does not hold, or holds with another digest than
//     the one recorded at write, is recorded as corrupt (reason "missing"
//     or "digest mismatch"), so the repair engine rebuilds it. Nothing
//     else finds a shard lost under a node that stays up: the node's
//     scrubber checks what it holds, not what it should hold.
//
// The inventory reconciliation walks every unit (units.go) in FSM key
// order, in batches of a few hundred units (more in a region of many
// nodes, see inventoryShardsPerNode), from a cursor: the FSM key after the
// last record checked. For each batch it groups the shard IDs
// by node and asks each alive node once (Data.StatShards, which leaves out
// the shards the node lacks), paced to Config.InventoryRate shards per
// second; memory is bounded by one batch. A node that does not answer is
// skipped: repair handles nodes that are down. Shards already reported
// corrupt, on lost nodes or recorded with an old incarnation of their node
// are not asked about: repair already counts them missing.
//
// The cursor and the pass's figures are replicated (SetInventoryProgressCmd)
// at the start and end of a pass and every inventoryPersistEvery in
// between, so a new leader resumes the pass within that much work instead
// of starting over: a pass over a large region takes days, longer than a
// leader may last through a rolling upgrade. A deposed leader's last
// progress entry may still commit after the new leader's; the cursor then
// moves back or forward by at most one persist interval of work, which
// rechecks some units or leaves them to the next pass.
//
// A pass starts InventoryInterval after the last one finished (at once when
// none ever did). Findings are logged per batch ("inventory reconciliation
// found shards missing or mismatched") and start a repair round.

const (
	// A batch holds at least inventoryBatchUnits units, and more, up to
	// inventoryMaxBatchUnits, until it has inventoryShardsPerNode shards
	// per alive node, so that a large region's nodes are asked about
	// dozens of shards per call, not a handful.
	inventoryBatchUnits    = 500
	inventoryMaxBatchUnits = 20000
	inventoryShardsPerNode = 64
	inventoryStatChunk     = 2000 // shard IDs per StatShards call
	inventoryParallel      = 8    // nodes asked at once
	inventoryStatTimeout   = 30 * time.Second
	inventoryPersistEvery  = 30 * time.Second
	inventoryRetry         = 30 * time.Second
	inventoryMaxSleep      = time.Minute
	inventoryLogged        = 5 // findings named per batch in the log
)

// Reasons of corrupt reports made by meta's own checks.
const (
	reasonMissing        = "missing"
	reasonDigestMismatch = "digest mismatch"
)

// inventoryCheck is one shard to stat: its ID and recorded digest.
type inventoryCheck struct {
	shard  string
	digest uint64
}

// inventoryBatch is the shards of a batch of units, by node.
type inventoryBatch struct {
	units  int64
	shards int64
	byNode map[string][]inventoryCheck
	addrs  map[string]string
}

// inventoryFinding is one shard found missing or mismatched.
type inventoryFinding struct {
	node, shard, reason string
}

// inventoryJob is the leader's inventory reconciliation. A round starts
// or resumes a pass and works it to the end; when no pass is due it only
// finds out how long to wait (at most inventoryMaxSleep, so a changed
// interval or a new leader's progress is seen). After a failed round the
// pass resumes inventoryRetry later.
type inventoryJob struct {
	s    *Set
	pace *leaderjob.Pacer // InventoryRate, over the term
	next time.Duration    // the wait the last round chose
}

func (j *inventoryJob) Name() string            { return NameInventory }
func (j *inventoryJob) Interval() time.Duration { return j.next }

func (j *inventoryJob) Start(context.Context) time.Duration {
	j.pace = leaderjob.NewPacer(j.s.env.Config.InventoryRate)
	return 0
}

func (j *inventoryJob) Round(ctx context.Context) error {
	next, err := j.s.inventoryRound(ctx, j.s.env.Conns, j.pace)
	if err != nil {
		j.next = inventoryRetry
		return fmt.Errorf("meta: inventory reconciliation (it resumes later): %w", err)
	}
	j.next = next
	return nil
}

// inventoryRound starts or resumes a pass and works it to the end, or
// finds that none is due yet. It returns the wait before the next round.
func (s *Set) inventoryRound(ctx context.Context, conns *dataclient.Pool, pace *leaderjob.Pacer) (time.Duration, error) {
	var p *cairnpb.InventoryProgress
	err := s.env.Store.View(func(r pebble.Reader) error {
		var err error
		p, err = fsm.GetInventory(r)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.repair.setInventory(p)
	if p.GetPassStartedUnixNano() == 0 {
		if last := p.GetLastPassFinishedUnixNano(); last != 0 {
			if wait := time.Unix(0, last).Add(s.env.Config.InventoryInterval).Sub(s.env.Now()); wait > 0 {
				return min(wait, inventoryMaxSleep), nil
			}
		}
		p = &cairnpb.InventoryProgress{
			PassStartedUnixNano: s.env.Now().UnixNano(), Passes: p.GetPasses(),
			LastPassFinishedUnixNano: p.GetLastPassFinishedUnixNano(), LastPassDurationNanos: p.GetLastPassDurationNanos(),
			LastPassUnits: p.GetLastPassUnits(), LastPassMissing: p.GetLastPassMissing(), LastPassMismatched: p.GetLastPassMismatched(),
		}
		if err := s.saveInventory(ctx, p); err != nil {
			return 0, err
		}
	} else {
		s.env.Logger.Info("inventory reconciliation resumes a pass", "units_done", p.GetUnitsDone(),
			"started", time.Unix(0, p.GetPassStartedUnixNano()).UTC())
	}
	return 0, s.inventoryPass(ctx, conns, pace, p)
}

// saveInventory replicates p.
func (s *Set) saveInventory(ctx context.Context, p *cairnpb.InventoryProgress) error {
	cmd := &cairnpb.SetInventoryProgressCmd{Progress: proto.Clone(p).(*cairnpb.InventoryProgress)}
	if err := s.env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_SetInventoryProgress{SetInventoryProgress: cmd}}); err != nil {
		return fmt.Errorf("meta: save inventory progress: %w", err)
	}
	s.repair.setInventory(p)
	return nil
}

// inventoryPass works through the pass p from its cursor to the end.
func (s *Set) inventoryPass(ctx context.Context, conns *dataclient.Pool, pace *leaderjob.Pacer, p *cairnpb.InventoryProgress) error {
	saved := time.Now()
	for {
		b, next, err := s.inventoryBatch(p.GetCursor())
		if err != nil {
			return err
		}
		if err := pace.Wait(ctx, b.shards); err != nil {
			return err
		}
		found, checked, skipped := s.statBatch(ctx, conns, b)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.reportFindings(ctx, found); err != nil {
			return err
		}
		p.UnitsDone += b.units
		p.ShardsChecked += checked
		p.NodesSkipped += skipped
		for _, f := range found {
			if f.reason == reasonMissing {
				p.FoundMissing++
			} else {
				p.FoundMismatched++
			}
		}
		p.Cursor = next
		if next == nil {
			now := s.env.Now().UnixNano()
			done := &cairnpb.InventoryProgress{
				Passes: p.GetPasses() + 1, LastPassFinishedUnixNano: now, LastPassDurationNanos: max(0, now-p.GetPassStartedUnixNano()),
				LastPassUnits: p.GetUnitsDone(), LastPassMissing: p.GetFoundMissing(), LastPassMismatched: p.GetFoundMismatched(),
			}
			s.env.Logger.Info("inventory reconciliation pass finished", "units", p.GetUnitsDone(), "shards", p.GetShardsChecked(),
				"missing", p.GetFoundMissing(), "mismatched", p.GetFoundMismatched(), "nodes_skipped", p.GetNodesSkipped(),
				"took", time.Duration(done.GetLastPassDurationNanos()).Round(time.Second))
			return s.saveInventory(ctx, done)
		}
		s.repair.setInventory(p)
		if time.Since(saved) >= inventoryPersistEvery {
			if err := s.saveInventory(ctx, p); err != nil {
				return err
			}
			saved = time.Now()
		}
	}
}

// inventoryBatch reads the shards of up to inventoryBatchUnits units from
// the key from on, grouped by node, and the key to resume at (nil: the
// pass is done).
func (s *Set) inventoryBatch(from []byte) (*inventoryBatch, []byte, error) {
	b := &inventoryBatch{byNode: map[string][]inventoryCheck{}, addrs: map[string]string{}}
	var next []byte
	err := s.env.Store.View(func(r pebble.Reader) error {
		nodes, err := s.nodeViews(r, s.env.Now())
		if err != nil {
			return err
		}
		alive := 0
		for _, nv := range nodes {
			if nv.alive && !nv.lost {
				alive++
			}
		}
		var readErr error
		next, err = walkUnits(r, from, func(u *repairUnit, locs []*cairnpb.ShardLocation) bool {
			b.units++
			for _, l := range locs {
				nv := nodes[l.GetNodeId()]
				if nv == nil || !nv.alive || nv.lost || staleIncarnation(l.GetIncarnation(), nv.rec) {
					continue
				}
				sid := fsm.ShardID(u.shardBase, l.GetIndex())
				reported, err := fsm.GetProto(r, fsm.CorruptKey(l.GetNodeId(), sid), &cairnpb.CorruptShard{})
				if err != nil {
					readErr = err
					return false
				}
				if reported {
					continue
				}
				b.byNode[l.GetNodeId()] = append(b.byNode[l.GetNodeId()], inventoryCheck{shard: sid, digest: l.GetDigest()})
				b.addrs[l.GetNodeId()] = nv.rec.GetAddr()
				b.shards++
			}
			return b.units < inventoryBatchUnits ||
				(b.shards < int64(inventoryShardsPerNode*alive) && b.units < inventoryMaxBatchUnits)
		})
		if readErr != nil {
			return readErr
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return b, next, nil
}

// statBatch asks each node of b about its shards and returns the shards
// absent or with another digest, the shards the nodes answered for, and
// the nodes that did not answer.
//
// The records were read before the nodes answer, and may have changed
// meanwhile: a shard moved by repair or the rebalancer (and its old copy
// deleted by the GC), or a version deleted. That is harmless. A corrupt
// report names a node and a shard; the repair scan acts on it only while
// the current record places that shard on that node, and drops reports no
// record refers to (repairScan's stale reports). A shard's ID names the
// same content wherever it is (a rebuilt shard keeps ID and content), so a
// digest recorded for it holds in every record naming it. And a commit
// that moves a shard onto a node clears any report about it there
// (applyRelocateShards).
func (s *Set) statBatch(ctx context.Context, conns *dataclient.Pool, b *inventoryBatch) (found []inventoryFinding, checked, skipped int64) {
	ids := make([]string, 0, len(b.byNode))
	for id := range b.byNode {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var mu sync.Mutex
	sem := make(chan struct{}, inventoryParallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f, c, err := statNode(ctx, conns, b.addrs[id], id, b.byNode[id])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					s.env.Logger.Debug("inventory reconciliation: a data node did not answer; skipping it", "node", id, "err", err)
				}
				skipped++
				return
			}
			found = append(found, f...)
			checked += c
		})
	}
	wg.Wait()
	sort.Slice(found, func(i, j int) bool {
		if found[i].node != found[j].node {
			return found[i].node < found[j].node
		}
		return found[i].shard < found[j].shard
	})
	return found, checked, skipped
}

// statNode stats checks on one node, in chunks.
func statNode(ctx context.Context, conns *dataclient.Pool, addr, nodeID string, checks []inventoryCheck) ([]inventoryFinding, int64, error) {
	var found []inventoryFinding
	for start := 0; start < len(checks); start += inventoryStatChunk {
		chunk := checks[start:min(len(checks), start+inventoryStatChunk)]
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.shard
		}
		cctx, cancel := context.WithTimeout(ctx, inventoryStatTimeout)
		infos, err := conns.StatShards(cctx, addr, ids)
		cancel()
		if err != nil {
			return nil, 0, err
		}
		have := make(map[string]uint64, len(infos))
		for _, info := range infos {
			have[info.GetShardId()] = info.GetDigest()
		}
		for _, c := range chunk {
			if reason := shardVerdict(c.digest, have, c.shard); reason != "" {
				found = append(found, inventoryFinding{node: nodeID, shard: c.shard, reason: reason})
			}
		}
	}
	return found, int64(len(checks)), nil
}

// shardVerdict compares what a node has (shard ID -> digest) with the
// recorded digest of shard: "" when it is fine.
func shardVerdict(recorded uint64, have map[string]uint64, shard string) string {
	got, ok := have[shard]
	switch {
	case !ok:
		return reasonMissing
	case recorded != 0 && got != 0 && got != recorded:
		return reasonDigestMismatch
	}
	return ""
}

// reportFindings records each finding as a corrupt report and starts a
// repair round.
func (s *Set) reportFindings(ctx context.Context, found []inventoryFinding) error {
	if len(found) == 0 {
		return nil
	}
	var named []string
	for _, f := range found {
		cmd := &cairnpb.ReportCorruptShardCmd{Shard: &cairnpb.CorruptShard{NodeId: f.node, ShardId: f.shard, Reason: f.reason}}
		err := s.env.Propose(ctx, &cairnpb.Command{Op: &cairnpb.Command_ReportCorruptShard{ReportCorruptShard: cmd}})
		if err != nil && !fsm.IsRefusal(err) { // a refusal: the node is gone from the records
			return fmt.Errorf("meta: report shard %s on %s %s: %w", f.shard, f.node, f.reason, err)
		}
		s.env.Logger.Debug("inventory reconciliation found a shard "+f.reason, "node", f.node, "shard", f.shard)
		if len(named) < inventoryLogged {
			named = append(named, f.node+"/"+f.shard+" ("+f.reason+")")
		}
	}
	s.env.Logger.Warn("inventory reconciliation found shards missing or mismatched", "shards", len(found), "first", named)
	s.repair.kick()
	return nil
}

// nodeViews reads every data node as the repair engine sees it at now.
func (s *Set) nodeViews(r pebble.Reader, now time.Time) (map[string]*nodeView, error) {
	recs, err := fsm.ListNodes(r)
	if err != nil {
		return nil, err
	}
	grace, window := s.env.Config.RepairGrace.Nanoseconds(), s.env.Config.HealthWindow.Nanoseconds()
	nodes := make(map[string]*nodeView, len(recs))
	for _, d := range recs {
		silent := now.UnixNano() - d.GetLastHeartbeatUnixNano()
		nodes[d.GetId()] = &nodeView{
			rec:   d,
			lost:  d.GetState() == cairnpb.NodeState_NODE_STATE_REMOVED || silent > grace,
			alive: silent <= window,
		}
	}
	return nodes, nil
}
