package meta

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Operator inventory: data nodes, buckets across namespaces and per-bucket
// statistics, read linearizably on the leader. Statistics walk the
// bucket's keys once (memory stays constant, time grows with the bucket).

func (a *adminService) ListDataNodes(ctx context.Context, req *cairnpb.ListDataNodesRequest) (*cairnpb.ListDataNodesResponse, error) {
	return routeAdmin(ctx, a.s, req, a.s.listDataNodes, cairnpb.AdminClient.ListDataNodes)
}

func (a *adminService) AdminListBuckets(ctx context.Context, req *cairnpb.AdminListBucketsRequest) (*cairnpb.AdminListBucketsResponse, error) {
	if ns := req.GetNamespace(); ns != "" {
		if err := validName("namespace", ns); err != nil {
			return nil, err
		}
	}
	return routeAdmin(ctx, a.s, req, a.s.adminListBuckets, cairnpb.AdminClient.AdminListBuckets)
}

func (a *adminService) BucketStats(ctx context.Context, req *cairnpb.BucketStatsRequest) (*cairnpb.BucketStatsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	return routeAdmin(ctx, a.s, req, a.s.bucketStats, cairnpb.AdminClient.BucketStats)
}

func (s *Server) listDataNodes(ctx context.Context, _ *cairnpb.ListDataNodesRequest) (*cairnpb.ListDataNodesResponse, error) {
	resp := &cairnpb.ListDataNodesResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Nodes, err = s.nodeStatuses(r)
		return err
	})
	return resp, err
}

func (s *Server) adminListBuckets(ctx context.Context, req *cairnpb.AdminListBucketsRequest) (*cairnpb.AdminListBucketsResponse, error) {
	resp := &cairnpb.AdminListBucketsResponse{}
	prefix := []byte(fsm.TagBucket)
	if ns := req.GetNamespace(); ns != "" {
		prefix = fsm.BucketNamespacePrefix(ns)
	}
	err := s.read(ctx, func(r pebble.Reader) error {
		return fsm.ScanProtos(r, prefix, func() *cairnpb.Bucket { return &cairnpb.Bucket{} },
			func(b *cairnpb.Bucket) { resp.Buckets = append(resp.Buckets, b) })
	})
	return resp, err
}

func (s *Server) bucketStats(ctx context.Context, req *cairnpb.BucketStatsRequest) (*cairnpb.BucketStatsResponse, error) {
	resp := &cairnpb.BucketStatsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetName())
		if err != nil {
			return err
		}
		resp.Bucket = b
		err = fsm.ScanProtos(r, fsm.ObjectPrefix(b.GetId()), func() *cairnpb.ObjectVersion { return &cairnpb.ObjectVersion{} },
			func(v *cairnpb.ObjectVersion) {
				resp.Objects++
				resp.Bytes += v.GetSize()
				shards := int64(len(v.GetShards()))
				for _, p := range v.GetParts() {
					shards += int64(len(p.GetShards()))
				}
				resp.Shards += shards
				if shards == 0 {
					resp.InlineObjects++
				}
			})
		if err != nil {
			return err
		}
		uploads := append([]byte(fsm.TagUpload), b.GetId()...)
		return fsm.Scan(r, uploads, func(_, _ []byte) (bool, error) {
			resp.Uploads++
			return true, nil
		})
	})
	return resp, err
}
