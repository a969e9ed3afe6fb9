package s3api

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// fakeMultipart is the multipart state of a fakeIndex, with the rules the
// meta FSM applies.
type fakeMultipart struct {
	seq     int
	uploads map[string]*fakeUpload // by upload ID
	freed   []string               // "<shard base>.<index>" of parts let go
}

type fakeUpload struct {
	bucket string
	u      *cairnpb.MultipartUpload
	parts  map[int32]*cairnpb.UploadedPart
}

const fakeMinPartSize = 5 << 20

func (f *fakeIndex) upload(bucket, key, id string) (*fakeUpload, error) {
	if _, ok := f.buckets[bucket]; !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	up, ok := f.mp.uploads[id]
	if !ok || up.bucket != bucket || up.u.GetKey() != key {
		return nil, fmt.Errorf("fake: upload %q: %w", id, rpcerr.ErrUploadNotFound)
	}
	return up, nil
}

func (f *fakeIndex) free(p *cairnpb.PartInfo) {
	for _, s := range p.GetShards() {
		if s.GetNodeId() != "" {
			f.mp.freed = append(f.mp.freed, fmt.Sprintf("%s.%d", p.GetShardBase(), s.GetIndex()))
		}
	}
}

func (f *fakeIndex) freedShards() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.mp.freed...)
}

func (f *fakeIndex) CreateMultipartUpload(_ context.Context, _, bucket string, u *cairnpb.MultipartUpload) (*cairnpb.MultipartUpload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[bucket]; !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	if f.mp.uploads == nil {
		f.mp.uploads = map[string]*fakeUpload{}
	}
	f.mp.seq++
	c := proto.Clone(u).(*cairnpb.MultipartUpload)
	c.UploadId = fmt.Sprintf("%032x", f.mp.seq)
	c.InitiatedUnixNano = int64(f.mp.seq)
	f.mp.uploads[c.UploadId] = &fakeUpload{bucket: bucket, u: c, parts: map[int32]*cairnpb.UploadedPart{}}
	return c, nil
}

func (f *fakeIndex) GetMultipartUpload(_ context.Context, _, bucket, key, id string) (*cairnpb.MultipartUpload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.upload(bucket, key, id)
	if err != nil {
		return nil, err
	}
	return up.u, nil
}

func (f *fakeIndex) CommitPart(_ context.Context, _, bucket, key, id string, p *cairnpb.UploadedPart) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.upload(bucket, key, id)
	if err != nil {
		return err
	}
	if old, ok := up.parts[p.GetPart().GetNumber()]; ok && old.GetPart().GetShardBase() != p.GetPart().GetShardBase() {
		f.free(old.GetPart())
	}
	c := proto.Clone(p).(*cairnpb.UploadedPart)
	c.ModifiedUnixNano = 1
	up.parts[p.GetPart().GetNumber()] = c
	return nil
}

func (f *fakeIndex) CompleteMultipartUpload(_ context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.upload(req.GetBucket(), req.GetKey(), req.GetUploadId())
	if err != nil {
		return nil, err
	}
	if err := f.fakeCondition(req.GetBucket(), req.GetKey(), "", req.GetCondition()); err != nil {
		return nil, err
	}
	prev := int32(0)
	for _, lp := range req.GetParts() {
		if lp.GetNumber() <= prev {
			return nil, rpcerr.ErrInvalidPartOrder
		}
		prev = lp.GetNumber()
	}
	v := &cairnpb.ObjectVersion{Key: req.GetKey(), VersionId: "mp-" + req.GetUploadId(), ModifiedUnixNano: 1,
		ContentType: up.u.GetContentType(), UserMetadata: up.u.GetUserMetadata(), Headers: up.u.GetHeaders(), Tags: up.u.GetTags()}
	h := md5.New()
	listed := map[int32]bool{}
	for i, lp := range req.GetParts() {
		p, ok := up.parts[lp.GetNumber()]
		if !ok || p.GetPart().GetEtag() != lp.GetEtag() {
			return nil, rpcerr.ErrInvalidPart
		}
		if i < len(req.GetParts())-1 && p.GetPart().GetSize() < fakeMinPartSize {
			return nil, rpcerr.ErrEntityTooSmall
		}
		raw, _ := hex.DecodeString(p.GetPart().GetEtag())
		h.Write(raw)
		v.Size += p.GetPart().GetSize()
		v.Parts = append(v.Parts, p.GetPart())
		v.InlineData = append(v.InlineData, p.GetInlineData()...)
		listed[lp.GetNumber()] = true
	}
	v.Etag = fmt.Sprintf("%x-%d", h.Sum(nil), len(req.GetParts()))
	for n, p := range up.parts {
		if !listed[n] {
			f.free(p.GetPart())
		}
	}
	delete(f.mp.uploads, req.GetUploadId())
	f.objects[req.GetBucket()][req.GetKey()] = v
	return &cairnpb.CompleteMultipartUploadResponse{Etag: v.Etag, VersionId: v.VersionId}, nil
}

func (f *fakeIndex) AbortMultipartUpload(_ context.Context, _, bucket, key, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.upload(bucket, key, id)
	if err != nil {
		return err
	}
	for _, p := range up.parts {
		f.free(p.GetPart())
	}
	delete(f.mp.uploads, id)
	return nil
}

func (f *fakeIndex) ListParts(_ context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, err := f.upload(req.GetBucket(), req.GetKey(), req.GetUploadId())
	if err != nil {
		return nil, err
	}
	var nums []int32
	for n := range up.parts {
		if n > req.GetPartNumberMarker() {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	out := &cairnpb.ListPartsResponse{Upload: up.u}
	for _, n := range nums {
		if len(out.Parts) == int(req.GetMaxParts()) {
			out.IsTruncated = true
			break
		}
		p := up.parts[n]
		out.Parts = append(out.Parts, &cairnpb.PartSummary{Number: n, Size: p.GetPart().GetSize(), Etag: p.GetPart().GetEtag(),
			ModifiedUnixNano: p.GetModifiedUnixNano(), Checksums: p.GetPart().GetChecksums()})
		out.NextPartNumberMarker = n
	}
	return out, nil
}

// ListMultipartUploads is a naive scan; delimiters roll keys up.
func (f *fakeIndex) ListMultipartUploads(_ context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[req.GetBucket()]; !ok {
		return nil, rpcerr.ErrBucketNotFound
	}
	var ups []*cairnpb.MultipartUpload
	for _, up := range f.mp.uploads {
		if up.bucket == req.GetBucket() && strings.HasPrefix(up.u.GetKey(), req.GetPrefix()) {
			ups = append(ups, up.u)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].GetKey() != ups[j].GetKey() {
			return ups[i].GetKey() < ups[j].GetKey()
		}
		return ups[i].GetUploadId() < ups[j].GetUploadId()
	})
	out := &cairnpb.ListMultipartUploadsResponse{}
	seen := map[string]bool{}
	for _, u := range ups {
		k, id := u.GetKey(), u.GetUploadId()
		if km := req.GetKeyMarker(); km != "" && (k < km || (k == km && (req.GetUploadIdMarker() == "" || id <= req.GetUploadIdMarker()))) {
			continue
		}
		cp := ""
		if req.GetDelimiter() != "" {
			if i := strings.Index(k[len(req.GetPrefix()):], req.GetDelimiter()); i >= 0 {
				cp = k[:len(req.GetPrefix())+i+len(req.GetDelimiter())]
			}
		}
		if cp != "" && seen[cp] {
			continue
		}
		if len(out.Uploads)+len(out.CommonPrefixes) == int(req.GetMaxUploads()) {
			out.IsTruncated = true
			break
		}
		if cp != "" {
			seen[cp] = true
			out.CommonPrefixes = append(out.CommonPrefixes, cp)
			out.NextKeyMarker, out.NextUploadIdMarker = cp, ""
			continue
		}
		out.Uploads = append(out.Uploads, &cairnpb.UploadSummary{Key: k, UploadId: id,
			InitiatedUnixNano: u.GetInitiatedUnixNano(), ChecksumAlgorithm: u.GetChecksumAlgorithm()})
		out.NextKeyMarker, out.NextUploadIdMarker = k, id
	}
	return out, nil
}
