package meta

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Limits checked before anything is proposed.
const (
	maxKeyLen = 1024 // object keys, as in S3
)

// metaService adapts Server to cairnpb.MetaServer. Every method validates
// and routes (here or to the leader); its errors are domain errors, which
// the edge interceptors (rpcerr.ServerOptions, chained in Serve) turn into
// gRPC statuses, the only place where that happens.
type metaService struct {
	cairnpb.UnimplementedMetaServer
	s *Server
}

// adminService adapts Server to cairnpb.AdminServer.
type adminService struct {
	cairnpb.UnimplementedAdminServer
	s *Server
}

func validName(what, v string) error {
	switch {
	case v == "":
		return fsm.Invalid("%s is required", what)
	case len(v) > fsm.MaxNameLen:
		return fsm.Invalid("%s is longer than %d bytes", what, fsm.MaxNameLen)
	case strings.IndexByte(v, 0) >= 0:
		return fsm.Invalid("%s contains a NUL byte", what)
	case !utf8.ValidString(v):
		return fsm.Invalid("%s is not valid UTF-8", what)
	}
	return nil
}

func validKey(k string) error {
	switch {
	case k == "":
		return fsm.Invalid("object key is required")
	case len(k) > maxKeyLen:
		return fsm.Invalid("object key is longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(k):
		return fsm.Invalid("object key is not valid UTF-8")
	}
	return nil
}

func validBucketRef(namespace, bucket string) error {
	if err := validName("namespace", namespace); err != nil {
		return err
	}
	return validName("bucket name", bucket)
}

func validVersion(v *cairnpb.ObjectVersion) error {
	if v == nil {
		return fsm.Invalid("version is required")
	}
	if err := validKey(v.GetKey()); err != nil {
		return err
	}
	if err := validName("version id", v.GetVersionId()); err != nil {
		return err
	}
	for _, sh := range v.GetShards() {
		if sh.GetIndex() < 0 || strings.IndexByte(sh.GetNodeId(), 0) >= 0 || len(sh.GetNodeId()) > fsm.MaxNameLen {
			return fsm.Invalid("shard %d on node %q is malformed", sh.GetIndex(), sh.GetNodeId())
		}
	}
	return fsm.ValidTags(v.GetTags(), fsm.MaxObjectTags)
}

func (m *metaService) CreateBucket(ctx context.Context, req *cairnpb.CreateBucketRequest) (*cairnpb.CreateBucketResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	if len(req.GetCompartment()) > fsm.MaxNameLen {
		return nil, fsm.Invalid("compartment is longer than %d bytes", fsm.MaxNameLen)
	}
	return route(ctx, m.s, req, m.s.createBucket, cairnpb.MetaClient.CreateBucket)
}

func (m *metaService) DeleteBucket(ctx context.Context, req *cairnpb.DeleteBucketRequest) (*cairnpb.DeleteBucketResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.deleteBucket, cairnpb.MetaClient.DeleteBucket)
}

func (m *metaService) GetBucket(ctx context.Context, req *cairnpb.GetBucketRequest) (*cairnpb.GetBucketResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetName()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getBucket, cairnpb.MetaClient.GetBucket)
}

func (m *metaService) ListBuckets(ctx context.Context, req *cairnpb.ListBucketsRequest) (*cairnpb.ListBucketsResponse, error) {
	if err := validName("namespace", req.GetNamespace()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listBuckets, cairnpb.MetaClient.ListBuckets)
}

func (m *metaService) CommitObject(ctx context.Context, req *cairnpb.CommitObjectRequest) (*cairnpb.CommitObjectResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validVersion(req.GetVersion()); err != nil {
		return nil, err
	}
	if err := fsm.ValidCondition(req.GetCondition()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.commitObject, cairnpb.MetaClient.CommitObject)
}

func (m *metaService) GetObject(ctx context.Context, req *cairnpb.GetObjectRequest) (*cairnpb.GetObjectResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validKey(req.GetKey()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getObject, cairnpb.MetaClient.GetObject)
}

func (m *metaService) DeleteObject(ctx context.Context, req *cairnpb.DeleteObjectRequest) (*cairnpb.DeleteObjectResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validKey(req.GetKey()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.deleteObject, cairnpb.MetaClient.DeleteObject)
}

func (m *metaService) ListObjects(ctx context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if _, err := fsm.ParseListRequest(req); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listObjects, cairnpb.MetaClient.ListObjects)
}

func (m *metaService) RegisterNode(ctx context.Context, req *cairnpb.RegisterNodeRequest) (*cairnpb.RegisterNodeResponse, error) {
	if err := validName("node id", req.GetNode().GetId()); err != nil {
		return nil, err
	}
	if req.GetNode().GetAddr() == "" {
		return nil, fsm.Invalid("node addr is required")
	}
	return route(ctx, m.s, req, m.s.registerNode, cairnpb.MetaClient.RegisterNode)
}

func (m *metaService) Heartbeat(ctx context.Context, req *cairnpb.HeartbeatRequest) (*cairnpb.HeartbeatResponse, error) {
	if err := validName("node id", req.GetNodeId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.heartbeat, cairnpb.MetaClient.Heartbeat)
}

func (m *metaService) GetClusterMap(ctx context.Context, req *cairnpb.GetClusterMapRequest) (*cairnpb.GetClusterMapResponse, error) {
	return route(ctx, m.s, req, m.s.getClusterMap, cairnpb.MetaClient.GetClusterMap)
}

// Status answers from this node's own view, without forwarding, so that it
// works while the group has no leader.
func (a *adminService) Status(ctx context.Context, _ *cairnpb.StatusRequest) (*cairnpb.StatusResponse, error) {
	return a.s.status(ctx)
}

// The local operations below run on the leader.

func (s *Server) createBucket(ctx context.Context, req *cairnpb.CreateBucketRequest) (*cairnpb.CreateBucketResponse, error) {
	id := make([]byte, fsm.BucketIDLen)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("meta: draw bucket id: %w", err)
	}
	now := s.cfg.Now().UnixNano()
	b := &cairnpb.Bucket{
		Namespace:       req.GetNamespace(),
		Name:            req.GetName(),
		Id:              id,
		CreatedUnixNano: now,
		Compartment:     req.GetCompartment(),
		// The apply turns versioning on with it.
		ObjectLockEnabled: req.GetObjectLockEnabled(),
	}
	cmd := &cairnpb.Command{UnixNano: now, Op: &cairnpb.Command_CreateBucket{CreateBucket: &cairnpb.CreateBucketCmd{Bucket: b}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	// Answer with the bucket as applied: when an earlier attempt of this
	// call created it, the command above was a duplicate (fsm/dedupe.go).
	_ = s.node.store.View(func(r pebble.Reader) error {
		applied, err := fsm.GetBucket(r, req.GetNamespace(), req.GetName())
		if err == nil {
			b = applied
		}
		return nil
	})
	return &cairnpb.CreateBucketResponse{Bucket: b}, nil
}

func (s *Server) deleteBucket(ctx context.Context, req *cairnpb.DeleteBucketRequest) (*cairnpb.DeleteBucketResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeleteBucket{DeleteBucket: &cairnpb.DeleteBucketCmd{
		Namespace: req.GetNamespace(), Name: req.GetName(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteBucketResponse{}, nil
}

// read runs fn against the FSM once a linearizable read is allowed.
func (s *Server) read(ctx context.Context, fn func(r pebble.Reader) error) error {
	if err := s.node.readBarrier(ctx); err != nil {
		return err
	}
	return s.node.store.View(fn)
}

func (s *Server) getBucket(ctx context.Context, req *cairnpb.GetBucketRequest) (*cairnpb.GetBucketResponse, error) {
	resp := &cairnpb.GetBucketResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Bucket, err = fsm.GetBucket(r, req.GetNamespace(), req.GetName())
		return err
	})
	return resp, err
}

func (s *Server) listBuckets(ctx context.Context, req *cairnpb.ListBucketsRequest) (*cairnpb.ListBucketsResponse, error) {
	resp := &cairnpb.ListBucketsResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		resp.Buckets, err = fsm.ListBuckets(r, req.GetNamespace())
		return err
	})
	return resp, err
}

func (s *Server) commitObject(ctx context.Context, req *cairnpb.CommitObjectRequest) (*cairnpb.CommitObjectResponse, error) {
	if err := s.node.checkVersionFence(req.GetVersion()); err != nil {
		return nil, err
	}
	cmd := &cairnpb.Command{Op: &cairnpb.Command_PutObject{PutObject: &cairnpb.PutObjectCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Version: req.GetVersion(), Condition: req.GetCondition(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	s.node.jobSet.KickIfDegraded(req.GetVersion())
	return &cairnpb.CommitObjectResponse{}, nil
}

func (s *Server) getObject(ctx context.Context, req *cairnpb.GetObjectRequest) (*cairnpb.GetObjectResponse, error) {
	resp := &cairnpb.GetObjectResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		resp.Version, err = fsm.GetObject(r, b.GetId(), req.GetKey(), true)
		if err == nil && resp.Version == nil {
			err = fmt.Errorf("meta: %q in bucket %q: %w", req.GetKey(), req.GetBucket(), rpcerr.ErrObjectNotFound)
		}
		return err
	})
	return resp, err
}

func (s *Server) deleteObject(ctx context.Context, req *cairnpb.DeleteObjectRequest) (*cairnpb.DeleteObjectResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_DeleteObject{DeleteObject: &cairnpb.DeleteObjectCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.DeleteObjectResponse{}, nil
}

func (s *Server) listObjects(ctx context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error) {
	p, err := fsm.ParseListRequest(req)
	if err != nil {
		return nil, err
	}
	var resp *cairnpb.ListObjectsResponse
	err = s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		resp, err = fsm.ListObjects(r, b.GetId(), p)
		return err
	})
	return resp, err
}

// registerNode admits a data node of this cluster (clusterid.go) and
// records it. A node back with another incarnation than recorded (an
// empty or replaced directory) no longer has the shards recorded with the
// old one: that is logged and starts a repair round.
func (s *Server) registerNode(ctx context.Context, req *cairnpb.RegisterNodeRequest) (*cairnpb.RegisterNodeResponse, error) {
	cluster, err := s.node.ensureClusterID(ctx)
	if err != nil {
		return nil, err
	}
	d := req.GetNode()
	if err := checkClusterID(cluster, req.GetClusterId(), d.GetId()); err != nil {
		s.cfg.Logger.Error("refused a data node of another cluster", "node", d.GetId(), "addr", d.GetAddr(),
			"its_cluster_id", req.GetClusterId(), "cluster_id", cluster)
		return nil, err
	}
	var before *cairnpb.DataNode
	_ = s.node.store.View(func(r pebble.Reader) error {
		before, _ = fsm.GetNode(r, d.GetId())
		return nil
	})
	cmd := &cairnpb.Command{Op: &cairnpb.Command_RegisterNode{RegisterNode: &cairnpb.RegisterNodeCmd{Node: d}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	if was, is := before.GetIncarnation(), d.GetIncarnation(); was != 0 && is != 0 && was != is {
		s.cfg.Logger.Warn("data node is back with a new incarnation: its shards recorded with the old one are missing and will be rebuilt",
			"node", d.GetId(), "old_incarnation", fmt.Sprintf("%016x", was), "incarnation", fmt.Sprintf("%016x", is))
		s.node.jobSet.KickRepair()
	}
	return &cairnpb.RegisterNodeResponse{ClusterId: cluster}, nil
}

func (s *Server) heartbeat(ctx context.Context, req *cairnpb.HeartbeatRequest) (*cairnpb.HeartbeatResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_Heartbeat{Heartbeat: &cairnpb.HeartbeatCmd{
		NodeId: req.GetNodeId(), CapacityBytes: req.GetCapacityBytes(), UsedBytes: req.GetUsedBytes(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.HeartbeatResponse{}, nil
}

func (s *Server) getClusterMap(ctx context.Context, _ *cairnpb.GetClusterMapRequest) (*cairnpb.GetClusterMapResponse, error) {
	resp := &cairnpb.GetClusterMapResponse{}
	var records map[string]*cairnpb.MetaMember
	err := s.read(ctx, func(r pebble.Reader) error {
		var err error
		if resp.Nodes, err = s.nodeStatuses(r); err != nil {
			return err
		}
		records, err = fsm.ListMembers(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	servers, err := s.raftServers()
	if err != nil {
		return nil, err
	}
	for _, srv := range servers {
		resp.Members = append(resp.Members, &cairnpb.MetaMember{
			Id:       string(srv.ID),
			RaftAddr: string(srv.Address),
			GrpcAddr: records[string(srv.ID)].GetGrpcAddr(),
		})
	}
	_, leader := s.node.raft.LeaderWithID()
	resp.LeaderId = string(leader)
	return resp, nil
}

// nodeStatuses lists the data nodes with their health by this node's clock.
func (s *Server) nodeStatuses(r pebble.Reader) ([]*cairnpb.DataNodeStatus, error) {
	nodes, err := fsm.ListNodes(r)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UnixNano()
	window := s.cfg.HealthWindow.Nanoseconds()
	out := make([]*cairnpb.DataNodeStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, &cairnpb.DataNodeStatus{
			Node:    n,
			Healthy: now-n.GetLastHeartbeatUnixNano() <= window,
		})
	}
	return out, nil
}

func (s *Server) raftServers() ([]raft.Server, error) {
	f := s.node.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("meta: raft configuration: %w", err)
	}
	return f.Configuration().Servers, nil
}

func (s *Server) status(_ context.Context) (*cairnpb.StatusResponse, error) {
	_, leader := s.node.raft.LeaderWithID()
	resp := &cairnpb.StatusResponse{
		LeaderId:     string(leader),
		CommitIndex:  s.node.raft.CommitIndex(),
		AppliedIndex: s.node.raft.AppliedIndex(),
		AnsweredBy:   s.cfg.ID,
	}
	var records map[string]*cairnpb.MetaMember
	err := s.node.store.View(func(r pebble.Reader) error {
		var err error
		if resp.ClusterId, err = fsm.GetClusterID(r); err != nil {
			return err
		}
		if resp.Nodes, err = s.nodeStatuses(r); err != nil {
			return err
		}
		records, err = fsm.ListMembers(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	servers, err := s.raftServers()
	if err != nil {
		return nil, err
	}
	for _, srv := range servers {
		resp.Members = append(resp.Members, &cairnpb.MetaMemberStatus{
			Id:       string(srv.ID),
			RaftAddr: string(srv.Address),
			GrpcAddr: records[string(srv.ID)].GetGrpcAddr(),
			Suffrage: srv.Suffrage.String(),
			Leader:   srv.ID == leader,
		})
	}
	return resp, nil
}
