package fsm

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Multipart limits, as S3 sets them.
const (
	uploadIDLen    = 32      // hex digits: 8 bytes of time, 8 random
	MaxPartNumber  = 10000   // part numbers are 1..maxPartNumber
	minPartSize    = 5 << 20 // every part but the last of a completed upload
	maxObjectBytes = 5 << 40 // a completed upload
	DefaultMaxList = 1000
)

// uploadPrefix is the prefix of every upload key of one bucket.
func uploadPrefix(bucketID []byte) []byte {
	k := make([]byte, 0, len(TagUpload)+len(bucketID))
	k = append(k, TagUpload...)
	return append(k, bucketID...)
}

func uploadKey(bucketID []byte, key, uploadID string) []byte {
	k := append(uploadPrefix(bucketID), key...)
	k = append(k, 0)
	return append(k, uploadID...)
}

// splitUploadKey splits the part of an upload key after its bucket prefix
// into object key and upload ID.
func splitUploadKey(rest []byte) (key, uploadID string, ok bool) {
	n := len(rest) - uploadIDLen - 1
	if n < 0 || rest[n] != 0 {
		return "", "", false
	}
	return string(rest[:n]), string(rest[n+1:]), true
}

// partPrefix is the prefix of every part key of one upload.
func partPrefix(uploadID string) []byte {
	k := make([]byte, 0, len(TagPart)+len(uploadID)+4)
	k = append(k, TagPart...)
	return append(k, uploadID...)
}

func PartKey(uploadID string, number int32) []byte {
	return binary.BigEndian.AppendUint32(partPrefix(uploadID), uint32(number))
}

// ValidUploadID reports whether id has the form upload IDs are made with.
// Anything else cannot name an upload.
func ValidUploadID(id string) bool {
	if len(id) != uploadIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidETag reports whether e is a hex MD5, as part ETags are.
func ValidETag(e string) bool { return ValidUploadID(e) }

// MultipartETag is S3's ETag of a completed upload: the MD5 of the parts'
// binary MD5s, in hex, then "-" and the number of parts.
func MultipartETag(etags []string) (string, error) {
	h := md5.New()
	for _, e := range etags {
		raw, err := hex.DecodeString(e)
		if err != nil || len(raw) != md5.Size {
			return "", fmt.Errorf("meta: part etag %q is not a hex md5: %w", e, rpcerr.ErrInvalidPart)
		}
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(etags)), nil
}

// ShardRef names one written shard on its data node.
type ShardRef struct{ Node, Shard string }

// partRefs lists the written shards of a part.
func partRefs(p *cairnpb.PartInfo) []ShardRef {
	var out []ShardRef
	for _, s := range p.GetShards() {
		if s.GetNodeId() != "" {
			out = append(out, ShardRef{s.GetNodeId(), ShardID(p.GetShardBase(), s.GetIndex())})
		}
	}
	return out
}

// versionRefs lists the written shards of a version, its parts' included.
func versionRefs(v *cairnpb.ObjectVersion) []ShardRef {
	var out []ShardRef
	for _, s := range v.GetShards() {
		if s.GetNodeId() != "" {
			out = append(out, ShardRef{s.GetNodeId(), ShardID(v.GetVersionId(), s.GetIndex())})
		}
	}
	for _, p := range v.GetParts() {
		out = append(out, partRefs(p)...)
	}
	return out
}

// enqueueRefs puts every shard of old that keep does not name on the GC
// queue.
func enqueueRefs(b *pebble.Batch, now int64, old, keep []ShardRef) error {
	kept := make(map[ShardRef]bool, len(keep))
	for _, r := range keep {
		kept[r] = true
	}
	for _, r := range old {
		if kept[r] {
			continue
		}
		e := &cairnpb.GCEntry{NodeId: r.Node, ShardId: r.Shard, EnqueuedUnixNano: now}
		if err := putGCEntry(b, e); err != nil {
			return err
		}
	}
	return nil
}

// GetUpload returns the upload uploadID of key, or ErrUploadNotFound.
func GetUpload(r pebble.Reader, bucketID []byte, key, uploadID string) (*cairnpb.MultipartUpload, error) {
	u := &cairnpb.MultipartUpload{}
	ok, err := GetProto(r, uploadKey(bucketID, key, uploadID), u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: upload %q of %q: %w", uploadID, key, rpcerr.ErrUploadNotFound)
	}
	return u, nil
}

// uploadParts returns every part of an upload in part-number order.
func uploadParts(r pebble.Reader, uploadID string) ([]*cairnpb.UploadedPart, error) {
	var out []*cairnpb.UploadedPart
	err := ScanProtos(r, partPrefix(uploadID), func() *cairnpb.UploadedPart { return &cairnpb.UploadedPart{} },
		func(p *cairnpb.UploadedPart) { out = append(out, p) })
	return out, err
}

// dropUpload removes an upload and its parts, putting the shards of every
// part not in keep on the GC queue.
func dropUpload(b *pebble.Batch, now int64, u *cairnpb.MultipartUpload, parts []*cairnpb.UploadedPart, keep map[int32]bool) error {
	for _, p := range parts {
		if keep[p.GetPart().GetNumber()] {
			continue
		}
		if err := enqueueRefs(b, now, partRefs(p.GetPart()), nil); err != nil {
			return err
		}
	}
	prefix := partPrefix(u.GetUploadId())
	if err := b.DeleteRange(prefix, PrefixEnd(prefix), nil); err != nil {
		return fmt.Errorf("meta: delete parts of upload %q: %w", u.GetUploadId(), err)
	}
	return del(b, uploadKey(u.GetBucketId(), u.GetKey(), u.GetUploadId()))
}

func applyCreateUpload(b *pebble.Batch, now int64, c *cairnpb.CreateUploadCmd) error {
	u := c.GetUpload()
	if u.GetKey() == "" || !ValidUploadID(u.GetUploadId()) {
		return Invalid("create upload: key and a well-formed upload id are required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	u.BucketId = bk.GetId()
	if u.GetInitiatedUnixNano() == 0 {
		u.InitiatedUnixNano = now
	}
	// The lock asked for is checked now, so a bad one fails the initiation;
	// it is settled (default retention) when the object is made.
	if err := checkLockAllowed(bk, u.GetLock()); err != nil {
		return err
	}
	return putProto(b, uploadKey(u.GetBucketId(), u.GetKey(), u.GetUploadId()), u)
}

func applyCommitPart(b *pebble.Batch, now int64, c *cairnpb.CommitPartCmd) error {
	p := c.GetPart()
	n := p.GetPart().GetNumber()
	if n < 1 || n > MaxPartNumber {
		return Invalid("commit part: part number %d outside 1..%d", n, MaxPartNumber)
	}
	if p.GetPart().GetScheme() != nil && p.GetPart().GetShardBase() == "" {
		return Invalid("commit part: an erasure-coded part needs a shard base")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	if _, err := GetUpload(b, bk.GetId(), c.GetKey(), c.GetUploadId()); err != nil {
		return err
	}
	key := PartKey(c.GetUploadId(), n)
	old := &cairnpb.UploadedPart{}
	found, err := GetProto(b, key, old)
	if err != nil {
		return err
	}
	if found {
		// A retried commit of the same part names the same shards: nothing
		// is freed.
		if err := enqueueRefs(b, now, partRefs(old.GetPart()), partRefs(p.GetPart())); err != nil {
			return err
		}
	}
	if p.GetModifiedUnixNano() == 0 {
		p.ModifiedUnixNano = now
	}
	return putProto(b, key, p)
}

// completeVersion checks the listed parts against the uploaded ones and
// builds the version they make. It writes nothing.
func completeVersion(c *cairnpb.CompleteUploadCmd, u *cairnpb.MultipartUpload, uploaded []*cairnpb.UploadedPart, now int64) (*cairnpb.ObjectVersion, []byte, error) {
	listed := c.GetParts()
	if len(listed) == 0 {
		return nil, nil, Invalid("complete upload: no parts listed")
	}
	prev := int32(0)
	for _, lp := range listed {
		if lp.GetNumber() <= prev {
			return nil, nil, fmt.Errorf("meta: part %d listed after part %d: %w", lp.GetNumber(), prev, rpcerr.ErrInvalidPartOrder)
		}
		prev = lp.GetNumber()
	}
	byNumber := make(map[int32]*cairnpb.UploadedPart, len(uploaded))
	for _, p := range uploaded {
		byNumber[p.GetPart().GetNumber()] = p
	}
	chosen := make([]*cairnpb.UploadedPart, len(listed))
	for i, lp := range listed {
		p, ok := byNumber[lp.GetNumber()]
		if !ok {
			return nil, nil, fmt.Errorf("meta: part %d was not uploaded: %w", lp.GetNumber(), rpcerr.ErrInvalidPart)
		}
		if p.GetPart().GetEtag() != lp.GetEtag() {
			return nil, nil, fmt.Errorf("meta: part %d has etag %q, not %q: %w", lp.GetNumber(), p.GetPart().GetEtag(), lp.GetEtag(), rpcerr.ErrInvalidPart)
		}
		for alg, want := range lp.GetChecksums() {
			if got, ok := p.GetPart().GetChecksums()[alg]; ok && got != want {
				return nil, nil, fmt.Errorf("meta: part %d has %s %q, not %q: %w", lp.GetNumber(), alg, got, want, rpcerr.ErrInvalidPart)
			}
		}
		chosen[i] = p
	}
	v := &cairnpb.ObjectVersion{
		BucketId: u.GetBucketId(), Key: u.GetKey(), VersionId: c.GetVersionId(), ModifiedUnixNano: now,
		ContentType: u.GetContentType(), UserMetadata: u.GetUserMetadata(), Headers: u.GetHeaders(),
		Tags: u.GetTags(), Lock: u.GetLock(),
	}
	etags := make([]string, len(chosen))
	var inline []byte
	for i, p := range chosen {
		if i < len(chosen)-1 && p.GetPart().GetSize() < minPartSize {
			return nil, nil, fmt.Errorf("meta: part %d is %d bytes, below the %d-byte minimum: %w",
				p.GetPart().GetNumber(), p.GetPart().GetSize(), minPartSize, rpcerr.ErrEntityTooSmall)
		}
		v.Size += p.GetPart().GetSize()
		v.Parts = append(v.Parts, p.GetPart())
		v.Degraded = v.Degraded || p.GetPart().GetDegraded()
		etags[i] = p.GetPart().GetEtag()
		inline = append(inline, p.GetInlineData()...)
	}
	if v.Size > maxObjectBytes {
		return nil, nil, Invalid("complete upload: %d bytes exceed the %d-byte object limit", v.Size, int64(maxObjectBytes))
	}
	etag, err := MultipartETag(etags)
	if err != nil {
		return nil, nil, err
	}
	v.Etag = etag
	sum, ok, err := multipartChecksum(u.GetChecksumAlgorithm(), u.GetChecksumType(), v.GetParts())
	if err != nil {
		return nil, nil, err
	}
	if ok {
		v.Checksums = map[string]string{u.GetChecksumAlgorithm(): sum}
		v.ChecksumType = u.GetChecksumType()
	}
	return v, inline, nil
}

func applyCompleteUpload(b *pebble.Batch, index uint64, now int64, c *cairnpb.CompleteUploadCmd) error {
	if c.GetKey() == "" || c.GetVersionId() == "" {
		return Invalid("complete upload: key and version id are required")
	}
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	id := bk.GetId()
	u, err := GetUpload(b, id, c.GetKey(), c.GetUploadId())
	if err != nil {
		return err
	}
	if c.GetCondition() != nil {
		// Checked before the parts, as S3 does; a failure keeps the upload.
		cur, err := GetObject(b, id, c.GetKey(), false)
		if err != nil {
			return err
		}
		if err := checkCondition(c.GetCondition(), cur, c.GetVersionId()); err != nil {
			return err
		}
	}
	uploaded, err := uploadParts(b, c.GetUploadId())
	if err != nil {
		return err
	}
	v, inline, err := completeVersion(c, u, uploaded, now)
	if err != nil {
		return err
	}
	if err := settleLock(bk, v, now); err != nil {
		return err
	}
	old, err := GetObject(b, id, v.GetKey(), false)
	if err != nil {
		return err
	}
	keep := make(map[int32]bool, len(v.GetParts()))
	for _, p := range v.GetParts() {
		keep[p.GetNumber()] = true
	}
	if bk.GetVersioning() != "" {
		if err := dropUpload(b, now, u, uploaded, keep); err != nil {
			return err
		}
		return commitVersioned(b, index, now, bk, v, inline, old)
	}
	if old != nil {
		if err := removeVersion(b, now, old, v, false); err != nil {
			return err
		}
	}
	if err := dropUpload(b, now, u, uploaded, keep); err != nil {
		return err
	}
	if err := putProto(b, objectKey(id, v.GetKey()), v); err != nil {
		return err
	}
	if err := indexForLifecycle(b, v); err != nil {
		return err
	}
	switch {
	case len(inline) > 0:
		if err := b.Set(InlineKey(id, v.GetKey()), inline, nil); err != nil {
			return fmt.Errorf("meta: write inline data: %w", err)
		}
	case old != nil && len(old.GetShards()) == 0:
		return del(b, InlineKey(id, v.GetKey()))
	}
	return nil
}

func applyAbortUpload(b *pebble.Batch, now int64, c *cairnpb.AbortUploadCmd) error {
	bk, err := GetBucket(b, c.GetNamespace(), c.GetBucket())
	if err != nil {
		return err
	}
	u, err := GetUpload(b, bk.GetId(), c.GetKey(), c.GetUploadId())
	if err != nil {
		return err
	}
	parts, err := uploadParts(b, c.GetUploadId())
	if err != nil {
		return err
	}
	return dropUpload(b, now, u, parts, nil)
}

// abortBucketUploads drops every upload of a bucket that is being deleted.
func abortBucketUploads(b *pebble.Batch, now int64, bucketID []byte) error {
	var uploads []*cairnpb.MultipartUpload
	err := ScanProtos(b, uploadPrefix(bucketID), func() *cairnpb.MultipartUpload { return &cairnpb.MultipartUpload{} },
		func(u *cairnpb.MultipartUpload) { uploads = append(uploads, u) })
	if err != nil {
		return err
	}
	for _, u := range uploads {
		parts, err := uploadParts(b, u.GetUploadId())
		if err != nil {
			return err
		}
		if err := dropUpload(b, now, u, parts, nil); err != nil {
			return err
		}
	}
	return nil
}

// ListParts returns up to limit parts of an upload after marker.
func ListParts(r pebble.Reader, uploadID string, marker int32, limit int) (*cairnpb.ListPartsResponse, error) {
	resp := &cairnpb.ListPartsResponse{}
	if marker >= MaxPartNumber {
		return resp, nil
	}
	prefix := partPrefix(uploadID)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: PartKey(uploadID, marker+1), UpperBound: PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("meta: list parts: %w", err)
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if len(resp.Parts) == limit {
			resp.IsTruncated = true
			break
		}
		value, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("meta: list parts: %w", err)
		}
		p := &cairnpb.UploadedPart{}
		if err := proto.Unmarshal(value, p); err != nil {
			return nil, fmt.Errorf("meta: list parts: decode %q: %w", it.Key(), err)
		}
		resp.Parts = append(resp.Parts, &cairnpb.PartSummary{
			Number: p.GetPart().GetNumber(), Size: p.GetPart().GetSize(), Etag: p.GetPart().GetEtag(),
			ModifiedUnixNano: p.GetModifiedUnixNano(), Checksums: p.GetPart().GetChecksums(),
		})
		resp.NextPartNumberMarker = p.GetPart().GetNumber()
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("meta: list parts: %w", err)
	}
	return resp, nil
}

// UploadListParams is a validated ListMultipartUploads request.
type UploadListParams struct {
	ListParams        // prefix, delimiter, maxKeys; after is unused
	KeyMarker  string // resume after this key...
	IDMarker   string // ...or after this upload of keyMarker
}

// start returns where the scan of the uploads under base begins.
func (p UploadListParams) start(base []byte) []byte {
	lower := append(slices.Clone(base), p.Prefix...)
	if p.KeyMarker == "" {
		return lower
	}
	from := append(slices.Clone(base), p.KeyMarker...)
	switch {
	case p.IDMarker != "":
		from = append(append(append(from, 0), p.IDMarker...), 0)
	case p.commonPrefix(p.KeyMarker) == p.KeyMarker:
		// The marker is a common prefix returned last: skip its group.
		from = PrefixEnd(from)
		if from == nil {
			return nil
		}
	default:
		// Past every upload of the marker key ("<key>\x00<id>").
		from = append(from, 1)
	}
	if string(from) < string(lower) {
		return lower
	}
	return from
}

// ListUploads lists the uploads of one bucket. Each common prefix costs one
// seek past all its uploads.
func ListUploads(r pebble.Reader, bucketID []byte, p UploadListParams) (resp *cairnpb.ListMultipartUploadsResponse, err error) {
	base := uploadPrefix(bucketID)
	lower := append(slices.Clone(base), p.Prefix...)
	resp = &cairnpb.ListMultipartUploadsResponse{}
	start := p.start(base)
	if start == nil {
		return resp, nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: PrefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("meta: list uploads: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("meta: list uploads: %w", cerr)
		}
	}()
	count := 0
	var lastKey, lastID string
	for valid := it.SeekGE(start); valid; {
		key, id, ok := splitUploadKey(it.Key()[len(base):])
		if !ok {
			return nil, fmt.Errorf("meta: list uploads: malformed key %q", it.Key())
		}
		if count == p.MaxKeys {
			resp.IsTruncated = true
			break
		}
		if cp := p.commonPrefix(key); cp != "" {
			resp.CommonPrefixes = append(resp.CommonPrefixes, cp)
			count++
			lastKey, lastID = cp, ""
			end := PrefixEnd(append(slices.Clone(base), cp...))
			if end == nil {
				break
			}
			valid = it.SeekGE(end)
			continue
		}
		value, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("meta: list uploads: %w", err)
		}
		u := &cairnpb.MultipartUpload{}
		if err := proto.Unmarshal(value, u); err != nil {
			return nil, fmt.Errorf("meta: list uploads: decode %q: %w", it.Key(), err)
		}
		resp.Uploads = append(resp.Uploads, &cairnpb.UploadSummary{
			Key: key, UploadId: id, InitiatedUnixNano: u.GetInitiatedUnixNano(),
			ChecksumAlgorithm: u.GetChecksumAlgorithm(), ChecksumType: u.GetChecksumType(),
		})
		count++
		lastKey, lastID = key, id
		valid = it.Next()
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("meta: list uploads: %w", err)
	}
	if resp.IsTruncated {
		resp.NextKeyMarker, resp.NextUploadIdMarker = lastKey, lastID
	}
	return resp, nil
}
