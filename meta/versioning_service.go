package meta

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func (m *metaService) CommitVersion(ctx context.Context, req *cairnpb.CommitVersionRequest) (*cairnpb.CommitVersionResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validVersion(req.GetVersion()); err != nil {
		return nil, err
	}
	if err := fsm.ValidCondition(req.GetCondition()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.commitVersion, cairnpb.MetaClient.CommitVersion)
}

func (m *metaService) GetObjectVersion(ctx context.Context, req *cairnpb.GetObjectVersionRequest) (*cairnpb.GetObjectVersionResponse, error) {
	if err := validVersionRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetVersionId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getObjectVersion, cairnpb.MetaClient.GetObjectVersion)
}

func (m *metaService) DeleteVersion(ctx context.Context, req *cairnpb.DeleteVersionRequest) (*cairnpb.DeleteVersionResponse, error) {
	if err := validVersionRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetVersionId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.deleteVersion, cairnpb.MetaClient.DeleteVersion)
}

func (m *metaService) SetVersionTags(ctx context.Context, req *cairnpb.SetVersionTagsRequest) (*cairnpb.SetVersionTagsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validKey(req.GetKey()); err != nil {
		return nil, err
	}
	if err := validVersionID(req.GetVersionId()); err != nil {
		return nil, err
	}
	if err := fsm.ValidTags(req.GetTags(), fsm.MaxObjectTags); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.setVersionTags, cairnpb.MetaClient.SetVersionTags)
}

func (m *metaService) ListObjectVersions(ctx context.Context, req *cairnpb.ListObjectVersionsRequest) (*cairnpb.ListObjectVersionsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if _, err := listLimit("max keys", req.GetMaxKeys()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listObjectVersions, cairnpb.MetaClient.ListObjectVersions)
}

// localVersioning reads a bucket's versioning status from this node's
// state, which the apply of a command it just proposed has reached.
func (s *Server) localVersioning(ns, bucket string) string {
	status := ""
	_ = s.node.store.View(func(r pebble.Reader) error {
		bk, err := fsm.GetBucket(r, ns, bucket)
		status = bk.GetVersioning()
		return err
	})
	return status
}

func (s *Server) commitVersion(ctx context.Context, req *cairnpb.CommitVersionRequest) (*cairnpb.CommitVersionResponse, error) {
	// The same fence as commitObject: data written longer ago than the
	// orphan reconciliation may already have been reclaimed.
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
	resp := &cairnpb.CommitVersionResponse{}
	switch s.localVersioning(req.GetNamespace(), req.GetBucket()) {
	case fsm.VersioningEnabled:
		resp.VersionId = req.GetVersion().GetVersionId()
	case fsm.VersioningSuspended:
		resp.VersionId = fsm.NullVersionID
	}
	return resp, nil
}

func (s *Server) getObjectVersion(ctx context.Context, req *cairnpb.GetObjectVersionRequest) (*cairnpb.GetObjectVersionResponse, error) {
	resp := &cairnpb.GetObjectVersionResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		bk, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		if bk.GetVersioning() == "" && req.GetVersionId() == "" {
			// Never versioned: only a current version.
			resp.Version, err = fsm.GetObject(r, bk.GetId(), req.GetKey(), true)
			if err == nil && resp.Version == nil {
				err = fmt.Errorf("meta: %q in bucket %q: %w", req.GetKey(), req.GetBucket(), rpcerr.ErrObjectNotFound)
			}
			resp.Latest = true
			return err
		}
		dbKey, v, err := fsm.FindVersion(r, bk.GetId(), req.GetKey(), req.GetVersionId())
		if err != nil {
			return err
		}
		if bytes.HasPrefix(dbKey, []byte(fsm.TagObject)) {
			resp.Latest = true
			if len(v.GetShards()) == 0 {
				if v.InlineData, err = fsm.GetRaw(r, fsm.InlineKey(bk.GetId(), req.GetKey())); err != nil {
					return err
				}
			}
		} else {
			resp.Latest = v.GetDeleteMarker() && fsm.IsNewest(r, bk.GetId(), req.GetKey(), dbKey)
		}
		resp.Version = v
		return nil
	})
	return resp, err
}

func (s *Server) deleteVersion(ctx context.Context, req *cairnpb.DeleteVersionRequest) (*cairnpb.DeleteVersionResponse, error) {
	now := s.cfg.Now()
	resp := &cairnpb.DeleteVersionResponse{VersionId: req.GetVersionId()}
	if err := fsm.ValidCondition(req.GetCondition()); err != nil {
		return nil, err
	}
	c := &cairnpb.DeleteVersionCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(), VersionId: req.GetVersionId(),
		Condition: req.GetCondition(), BypassGovernance: req.GetBypassGovernance(),
	}
	if req.GetVersionId() == "" {
		id, err := requestTimeID(ctx, now)
		if err != nil {
			return nil, err
		}
		c.MarkerVersionId = id
	} else {
		// Whether the version is a delete marker, for the answer.
		_ = s.node.store.View(func(r pebble.Reader) error {
			bk, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
			if err != nil {
				return err
			}
			_, v, err := fsm.FindVersion(r, bk.GetId(), req.GetKey(), req.GetVersionId())
			resp.DeleteMarker = v.GetDeleteMarker()
			return err
		})
	}
	cmd := &cairnpb.Command{UnixNano: now.UnixNano(), Op: &cairnpb.Command_DeleteVersion{DeleteVersion: c}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	if req.GetVersionId() == "" {
		switch s.localVersioning(req.GetNamespace(), req.GetBucket()) {
		case fsm.VersioningEnabled:
			resp.VersionId, resp.DeleteMarker = c.GetMarkerVersionId(), true
		case fsm.VersioningSuspended:
			resp.VersionId, resp.DeleteMarker = fsm.NullVersionID, true
		}
	}
	return resp, nil
}

func (s *Server) setVersionTags(ctx context.Context, req *cairnpb.SetVersionTagsRequest) (*cairnpb.SetVersionTagsResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_SetVersionTags{SetVersionTags: &cairnpb.SetVersionTagsCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(), VersionId: req.GetVersionId(), Tags: req.GetTags(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.SetVersionTagsResponse{}, nil
}

func (s *Server) listObjectVersions(ctx context.Context, req *cairnpb.ListObjectVersionsRequest) (*cairnpb.ListObjectVersionsResponse, error) {
	limit, err := listLimit("max keys", req.GetMaxKeys())
	if err != nil {
		return nil, err
	}
	p := fsm.VersionListParams{
		ListParams: fsm.ListParams{Prefix: req.GetPrefix(), Delimiter: req.GetDelimiter(), MaxKeys: limit},
		KeyMarker:  req.GetKeyMarker(), IDMarker: req.GetVersionIdMarker(),
	}
	var resp *cairnpb.ListObjectVersionsResponse
	err = s.read(ctx, func(r pebble.Reader) error {
		bk, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		resp, err = fsm.ListVersions(r, bk.GetId(), p)
		return err
	})
	return resp, err
}

// validVersionRef checks a request's bucket, key and version ID ("" for
// the current version).
func validVersionRef(ns, bucket, key, versionID string) error {
	if err := validBucketRef(ns, bucket); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	if versionID == "" {
		return nil
	}
	return validVersionID(versionID)
}

// validVersionID checks an S3 version ID from a request: "null" or the
// form Cairn's IDs have.
func validVersionID(id string) error {
	if id == fsm.NullVersionID || fsm.ValidUploadID(id) {
		return nil
	}
	return fsm.Invalid("version id %q is malformed", id)
}
