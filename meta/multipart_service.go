package meta

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// newTimeID returns an ID that sorts by creation time: 8 bytes of the
// proposer's clock, then 8 random bytes, in hex (uploadIDLen digits).
func newTimeID(now time.Time) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		return "", fmt.Errorf("meta: draw id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validUploadRef checks the address of an upload. A malformed upload ID
// cannot name an upload, so it is ErrUploadNotFound, as in S3.
func validUploadRef(namespace, bucket, key, uploadID string) error {
	if err := validBucketRef(namespace, bucket); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	if !fsm.ValidUploadID(uploadID) {
		return fmt.Errorf("meta: upload id %q: %w", uploadID, rpcerr.ErrUploadNotFound)
	}
	return nil
}

func validPart(p *cairnpb.UploadedPart) error {
	info := p.GetPart()
	if n := info.GetNumber(); n < 1 || n > fsm.MaxPartNumber {
		return fsm.Invalid("part number %d outside 1..%d", n, fsm.MaxPartNumber)
	}
	if info.GetSize() < 0 || !fsm.ValidETag(info.GetEtag()) {
		return fsm.Invalid("part %d: a size and a hex md5 etag are required", info.GetNumber())
	}
	if info.GetScheme() == nil {
		if len(info.GetShards()) > 0 || int64(len(p.GetInlineData())) != info.GetSize() {
			return fsm.Invalid("part %d: an inline part has no shards and exactly its bytes", info.GetNumber())
		}
		return nil
	}
	if err := validName("shard base", info.GetShardBase()); err != nil {
		return err
	}
	for _, sh := range info.GetShards() {
		if sh.GetIndex() < 0 || strings.IndexByte(sh.GetNodeId(), 0) >= 0 || len(sh.GetNodeId()) > fsm.MaxNameLen {
			return fsm.Invalid("shard %d on node %q is malformed", sh.GetIndex(), sh.GetNodeId())
		}
	}
	return nil
}

// checkCompletedParts checks what can be checked without the state: at
// least one part, ascending part numbers, hex md5 ETags. It returns the
// ETag the completed object will have.
func checkCompletedParts(parts []*cairnpb.CompletedPart) (string, error) {
	if len(parts) == 0 {
		return "", fsm.Invalid("complete upload: no parts listed")
	}
	etags := make([]string, len(parts))
	prev := int32(0)
	for i, p := range parts {
		if p.GetNumber() <= prev {
			return "", fmt.Errorf("meta: part %d listed after part %d: %w", p.GetNumber(), prev, rpcerr.ErrInvalidPartOrder)
		}
		prev = p.GetNumber()
		if p.GetNumber() > fsm.MaxPartNumber || !fsm.ValidETag(p.GetEtag()) {
			return "", fmt.Errorf("meta: part %d with etag %q cannot have been uploaded: %w", p.GetNumber(), p.GetEtag(), rpcerr.ErrInvalidPart)
		}
		etags[i] = p.GetEtag()
	}
	return fsm.MultipartETag(etags)
}

func listLimit(what string, n int32) (int, error) {
	switch {
	case n < 0:
		return 0, fsm.Invalid("%s %d is negative", what, n)
	case n == 0 || n > fsm.DefaultMaxList:
		return fsm.DefaultMaxList, nil
	}
	return int(n), nil
}

func (m *metaService) CreateMultipartUpload(ctx context.Context, req *cairnpb.CreateMultipartUploadRequest) (*cairnpb.CreateMultipartUploadResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if err := validKey(req.GetUpload().GetKey()); err != nil {
		return nil, err
	}
	if err := fsm.ValidTags(req.GetUpload().GetTags(), fsm.MaxObjectTags); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.createMultipartUpload, cairnpb.MetaClient.CreateMultipartUpload)
}

func (m *metaService) GetMultipartUpload(ctx context.Context, req *cairnpb.GetMultipartUploadRequest) (*cairnpb.GetMultipartUploadResponse, error) {
	if err := validUploadRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetUploadId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.getMultipartUpload, cairnpb.MetaClient.GetMultipartUpload)
}

func (m *metaService) CommitPart(ctx context.Context, req *cairnpb.CommitPartRequest) (*cairnpb.CommitPartResponse, error) {
	if err := validUploadRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetUploadId()); err != nil {
		return nil, err
	}
	if err := validPart(req.GetPart()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.commitPart, cairnpb.MetaClient.CommitPart)
}

func (m *metaService) CompleteMultipartUpload(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error) {
	if err := validUploadRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetUploadId()); err != nil {
		return nil, err
	}
	if _, err := checkCompletedParts(req.GetParts()); err != nil {
		return nil, err
	}
	if err := fsm.ValidCondition(req.GetCondition()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.completeMultipartUpload, cairnpb.MetaClient.CompleteMultipartUpload)
}

func (m *metaService) AbortMultipartUpload(ctx context.Context, req *cairnpb.AbortMultipartUploadRequest) (*cairnpb.AbortMultipartUploadResponse, error) {
	if err := validUploadRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetUploadId()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.abortMultipartUpload, cairnpb.MetaClient.AbortMultipartUpload)
}

func (m *metaService) ListParts(ctx context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error) {
	if err := validUploadRef(req.GetNamespace(), req.GetBucket(), req.GetKey(), req.GetUploadId()); err != nil {
		return nil, err
	}
	if req.GetPartNumberMarker() < 0 {
		return nil, fsm.Invalid("part number marker %d is negative", req.GetPartNumberMarker())
	}
	if _, err := listLimit("max parts", req.GetMaxParts()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listParts, cairnpb.MetaClient.ListParts)
}

func (m *metaService) ListMultipartUploads(ctx context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error) {
	if err := validBucketRef(req.GetNamespace(), req.GetBucket()); err != nil {
		return nil, err
	}
	if _, err := listLimit("max uploads", req.GetMaxUploads()); err != nil {
		return nil, err
	}
	return route(ctx, m.s, req, m.s.listMultipartUploads, cairnpb.MetaClient.ListMultipartUploads)
}

// The local operations below run on the leader.

func (s *Server) createMultipartUpload(ctx context.Context, req *cairnpb.CreateMultipartUploadRequest) (*cairnpb.CreateMultipartUploadResponse, error) {
	now := s.cfg.Now()
	id, err := newTimeID(now)
	if err != nil {
		return nil, err
	}
	u := proto.Clone(req.GetUpload()).(*cairnpb.MultipartUpload)
	u.UploadId = id
	u.InitiatedUnixNano = now.UnixNano()
	u.BucketId = nil
	cmd := &cairnpb.Command{UnixNano: now.UnixNano(), Op: &cairnpb.Command_CreateUpload{CreateUpload: &cairnpb.CreateUploadCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Upload: u,
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.CreateMultipartUploadResponse{Upload: u}, nil
}

func (s *Server) getMultipartUpload(ctx context.Context, req *cairnpb.GetMultipartUploadRequest) (*cairnpb.GetMultipartUploadResponse, error) {
	resp := &cairnpb.GetMultipartUploadResponse{}
	err := s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		resp.Upload, err = fsm.GetUpload(r, b.GetId(), req.GetKey(), req.GetUploadId())
		return err
	})
	return resp, err
}

func (s *Server) commitPart(ctx context.Context, req *cairnpb.CommitPartRequest) (*cairnpb.CommitPartResponse, error) {
	if p := req.GetPart().GetPart(); p != nil {
		if err := s.node.checkOrphanFence(p.GetShardBase(), len(p.GetShards())); err != nil {
			return nil, err
		}
	}
	cmd := &cairnpb.Command{Op: &cairnpb.Command_CommitPart{CommitPart: &cairnpb.CommitPartCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(),
		UploadId: req.GetUploadId(), Part: req.GetPart(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	if p := req.GetPart().GetPart(); p != nil {
		s.node.jobSet.KickIfPartDegraded(p)
	}
	return &cairnpb.CommitPartResponse{}, nil
}

func (s *Server) completeMultipartUpload(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error) {
	// The FSM checks every listed ETag against the stored part, so the
	// object's ETag follows from the request alone.
	etag, err := checkCompletedParts(req.GetParts())
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	versionID, err := newTimeID(now)
	if err != nil {
		return nil, err
	}
	cmd := &cairnpb.Command{UnixNano: now.UnixNano(), Op: &cairnpb.Command_CompleteUpload{CompleteUpload: &cairnpb.CompleteUploadCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(),
		UploadId: req.GetUploadId(), VersionId: versionID, Parts: req.GetParts(), Condition: req.GetCondition(),
	}}}
	err = s.node.propose(ctx, cmd)
	if errors.Is(err, rpcerr.ErrUploadNotFound) {
		// A retry of a completion that went through (the client's, or the
		// metaclient's after a timeout) finds the upload gone: answer as
		// the first attempt did when the key holds exactly those parts.
		if v, done := s.completedBefore(ctx, req, etag); done {
			id := ""
			if v.GetVersioned() || v.GetSeq() != 0 {
				id = fsm.S3VersionID(v)
			}
			return &cairnpb.CompleteMultipartUploadResponse{Etag: etag, VersionId: id}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	// The version ID answered is S3's: none in a bucket without
	// versioning, "null" when it is Suspended.
	switch s.localVersioning(req.GetNamespace(), req.GetBucket()) {
	case fsm.VersioningEnabled:
	case fsm.VersioningSuspended:
		versionID = fsm.NullVersionID
	default:
		versionID = ""
	}
	return &cairnpb.CompleteMultipartUploadResponse{Etag: etag, VersionId: versionID}, nil
}

// completedBefore reports whether the current version of the key is made of
// exactly the parts req lists.
func (s *Server) completedBefore(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest, etag string) (*cairnpb.ObjectVersion, bool) {
	got, err := s.getObject(ctx, &cairnpb.GetObjectRequest{Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey()})
	v := got.GetVersion()
	if err != nil || v.GetEtag() != etag || len(v.GetParts()) != len(req.GetParts()) {
		return nil, false
	}
	for i, p := range v.GetParts() {
		if p.GetNumber() != req.GetParts()[i].GetNumber() || p.GetEtag() != req.GetParts()[i].GetEtag() {
			return nil, false
		}
	}
	return v, true
}

func (s *Server) abortMultipartUpload(ctx context.Context, req *cairnpb.AbortMultipartUploadRequest) (*cairnpb.AbortMultipartUploadResponse, error) {
	cmd := &cairnpb.Command{Op: &cairnpb.Command_AbortUpload{AbortUpload: &cairnpb.AbortUploadCmd{
		Namespace: req.GetNamespace(), Bucket: req.GetBucket(), Key: req.GetKey(), UploadId: req.GetUploadId(),
	}}}
	if err := s.node.propose(ctx, cmd); err != nil {
		return nil, err
	}
	return &cairnpb.AbortMultipartUploadResponse{}, nil
}

func (s *Server) listParts(ctx context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error) {
	limit, err := listLimit("max parts", req.GetMaxParts())
	if err != nil {
		return nil, err
	}
	var resp *cairnpb.ListPartsResponse
	err = s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		u, err := fsm.GetUpload(r, b.GetId(), req.GetKey(), req.GetUploadId())
		if err != nil {
			return err
		}
		resp, err = fsm.ListParts(r, req.GetUploadId(), req.GetPartNumberMarker(), limit)
		if err == nil {
			resp.Upload = u
		}
		return err
	})
	return resp, err
}

func (s *Server) listMultipartUploads(ctx context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error) {
	limit, err := listLimit("max uploads", req.GetMaxUploads())
	if err != nil {
		return nil, err
	}
	p := fsm.UploadListParams{
		ListParams: fsm.ListParams{Prefix: req.GetPrefix(), Delimiter: req.GetDelimiter(), MaxKeys: limit},
		KeyMarker:  req.GetKeyMarker(), IDMarker: req.GetUploadIdMarker(),
	}
	var resp *cairnpb.ListMultipartUploadsResponse
	err = s.read(ctx, func(r pebble.Reader) error {
		b, err := fsm.GetBucket(r, req.GetNamespace(), req.GetBucket())
		if err != nil {
			return err
		}
		resp, err = fsm.ListUploads(r, b.GetId(), p)
		return err
	})
	return resp, err
}
