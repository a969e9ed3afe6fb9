package chaos

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/erasure"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
	"github.com/cairn-store/cairn/test/harness"
)

// Nemesis applies one fault at a time to a cluster: kill -9 and restart,
// SIGSTOP and SIGCONT, a data node's disk wiped (kill -9, empty its
// directory, restart it under its old name), one shard's content replaced
// by other bytes with valid block checksums, and, when Net is set,
// cutting one process off from all others. After each fault it heals and
// waits for the cluster to be whole again before the next (after a wipe,
// for repair to rebuild what the disk held), so the cluster never loses
// more than one process or disk at a time (within what 3 meta nodes and
// 4+2 coding tolerate).
type Nemesis struct {
	Cluster *harness.Cluster
	Net     *harness.Network // nil: no partitions
	Rand    *rand.Rand
	// TB mints the certificates the shard tampering uses.
	TB testing.TB
	// First lists faults (by name: see faultNames) applied before the
	// random ones, so that a short run is sure to include them.
	First []string
	// Logf reports each fault.
	Logf func(format string, args ...any)
	// Now, when set, stamps each fault (History.Now: the history's clock).
	Now func() int64

	mu     sync.Mutex
	faults []string
}

// Faults returns the faults applied so far, in order.
func (n *Nemesis) Faults() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.faults...)
}

func (n *Nemesis) record(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if n.Now != nil {
		s = fmt.Sprintf("[%d] %s", n.Now(), s)
	}
	n.mu.Lock()
	n.faults = append(n.faults, s)
	n.mu.Unlock()
	n.Logf("nemesis: %s", s)
}

func (n *Nemesis) sleep(ctx context.Context, lo, hi time.Duration) {
	d := lo + time.Duration(n.Rand.Int63n(int64(hi-lo)+1))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Run applies faults until ctx ends, and returns with every fault healed
// and the cluster ready, or an error if it did not become ready.
func (n *Nemesis) Run(ctx context.Context) error {
	c := n.Cluster
	first := append([]string(nil), n.First...)
	for ctx.Err() == nil {
		n.sleep(ctx, 2*time.Second, 5*time.Second)
		if ctx.Err() != nil {
			break
		}
		all := c.All()
		p := n.target(ctx)
		kinds := faultNames[:len(faultNames)-1]
		if n.Net != nil {
			kinds = faultNames
		}
		kind := kinds[n.Rand.Intn(len(kinds))]
		if len(first) > 0 {
			kind, first = first[0], first[1:]
		}
		switch kind {
		case "wipe":
			if err := n.wipe(ctx, c.Datas[n.Rand.Intn(len(c.Datas))]); err != nil {
				return err
			}
		case "tamper":
			if err := n.tamper(c.Datas[n.Rand.Intn(len(c.Datas))]); err != nil {
				return err
			}
		case "kill":
			n.record("kill -9 %s", p.Name)
			if err := p.Kill(); err != nil {
				return err
			}
			n.sleep(ctx, 500*time.Millisecond, 4*time.Second)
			n.record("restart %s", p.Name)
			if err := p.Start(); err != nil {
				return err
			}
		case "stop":
			n.record("SIGSTOP %s", p.Name)
			if err := p.Pause(); err != nil {
				return err
			}
			n.sleep(ctx, time.Second, 6*time.Second)
			n.record("SIGCONT %s", p.Name)
			if err := p.Resume(); err != nil {
				return err
			}
		case "cut":
			var others []*harness.Proc
			for _, q := range all {
				if q != p {
					others = append(others, q)
				}
			}
			n.record("cut %s off from every other process", p.Name)
			if err := n.Net.Partition([]*harness.Proc{p}, others); err != nil {
				return err
			}
			n.sleep(ctx, 2*time.Second, 8*time.Second)
			n.record("heal the network")
			if err := n.Net.Heal(); err != nil {
				return err
			}
		}
		wctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		err := c.WaitReady(wctx, len(c.Datas))
		cancel()
		if err != nil {
			return fmt.Errorf("cluster not whole again after %s: %w", n.Faults()[len(n.Faults())-1], err)
		}
		// WaitReady needs a meta quorum, not every meta node: a process
		// that died (say, one that cannot restart) must not go unnoticed.
		for _, q := range all {
			if !q.Running() {
				return fmt.Errorf("%s is not running after %s; its log ends:\n%s", q.Name, n.Faults()[len(n.Faults())-1], q.LogTail(3000))
			}
		}
	}
	return nil
}

// faultNames are the faults Run picks from; "cut" (last) only with Net.
var faultNames = []string{"kill", "stop", "wipe", "tamper", "cut"}

// wipe kills data node p, empties its directory and restarts it under the
// same name, then waits until repair has rebuilt what it held.
func (n *Nemesis) wipe(ctx context.Context, p *harness.Proc) error {
	n.record("kill -9 %s and wipe its disk", p.Name)
	if err := p.Kill(); err != nil {
		return err
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return err
	}
	n.sleep(ctx, 500*time.Millisecond, 2*time.Second)
	restarted := time.Now()
	n.record("restart %s on its empty disk", p.Name)
	if err := p.Start(); err != nil {
		return err
	}
	// Another fault before the rebuild could take a second shard of an
	// object while its wiped one is still missing, beyond one at a time.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := n.Cluster.RepairStatus(sctx)
		cancel()
		if err == nil && st.GetLastScanUnixNano() > restarted.Add(2*time.Second).UnixNano() &&
			st.GetUnderReplicated() == 0 && st.GetUnitsLeft() == 0 && !st.GetRunning() {
			n.record("%s rebuilt (%d units repaired by this leader)", p.Name, st.GetUnitsRepaired())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s's shards not rebuilt 3 minutes after its disk was wiped: %v (%v)", p.Name, st, err)
		}
		time.Sleep(time.Second)
	}
}

// tamper replaces the content of one shard on data node p, picked at
// random, with other bytes of the same block lengths, each block with a
// valid checksum, through the node's own write path: only the digest the
// record holds can tell.
func (n *Nemesis) tamper(p *harness.Proc) error {
	dial := func(role pki.Role) (cairnpb.DataClient, func(), error) {
		cc, err := grpc.NewClient(p.Addr, n.Cluster.Transport(n.TB, role, "chaos-nemesis").Dial(pki.RoleData),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
		if err != nil {
			return nil, nil, err
		}
		return cairnpb.NewDataClient(cc), func() { _ = cc.Close() }, nil
	}
	// Not under ctx: a fault that has begun runs to its end, as wipe's
	// wait does; ctx ending just after it began (the run's deadline)
	// would otherwise fail the run with the deadline's error.
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta, closeMeta, err := dial(pki.RoleMeta)
	if err != nil {
		return err
	}
	defer closeMeta()
	list, err := meta.ListShards(cctx, &cairnpb.ListShardsRequest{})
	if err != nil {
		return err
	}
	var ids []string
	for {
		resp, err := list.Recv()
		if err != nil {
			break
		}
		for _, s := range resp.GetShards() {
			ids = append(ids, s.GetShardId())
		}
	}
	if len(ids) == 0 {
		n.record("tamper: %s holds no shard; nothing done", p.Name)
		return nil
	}
	sid := ids[n.Rand.Intn(len(ids))]
	data, closeData, err := dial(pki.RoleData)
	if err != nil {
		return err
	}
	defer closeData()
	rd, err := data.GetShard(cctx, &cairnpb.GetShardRequest{ShardId: sid})
	if err != nil {
		return err
	}
	var lens []int
	for {
		m, err := rd.Recv()
		if err != nil {
			break
		}
		lens = append(lens, len(m.GetBlock().GetData()))
	}
	gw, closeGW, err := dial(pki.RoleGateway)
	if err != nil {
		return err
	}
	defer closeGW()
	w, err := gw.PutShard(cctx)
	if err != nil {
		return err
	}
	if err := w.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Header{Header: &cairnpb.ShardHeader{ShardId: sid}}}); err != nil {
		return err
	}
	for i, l := range lens {
		b := make([]byte, l)
		n.Rand.Read(b)
		if err := w.Send(&cairnpb.PutShardRequest{Msg: &cairnpb.PutShardRequest_Block{Block: &cairnpb.Block{Index: int64(i), Data: b, Crc32C: erasure.Checksum(b)}}}); err != nil {
			return err
		}
	}
	if _, err := w.CloseAndRecv(); err != nil {
		// The shard may have been deleted meanwhile (GC); that is no fault.
		n.record("tamper: rewriting %s on %s failed: %v", sid, p.Name, err)
		return nil
	}
	n.record("replaced the content of shard %s on %s (%d blocks, valid checksums)", sid, p.Name, len(lens))
	return nil
}

// target picks the process to hit: a meta node, a data node or the
// gateway with equal odds, and among meta nodes the leader half the time.
func (n *Nemesis) target(ctx context.Context) *harness.Proc {
	c := n.Cluster
	switch n.Rand.Intn(3) {
	case 0:
		if n.Rand.Intn(2) == 0 {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if p, err := c.Leader(lctx); err == nil {
				return p
			}
		}
		return c.Metas[n.Rand.Intn(len(c.Metas))]
	case 1:
		return c.Datas[n.Rand.Intn(len(c.Datas))]
	default:
		return c.Gateway
	}
}
