package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/s3err"
	"github.com/cairn-store/cairn/s3api/sse"
)

// VersioningIndex is what bucket versioning needs from the meta group.
// Version IDs are S3's: a versioned version's version_id, or "null".
type VersioningIndex interface {
	// CommitVersion commits v (under cond when not nil) and returns its S3
	// version ID, empty in a bucket that never had versioning.
	CommitVersion(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) (string, error)
	// GetObjectVersion reads one version, with its data; versionID ""
	// reads the newest version, a delete marker included.
	GetObjectVersion(ctx context.Context, ns, bucket, key, versionID string) (*cairnpb.GetObjectVersionResponse, error)
	// DeleteVersion is DeleteObject: without versionID a delete marker (in
	// a versioned bucket), with it the removal of that version.
	// DeleteVersion deletes a version (versionID), or the key (a delete
	// marker in a versioned bucket), when cond (nil: none) holds for the
	// key's current version. bypassGovernance lets it remove a version
	// under GOVERNANCE retention.
	DeleteVersion(ctx context.Context, ns, bucket, key, versionID string, cond *cairnpb.WriteCondition, bypassGovernance bool) (*cairnpb.DeleteVersionResponse, error)
	SetVersionTags(ctx context.Context, ns, bucket, key, versionID string, tags map[string]string) error
	ListObjectVersions(ctx context.Context, req *cairnpb.ListObjectVersionsRequest) (*cairnpb.ListObjectVersionsResponse, error)
}

const nullVersion = model.NullVersionID

// s3VersionID is the ID S3 clients know v by (model.VersionID).
func s3VersionID(v *cairnpb.ObjectVersion) string {
	return model.VersionID(v)
}

// setWrittenVersion tells the client the version a write (PUT, copy,
// CompleteMultipartUpload) created, as meta named it: its ID in a bucket
// with versioning enabled. A Suspended bucket's writes make the null
// version, and S3 then sends no x-amz-version-id; neither does an
// unversioned bucket.
func setWrittenVersion(h http.Header, id string) {
	if id != "" && id != nullVersion {
		h.Set("x-amz-version-id", id)
	}
}

// setVersionHeader sets x-amz-version-id for v: its ID when it was written
// in a bucket with versioning configured (versioned, or the null version
// of a Suspended bucket), none for objects of unversioned buckets.
func setVersionHeader(h http.Header, v *cairnpb.ObjectVersion, asked bool) {
	if v.GetVersioned() || v.GetSeq() != 0 || asked {
		h.Set("x-amz-version-id", s3VersionID(v))
	}
}

// requestedVersion returns the version a request names (versionId, or the
// current one) and whether it named one.
func (s *Server) requestedVersion(ctx context.Context, req *request) (*cairnpb.ObjectVersion, bool, error) {
	versionID, named, err := req.version()
	if err != nil {
		return nil, false, err
	}
	v, err := s.objectFor(ctx, req, versionID, named)
	return v, named, err
}

// readableVersion is requestedVersion for requests that say something
// about the data: the request's SSE-C key (nil if none) must open it, and
// nothing about the data goes out otherwise.
func (s *Server) readableVersion(ctx context.Context, r *http.Request, req *request) (*cairnpb.ObjectVersion, bool, *sse.CustomerKey, error) {
	v, named, err := s.requestedVersion(ctx, req)
	if err != nil {
		return nil, false, nil, err
	}
	ck, err := sse.CustomerKeyFromHeaders(r.Header)
	if err != nil {
		return nil, false, nil, err
	}
	if err := model.CheckCustomerKey(v, ck); err != nil {
		return nil, false, nil, err
	}
	return v, named, ck, nil
}

// objectFor returns the version a GET, HEAD or tagging request names: the
// current one on the fast path, else by ID. A delete marker in the way is
// S3's 404 NoSuchKey (current) or 405 MethodNotAllowed (named), with
// x-amz-delete-marker and the marker's ID carried by the error.
func (s *Server) objectFor(ctx context.Context, req *request, versionID string, named bool) (*cairnpb.ObjectVersion, error) {
	if !named {
		v, err := s.cfg.Index.GetObject(ctx, req.ns, req.bucket, req.key)
		if !errors.Is(err, rpcerr.ErrObjectNotFound) {
			return v, err
		}
		// Only a miss pays for the look at delete markers.
		got, gerr := s.cfg.Index.GetObjectVersion(ctx, req.ns, req.bucket, req.key, "")
		if gerr == nil && got.GetVersion().GetDeleteMarker() {
			return nil, &s3err.Error{Code: s3err.NoSuchKey, Err: err, Header: http.Header{
				"X-Amz-Delete-Marker": {"true"},
				"X-Amz-Version-Id":    {s3VersionID(got.GetVersion())},
			}}
		}
		return nil, err
	}
	got, err := s.cfg.Index.GetObjectVersion(ctx, req.ns, req.bucket, req.key, versionID)
	if errors.Is(err, rpcerr.ErrObjectNotFound) {
		return nil, s3err.Wrap(s3err.NoSuchVersion, err)
	}
	if err != nil {
		return nil, err
	}
	v := got.GetVersion()
	if v.GetDeleteMarker() {
		return nil, &s3err.Error{Code: s3err.MethodNotAllowed, Header: http.Header{
			"X-Amz-Delete-Marker": {"true"},
			"X-Amz-Version-Id":    {s3VersionID(v)},
			"Last-Modified":       {time.Unix(0, v.GetModifiedUnixNano()).UTC().Format(http.TimeFormat)},
		}}
	}
	return v, nil
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	XMLNS     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

func (s *Server) putBucketVersioning(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readXMLBody(r.Body)
	if err != nil {
		return err
	}
	var in versioningConfiguration
	if err := xml.Unmarshal(body, &in); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	switch in.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return s3err.New(s3err.NotImplemented, "MFA delete is not supported: Cairn has no MFA devices to check x-amz-mfa against.")
	default:
		return s3err.New(s3err.MalformedXML, "")
	}
	if r.Header.Get("x-amz-mfa") != "" {
		return s3err.New(s3err.NotImplemented, "MFA delete is not supported: Cairn has no MFA devices to check x-amz-mfa against.")
	}
	if in.Status != "Enabled" && in.Status != "Suspended" {
		return s3err.New(s3err.MalformedXML, "")
	}
	if in.Status != "Enabled" {
		// Meta refuses it too, atomically; this is for AWS's message.
		bk, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
		if err != nil {
			return err
		}
		if bk.GetObjectLockEnabled() {
			return s3err.New(s3err.InvalidBucketState, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
	}
	return s.setBucketConfig(ctx, w, req, http.StatusOK, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Versioning{
		Versioning: &cairnpb.BucketVersioningConfig{Status: in.Status}}})
}

func (s *Server) getBucketVersioning(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	b, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	return writeXML(w, versioningConfiguration{XMLNS: s3XMLNS, Status: b.GetVersioning()})
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	XMLNS               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	Entries             []versionEntry // Version and DeleteMarker, in listing order
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// versionEntry is a Version or a DeleteMarker element (XMLName says which).
type versionEntry struct {
	XMLName           xml.Name
	Key               string   `xml:"Key"`
	VersionID         string   `xml:"VersionId"`
	IsLatest          bool     `xml:"IsLatest"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag,omitempty"`
	Size              *int64   `xml:"Size"`
	StorageClass      string   `xml:"StorageClass,omitempty"`
	Owner             owner    `xml:"Owner"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
}

func (s *Server) listObjectVersions(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	q := req.query
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if idMarker != "" && keyMarker == "" {
		return s3err.New(s3err.InvalidArgument, "A version-id marker cannot be specified without a key marker.")
	}
	res := &cairnpb.ListObjectVersionsResponse{}
	if p.maxKeys == 0 {
		if _, err := s.cfg.Index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return err
		}
	} else if res, err = s.cfg.Index.ListObjectVersions(ctx, &cairnpb.ListObjectVersionsRequest{
		Namespace: req.ns, Bucket: req.bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		KeyMarker: keyMarker, VersionIdMarker: idMarker, MaxKeys: int32(p.maxKeys),
	}); err != nil {
		return err
	}
	own := owner{ID: req.ns, DisplayName: req.ns}
	out := listVersionsResult{
		XMLNS: s3XMLNS, Name: req.bucket, Prefix: p.encode(p.prefix), KeyMarker: p.encode(keyMarker),
		VersionIDMarker: idMarker, MaxKeys: p.maxKeys, Delimiter: p.encode(p.delimiter),
		IsTruncated: res.GetIsTruncated(), EncodingType: p.encoding,
	}
	if res.GetIsTruncated() {
		out.NextKeyMarker, out.NextVersionIDMarker = p.encode(res.GetNextKeyMarker()), res.GetNextVersionIdMarker()
	}
	for _, v := range res.GetVersions() {
		e := versionEntry{
			XMLName: xml.Name{Local: "Version"}, Key: p.encode(v.GetKey()), VersionID: v.GetVersionId(),
			IsLatest: v.GetIsLatest(), LastModified: s3Time(v.GetModifiedUnixNano()), Owner: own,
		}
		if v.GetDeleteMarker() {
			e.XMLName.Local = "DeleteMarker"
		} else {
			e.ETag, e.Size, e.StorageClass = `"`+v.GetEtag()+`"`, new(v.GetSize()), "STANDARD"
			for alg := range v.GetChecksums() {
				e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, strings.ToUpper(alg))
			}
			if len(e.ChecksumAlgorithm) > 0 {
				e.ChecksumType = checksumTypeOf(v.GetChecksumType())
			}
		}
		out.Entries = append(out.Entries, e)
	}
	for _, cp := range res.GetCommonPrefixes() {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: p.encode(cp)})
	}
	return writeXML(w, out)
}

// checksumTypeOf is the x-amz-checksum-type of an object's checksums:
// single PUTs are FULL_OBJECT.
func checksumTypeOf(t string) string {
	if t == "" {
		return "FULL_OBJECT"
	}
	return t
}

// deleteObject serves DeleteObject, with or without versionId.
func (s *Server) deleteObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	versionID, _, err := req.version()
	if err != nil {
		return err
	}
	if r.Header.Get("x-amz-mfa") != "" {
		return s3err.New(s3err.NotImplemented, "MFA delete is not supported.")
	}
	cond, err := parseDeleteCondition(r.Header)
	if err != nil {
		return err
	}
	res, err := s.cfg.Index.DeleteVersion(ctx, req.ns, req.bucket, req.key, versionID, cond, req.bypassGovernance)
	if err != nil {
		return err
	}
	if res.GetVersionId() != "" {
		w.Header().Set("x-amz-version-id", res.GetVersionId())
	}
	if res.GetDeleteMarker() {
		w.Header().Set("x-amz-delete-marker", "true")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
