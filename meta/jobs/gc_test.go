package jobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/cairn-store/cairn/meta/fsm/fsmfixture"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/node/dataclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// deletingData is a data node that counts shard deletions and can be made
// to refuse them.
type deletingData struct {
	cairnpb.UnimplementedDataServer
	mu      sync.Mutex
	deleted map[string]int
	refuse  bool
}

func (d *deletingData) DeleteShard(_ context.Context, req *cairnpb.DeleteShardRequest) (*cairnpb.DeleteShardResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse {
		return nil, errors.New("disk unplugged")
	}
	d.deleted[req.GetShardId()]++
	return &cairnpb.DeleteShardResponse{}, nil
}

func (d *deletingData) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.deleted)
}

// TestGCRoundDrainsABacklog: one GC round collects every due entry, batch
// after batch, rather than one batch per interval; a round whose node
// refuses every deletion ends at once and leaves the queue as it was.
func TestGCRoundDrainsABacklog(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dd := &deletingData{deleted: map[string]int{}}
	gs := grpc.NewServer(rpcerr.ServerOptions()...)
	cairnpb.RegisterDataServer(gs, dd)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	w := fsmfixture.NewWorld(t, &cairnpb.DataNode{Id: "d1", Addr: lis.Addr().String()})
	// Each overwrite of one key queues the two shards of the version it
	// replaces: more than two batches in all.
	overwrites := gcBatch + gcBatch/4
	for i := range overwrites + 1 {
		w.Put("k", fmt.Sprintf("v%05d", i), 1, 1,
			&cairnpb.ShardLocation{Index: 0, NodeId: "d1"}, &cairnpb.ShardLocation{Index: 1, NodeId: "d1"})
	}
	queued := len(fsmfixture.GCQueue(t, w.F.Store))
	if queued != 2*overwrites {
		t.Fatalf("%d entries queued, want %d", queued, 2*overwrites)
	}

	conns := dataclient.New(nil)
	defer conns.Close()
	proposals := 0
	env := &Env{
		Store: w.F.Store, Conns: conns, Logger: fsmtest.Logger(),
		Now:    func() time.Time { return time.Unix(0, 0).Add(time.Hour) }, // every entry is past its grace
		Config: Config{GCGrace: time.Minute, GCInterval: time.Hour},
		Propose: func(_ context.Context, cmd *cairnpb.Command) error {
			proposals++
			return w.Apply(cmd)
		},
	}
	j := &gcJob{env: env}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j.Start(ctx)
	if err := j.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if left := fsmfixture.GCQueue(t, w.F.Store); len(left) != 0 {
		t.Fatalf("one round left %d of %d entries queued (e.g. %v)", len(left), queued, left[0])
	}
	if got := dd.count(); got != queued {
		t.Fatalf("data node deleted %d shards, want %d", got, queued)
	}
	if want := (queued + gcBatch - 1) / gcBatch; proposals != want {
		t.Fatalf("%d DropGC proposals, want one per batch: %d", proposals, want)
	}

	// A node that refuses every deletion: the round ends, nothing is
	// dropped, and the node is skipped for a while.
	dd.mu.Lock()
	dd.refuse = true
	dd.mu.Unlock()
	for i := range gcBatch {
		w.Put("k", fmt.Sprintf("w%05d", i), 1, 1,
			&cairnpb.ShardLocation{Index: 0, NodeId: "d1"}, &cairnpb.ShardLocation{Index: 1, NodeId: "d1"})
	}
	queued = len(fsmfixture.GCQueue(t, w.F.Store))
	proposals = 0
	done := make(chan error, 1)
	go func() { done <- j.Round(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a round against a node refusing every deletion did not end")
	}
	if left := len(fsmfixture.GCQueue(t, w.F.Store)); left != queued || proposals != 0 {
		t.Fatalf("after refused deletions: %d entries queued (want %d), %d proposals (want 0)", left, queued, proposals)
	}
}
