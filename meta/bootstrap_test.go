package meta

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Voters that lost their directories do not bootstrap a second group:
// with two of three wiped and the third away, the two answer each other
// at term 0 but wait for the third; they elect nobody. When the third
// returns at its term, they take no part in a new group: it leads, and
// they receive its state.
func TestWipedVotersDoNotBootstrapASecondGroup(t *testing.T) {
	c := MakeTestCluster(t, 3, nil)
	ctx := testCtx(t, 60*time.Second)
	c.WaitAll(ctx)
	cl := c.Client()
	mustCall(t, ctx, cl, func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return m.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: "other", Name: "kept"})
	})
	before := c.waitConverged(ctx)

	for i := range c.nodes {
		c.Stop(i)
	}
	for _, i := range []int{1, 2} {
		if err := os.RemoveAll(c.nodes[i].cfg.Dir); err != nil {
			t.Fatal(err)
		}
		c.Start(i)
	}
	// Long enough for several elections, had they bootstrapped.
	time.Sleep(3 * time.Second)
	for _, i := range []int{1, 2} {
		n := c.nodes[i].srv
		if n.IsLeader() || n.node.raft.LastIndex() != 0 || n.node.bootstrapped {
			t.Fatalf("%s: leader %v, last index %d, bootstrapped %v: wiped voters formed a group without the third",
				n.cfg.ID, n.IsLeader(), n.node.raft.LastIndex(), n.node.bootstrapped)
		}
	}

	c.Start(0)
	c.WaitAll(ctx)
	after := c.waitConverged(ctx)
	if len(after) < len(before) {
		t.Fatalf("the group came back with %d keys, had %d", len(after), len(before))
	}
	got := mustCall(t, ctx, c.Client(1), func(ctx context.Context, m cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
		return m.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: "other", Name: "kept"})
	})
	if got.GetBucket().GetName() != "kept" {
		t.Fatalf("bucket after recovery: %v", got.GetBucket())
	}
	for _, i := range []int{1, 2} {
		if c.nodes[i].srv.node.bootstrapped {
			t.Errorf("%s bootstrapped after its group came back", c.nodes[i].cfg.ID)
		}
	}
}
