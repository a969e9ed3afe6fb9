package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-store/cairn/meta/metaclient"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Meta is the gateway's client of the meta group, with a cached cluster map.
type Meta struct {
	client *metaclient.Client
	log    *slog.Logger

	mu      sync.RWMutex
	cmap    *cairnpb.GetClusterMapResponse
	fetched time.Time
}

// NewMeta wraps client. Call Refresh (or run RefreshLoop) to fill the map.
func NewMeta(client *metaclient.Client, log *slog.Logger) *Meta {
	if log == nil {
		log = slog.Default()
	}
	return &Meta{client: client, log: log}
}

func (m *Meta) CreateBucket(ctx context.Context, ns, name, compartment string, objectLock bool) (*cairnpb.Bucket, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CreateBucketResponse, error) {
		return c.CreateBucket(ctx, &cairnpb.CreateBucketRequest{Namespace: ns, Name: name, Compartment: compartment, ObjectLockEnabled: objectLock})
	})
	if err != nil {
		return nil, err
	}
	return r.GetBucket(), nil
}

func (m *Meta) DeleteBucket(ctx context.Context, ns, name string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.DeleteBucketResponse, error) {
		return c.DeleteBucket(ctx, &cairnpb.DeleteBucketRequest{Namespace: ns, Name: name})
	})
	return err
}

func (m *Meta) GetBucket(ctx context.Context, ns, name string) (*cairnpb.Bucket, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetBucketResponse, error) {
		return c.GetBucket(ctx, &cairnpb.GetBucketRequest{Namespace: ns, Name: name})
	})
	if err != nil {
		return nil, err
	}
	return r.GetBucket(), nil
}

func (m *Meta) ListBuckets(ctx context.Context, ns string) ([]*cairnpb.Bucket, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListBucketsResponse, error) {
		return c.ListBuckets(ctx, &cairnpb.ListBucketsRequest{Namespace: ns})
	})
	if err != nil {
		return nil, err
	}
	return r.GetBuckets(), nil
}

func (m *Meta) CommitObject(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.CommitObjectResponse, error) {
		return c.CommitObject(ctx, &cairnpb.CommitObjectRequest{Namespace: ns, Bucket: bucket, Version: v})
	})
	return err
}

func (m *Meta) GetObject(ctx context.Context, ns, bucket, key string) (*cairnpb.ObjectVersion, error) {
	r, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetObjectResponse, error) {
		return c.GetObject(ctx, &cairnpb.GetObjectRequest{Namespace: ns, Bucket: bucket, Key: key})
	})
	if err != nil {
		return nil, err
	}
	return r.GetVersion(), nil
}

func (m *Meta) DeleteObject(ctx context.Context, ns, bucket, key string) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.DeleteObjectResponse, error) {
		return c.DeleteObject(ctx, &cairnpb.DeleteObjectRequest{Namespace: ns, Bucket: bucket, Key: key})
	})
	return err
}

func (m *Meta) ListObjects(ctx context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error) {
	return metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ListObjectsResponse, error) {
		return c.ListObjects(ctx, req)
	})
}

// ClusterMap returns the cached map, fetching it if there is none or it is
// older than maxAge.
func (m *Meta) ClusterMap(ctx context.Context, maxAge time.Duration) (*cairnpb.GetClusterMapResponse, error) {
	m.mu.RLock()
	cm, at := m.cmap, m.fetched
	m.mu.RUnlock()
	if cm != nil && time.Since(at) < maxAge {
		return cm, nil
	}
	if err := m.Refresh(ctx); err != nil {
		if cm != nil {
			return cm, nil // a stale map beats none while meta recovers
		}
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cmap, nil
}

// Refresh fetches the cluster map now.
func (m *Meta) Refresh(ctx context.Context) error {
	cm, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.GetClusterMapResponse, error) {
		return c.GetClusterMap(ctx, &cairnpb.GetClusterMapRequest{})
	})
	if err != nil {
		return fmt.Errorf("cluster map: %w", err)
	}
	m.mu.Lock()
	m.cmap, m.fetched = cm, time.Now()
	m.mu.Unlock()
	return nil
}

// RefreshLoop refreshes the map every interval until ctx ends.
func (m *Meta) RefreshLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, interval*2)
			if err := m.Refresh(rctx); err != nil && ctx.Err() == nil {
				m.log.Warn("cluster map refresh failed", "err", err)
			}
			cancel()
		}
	}
}

// ReportUnreadable tells meta about an object version this gateway could
// not read.
func (m *Meta) ReportUnreadable(ctx context.Context, r *cairnpb.UnreadableReport) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ReportUnreadableResponse, error) {
		return c.ReportUnreadable(ctx, &cairnpb.ReportUnreadableRequest{Report: r})
	})
	return err
}

// ReportShards passes on shards this gateway found missing or bad; meta
// checks each before it acts.
func (m *Meta) ReportShards(ctx context.Context, ps []*cairnpb.ShardProblem) error {
	_, err := metaclient.Meta(ctx, m.client, func(ctx context.Context, c cairnpb.MetaClient) (*cairnpb.ReportShardsResponse, error) {
		return c.ReportShards(ctx, &cairnpb.ReportShardsRequest{Problems: ps})
	})
	return err
}
