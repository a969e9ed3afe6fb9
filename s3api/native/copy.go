package native

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
	"github.com/cairn-store/cairn/s3api/checksum"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// CopyObject copies an object's data, within the region, to a bucket of
// the caller's namespace, and answers 202 with a work request
// (workrequest.go). The copy runs inside the POST: the data streams
// through the object model (model.Store.Copy) into a new version of the
// destination, and the work request is recorded in meta once the copy is
// over, COMPLETED or FAILED, so that any gateway shows it and none leaves
// one IN_PROGRESS behind.
//
// What is wrong with the request itself (its JSON, the region, the
// namespace, the caller's permissions, a missing source or destination
// bucket, a missing source, the SSE-C keys) is answered at once, as an
// error, and nothing is recorded. What the copy finds when it runs (a
// source or destination ETag condition that does not hold) fails the
// work request, with the error in its errors, as OCI, whose copies run
// after the POST, reports them.

// copyJSON is OCI's CopyObjectDetails.
type copyJSON struct {
	SourceObjectName                 string            `json:"sourceObjectName"`
	SourceObjectIfMatchETag          string            `json:"sourceObjectIfMatchETag"`
	SourceVersionID                  string            `json:"sourceVersionId"`
	DestinationRegion                string            `json:"destinationRegion"`
	DestinationNamespace             string            `json:"destinationNamespace"`
	DestinationBucket                string            `json:"destinationBucket"`
	DestinationObjectName            string            `json:"destinationObjectName"`
	DestinationObjectIfMatchETag     string            `json:"destinationObjectIfMatchETag"`
	DestinationObjectIfNoneMatchETag string            `json:"destinationObjectIfNoneMatchETag"`
	DestinationObjectMetadata        map[string]string `json:"destinationObjectMetadata"`
	DestinationObjectStorageTier     string            `json:"destinationObjectStorageTier"`
}

// copyPlan is a checked CopyObjectDetails.
type copyPlan struct {
	source    string
	versionID string
	// srcCond is sourceObjectIfMatchETag; dstCond the destination's
	// if-match or if-none-match (nil: none).
	srcCond *cairnpb.WriteCondition
	dstCond *cairnpb.WriteCondition
	// dstNS is the destination namespace (the caller's when not given).
	dstNS, dstBucket, dstObject string
	// metadata replaces the source's user metadata; nil copies it.
	metadata map[string]string
}

// sameRegion reports whether a destinationRegion names the region this
// gateway serves: the same name (in any case), or none.
func sameRegion(dest, served string) bool {
	return dest == "" || strings.EqualFold(dest, served)
}

// parseCopy checks a CopyObjectDetails for a gateway serving region, on
// behalf of a caller of namespace ns.
func parseCopy(in *copyJSON, region, ns string) (*copyPlan, error) {
	switch {
	case in.SourceObjectName == "" || in.DestinationBucket == "" || in.DestinationObjectName == "":
		return nil, refuse(codeMissingParameter, "sourceObjectName, destinationBucket and destinationObjectName are required")
	case len(in.SourceObjectName) > maxObjectName || len(in.DestinationObjectName) > maxObjectName:
		return nil, refuse(codeInvalidParameter, "Object names are at most %d bytes", maxObjectName)
	case !sameRegion(in.DestinationRegion, region):
		return nil, refuse(codeInvalidParameter, "destinationRegion %q is not this region (%s): copies to another region are not served", in.DestinationRegion, region)
	case in.DestinationObjectStorageTier != "" && in.DestinationObjectStorageTier != "Standard":
		return nil, refuse(codeNotImplemented, "Storage tiers other than Standard are not implemented")
	case in.DestinationObjectIfMatchETag != "" && in.DestinationObjectIfNoneMatchETag != "":
		return nil, refuse(codeInvalidParameter, "destinationObjectIfMatchETag and destinationObjectIfNoneMatchETag cannot both be set")
	case in.DestinationObjectIfNoneMatchETag != "" && model.NormalizeETag(in.DestinationObjectIfNoneMatchETag) != "*":
		return nil, refuse(codeInvalidParameter, "destinationObjectIfNoneMatchETag takes only *")
	}
	p := &copyPlan{
		source: in.SourceObjectName, versionID: in.SourceVersionID,
		srcCond:   matchCondition(in.SourceObjectIfMatchETag),
		dstNS:     in.DestinationNamespace,
		dstBucket: in.DestinationBucket, dstObject: in.DestinationObjectName,
		dstCond: matchCondition(in.DestinationObjectIfMatchETag),
	}
	if c := noneMatchCondition(in.DestinationObjectIfNoneMatchETag); c != nil {
		p.dstCond = c
	}
	if p.dstNS == "" {
		p.dstNS = ns
	}
	if len(in.DestinationObjectMetadata) > 0 {
		md, err := copyMetadata(in.DestinationObjectMetadata)
		if err != nil {
			return nil, err
		}
		p.metadata = md
	}
	return p, nil
}

// copyMetadata turns destinationObjectMetadata (keys opc-meta-*, as OCI
// asks) into the object's user metadata, named as userMetadata names it.
func copyMetadata(in map[string]string) (map[string]string, error) {
	h := http.Header{}
	for k, v := range in {
		if !strings.HasPrefix(strings.ToLower(k), metaPrefix) {
			return nil, refuse(codeInvalidParameter, "destinationObjectMetadata keys must start with %s (%q does not)", metaPrefix, k)
		}
		h.Add(k, v)
	}
	return userMetadata(h)
}

// copyFailure is what fails a copy's work request rather than its POST:
// a condition the copy found not to hold.
type copyFailure struct{ msg string }

func (f *copyFailure) Error() string { return f.msg }

func (s *Server) copyObject(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	accepted := s.now()
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in copyJSON
	if err := readJSON(body, &in); err != nil {
		return err
	}
	plan, err := parseCopy(&in, s.cfg.Region, req.who.ns)
	if err != nil {
		return err
	}
	if plan.dstNS != req.who.ns {
		return refuse(codeNamespaceNotFound, "Either the namespace %q does not exist or you are not authorized to access it", plan.dstNS)
	}
	dst := &request{id: req.id, ns: plan.dstNS, bucket: plan.dstBucket, object: plan.dstObject, who: req.who}
	if err := s.requireWrite(ctx, dst); err != nil {
		return err
	}
	srcKey, err := sse.SourceKeyFromOCICopyHeaders(r.Header)
	if err != nil {
		return err
	}
	dstKey, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	srcBucket, err := s.index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if _, err := s.index.GetBucket(ctx, dst.ns, dst.bucket); err != nil {
		return err
	}
	src, err := s.copySource(ctx, req, plan)
	if err != nil {
		return err
	}
	if err := model.CheckCustomerKey(src, srcKey); err != nil {
		return err
	}
	if src.GetSize() > s.cfg.MaxObjectSize {
		return refuse(codeEntityTooLarge, "The source is larger than %d bytes, the most this gateway copies", s.cfg.MaxObjectSize)
	}

	wr := s.newCopyWorkRequest(req, srcBucket, plan, accepted)
	v, err := s.copyData(ctx, dst, src, plan, srcKey, dstKey)
	var failed *copyFailure
	switch {
	case errors.As(err, &failed):
		wr.Status = "FAILED"
		wr.Errors = []*cairnpb.WorkRequestError{{Code: codePreconditionFailed.Name, Message: failed.msg, UnixNano: s.now().UnixNano()}}
		wr.Logs = append(wr.Logs, &cairnpb.WorkRequestLogEntry{Message: "The copy failed: " + failed.msg, UnixNano: s.now().UnixNano()})
	case err != nil:
		return err // the copy did not happen; nothing is recorded, and the client may retry
	default:
		wr.Status, wr.PercentComplete = "COMPLETED", 100
		wr.Logs = append(wr.Logs, &cairnpb.WorkRequestLogEntry{
			Message:  fmt.Sprintf("Copied %d bytes to /n/%s/b/%s/o/%s (etag %s)", v.GetSize(), dst.ns, dst.bucket, dst.object, v.GetEtag()),
			UnixNano: s.now().UnixNano(),
		})
	}
	wr.FinishedUnixNano = max(s.now().UnixNano(), wr.GetAcceptedUnixNano())
	if err := s.index.RecordWorkRequest(ctx, wr); err != nil {
		return fmt.Errorf("native: record work request %s: %w", wr.GetId(), err)
	}
	w.Header().Set("opc-work-request-id", wr.GetId())
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// copySource returns the version plan copies: the source's current
// version, or the one sourceVersionId names (not a delete marker).
func (s *Server) copySource(ctx context.Context, req *request, plan *copyPlan) (*cairnpb.ObjectVersion, error) {
	if plan.versionID == "" {
		return s.index.GetObject(ctx, req.ns, req.bucket, plan.source)
	}
	got, err := s.index.GetObjectVersion(ctx, req.ns, req.bucket, plan.source, plan.versionID)
	if err != nil {
		return nil, err
	}
	if got.GetVersion().GetDeleteMarker() {
		return nil, refuse(codeObjectNotFound, "The version %q of %q is a delete marker", plan.versionID, plan.source)
	}
	return got.GetVersion(), nil
}

// copyData checks the copy's conditions, streams src into new data and
// commits it as dst's new version. A condition that does not hold is a
// *copyFailure; every other error is the POST's.
func (s *Server) copyData(ctx context.Context, dst *request, src *cairnpb.ObjectVersion, plan *copyPlan, srcKey, dstKey *sse.CustomerKey) (*cairnpb.ObjectVersion, error) {
	if plan.srcCond.Against(src) != cairnpb.ConditionHolds {
		return nil, &copyFailure{msg: fmt.Sprintf("The source object's ETag (%s) does not match sourceObjectIfMatchETag", src.GetEtag())}
	}
	// Refuse a doomed copy before moving its data; the commit decides
	// again, against the version current then.
	if plan.dstCond != nil {
		cur, err := s.index.GetObject(ctx, dst.ns, dst.bucket, dst.object)
		if errors.Is(err, rpcerr.ErrObjectNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		if plan.dstCond.Against(cur) != cairnpb.ConditionHolds {
			return nil, destinationFailure(plan.dstCond)
		}
	}
	algs := slices.Sorted(maps.Keys(src.GetChecksums()))
	sums, err := checksum.NewSet(algs...)
	if err != nil {
		return nil, err
	}
	v, err := s.store.Copy(ctx, src, sums, srcKey, dstKey)
	if err != nil {
		return nil, err
	}
	v.Key = dst.object
	v.Etag = model.DataETag(v.GetEncryption(), dstKey, sums.MD5())
	v.ContentType = src.GetContentType()
	v.Headers = maps.Clone(src.GetHeaders())
	v.UserMetadata = maps.Clone(src.GetUserMetadata())
	if plan.metadata != nil {
		v.UserMetadata = plan.metadata
	}
	v.Tags = maps.Clone(src.GetTags())
	v.Checksums = map[string]string{}
	for _, alg := range sums.Algorithms() {
		v.Checksums[alg] = sums.Base64(alg)
	}
	_, err = s.index.CommitVersion(ctx, dst.ns, dst.bucket, v, plan.dstCond)
	switch {
	case errors.Is(err, rpcerr.ErrPreconditionFailed),
		errors.Is(err, rpcerr.ErrObjectNotFound) && plan.dstCond != nil:
		return nil, destinationFailure(plan.dstCond) // its shards are orphans meta reclaims
	case err != nil:
		return nil, err
	}
	return v, nil
}

func destinationFailure(c *cairnpb.WriteCondition) *copyFailure {
	if c.GetIfNoneMatch() {
		return &copyFailure{msg: "The destination object exists and destinationObjectIfNoneMatchETag is *"}
	}
	return &copyFailure{msg: "The destination object's ETag does not match destinationObjectIfMatchETag"}
}

// newCopyWorkRequest is the work request of a copy, before its outcome:
// in the source bucket's compartment, naming what it reads and writes.
func (s *Server) newCopyWorkRequest(req *request, srcBucket *cairnpb.Bucket, plan *copyPlan, accepted time.Time) *cairnpb.WorkRequest {
	resource := func(action, ns, bucket, object string) *cairnpb.WorkRequestResource {
		return &cairnpb.WorkRequestResource{
			ActionType: action, EntityType: "object",
			EntityUri: "/n/" + url.PathEscape(ns) + "/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(object),
			Metadata:  map[string]string{"NAMESPACE": ns, "BUCKET": bucket, "OBJECT": object, "REGION": s.cfg.Region},
		}
	}
	compartment := srcBucket.GetCompartment()
	if compartment == "" {
		compartment = policy.RootCompartment
	}
	return &cairnpb.WorkRequest{
		Id: newWorkRequestID(s.cfg.Region), Namespace: req.who.ns, OperationType: "COPY_OBJECT",
		Compartment: compartment, Bucket: req.bucket, Creator: req.who.user,
		AcceptedUnixNano: accepted.UnixNano(), StartedUnixNano: accepted.UnixNano(),
		Resources: []*cairnpb.WorkRequestResource{
			resource("READ", req.ns, req.bucket, plan.source),
			resource("WRITTEN", plan.dstNS, plan.dstBucket, plan.dstObject),
		},
	}
}
