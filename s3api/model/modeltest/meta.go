package modeltest

import (
	"context"
	"sync"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Meta is the meta group as the object model sees it (model.Index): a
// cluster map of healthy data nodes "n0".."n<n-1>", each on a host of its
// own at an address equal to its ID, and the reports reads send.
type Meta struct {
	mu         sync.Mutex
	nodes      int
	problems   []*cairnpb.ShardProblem
	unreadable []*cairnpb.UnreadableReport
}

// NewMeta returns a cluster of n healthy data nodes.
func NewMeta(n int) *Meta { return &Meta{nodes: n} }

// SetNodes changes how many data nodes the cluster map lists.
func (m *Meta) SetNodes(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = n
}

// ClusterMap lists the data nodes, all healthy.
func (m *Meta) ClusterMap(context.Context, time.Duration) (*cairnpb.GetClusterMapResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return ClusterMap(m.nodes), nil
}

// ReportShards records shard problems.
func (m *Meta) ReportShards(_ context.Context, ps []*cairnpb.ShardProblem) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.problems = append(m.problems, ps...)
	return nil
}

// ReportUnreadable records a version reads could not get.
func (m *Meta) ReportUnreadable(_ context.Context, r *cairnpb.UnreadableReport) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unreadable = append(m.unreadable, r)
	return nil
}

// ShardProblems returns the shard problems reported so far.
func (m *Meta) ShardProblems() []*cairnpb.ShardProblem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*cairnpb.ShardProblem(nil), m.problems...)
}

// UnreadableReports returns the unreadable versions reported so far.
func (m *Meta) UnreadableReports() []*cairnpb.UnreadableReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*cairnpb.UnreadableReport(nil), m.unreadable...)
}
