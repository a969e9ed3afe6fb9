package native

import (
	"context"
	"net/http"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// updateBucketJSON is OCI's UpdateBucketDetails. Pointers tell a field
// left out (unchanged) from one given.
type updateBucketJSON struct {
	Namespace           *string                   `json:"namespace"`
	CompartmentID       *string                   `json:"compartmentId"`
	Name                *string                   `json:"name"`
	Metadata            *map[string]string        `json:"metadata"`
	PublicAccessType    *string                   `json:"publicAccessType"`
	ObjectEventsEnabled *bool                     `json:"objectEventsEnabled"`
	FreeformTags        *map[string]string        `json:"freeformTags"`
	DefinedTags         map[string]map[string]any `json:"definedTags"`
	KMSKeyID            *string                   `json:"kmsKeyId"`
	BucketKeyEnabled    *bool                     `json:"isBucketKeyEnabled"`
	Versioning          *string                   `json:"versioning"`
	AutoTiering         *string                   `json:"autoTiering"`
	BucketScope         *string                   `json:"bucketScope"`
}

// updateBucket serves UpdateBucket: a partial update, each field given
// replacing that part of the bucket and the rest left as it is. metadata
// (the bucket's own map), freeformTags (the bucket's tag set, the one S3's
// bucket tagging reads and writes) and versioning (Enabled or Suspended,
// the state S3's PutBucketVersioning sets) are applied together in one
// meta command, all or none. A field that would change what Cairn does not
// have (another compartment or name, public access, events, Vault keys,
// defined tags, auto-tiering) is refused with NotImplemented before
// anything changes; the same value the bucket has is accepted.
func (s *Server) updateBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in updateBucketJSON
	if err := readJSON(body, &in); err != nil {
		return err
	}
	b, err := s.index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	if m := r.Header.Get("if-match"); m != "" && m != bucketETag(b) {
		return refuse(codePreconditionFailed, "The bucket's ETag does not match if-match")
	}
	if err := s.unsupportedUpdate(ctx, req, &in, b); err != nil {
		return err
	}
	var cs []*cairnpb.BucketConfig
	if in.Metadata != nil {
		cs = append(cs, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Metadata{
			Metadata: &cairnpb.BucketMetadataConfig{Metadata: *in.Metadata}}})
	}
	if in.FreeformTags != nil {
		cs = append(cs, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Tags{
			Tags: &cairnpb.BucketTagsConfig{Tags: *in.FreeformTags}}})
	}
	if v := in.Versioning; v != nil {
		switch {
		case *v == "Enabled" || *v == "Suspended":
			cs = append(cs, &cairnpb.BucketConfig{Kind: &cairnpb.BucketConfig_Versioning{
				Versioning: &cairnpb.BucketVersioningConfig{Status: *v}}})
		case *v == "Disabled" && b.GetVersioning() == "":
		case *v == "Disabled":
			return refuse(codeInvalidParameter, "Versioning cannot be disabled once it was enabled; suspend it")
		default:
			return refuse(codeInvalidParameter, "versioning must be Enabled or Suspended")
		}
	}
	if len(cs) > 0 {
		if err := s.index.SetBucketConfig(ctx, req.ns, req.bucket, cs...); err != nil {
			return err
		}
		if b, err = s.index.GetBucket(ctx, req.ns, req.bucket); err != nil {
			return err
		}
	}
	w.Header().Set("ETag", bucketETag(b))
	return writeJSON(w, http.StatusOK, s.bucketJSON(ctx, req, b))
}

// unsupportedUpdate refuses, with NotImplemented, an UpdateBucket field
// asking for a change Cairn cannot make.
func (s *Server) unsupportedUpdate(ctx context.Context, req *request, in *updateBucketJSON, b *cairnpb.Bucket) error {
	comp := b.GetCompartment()
	if comp == "" {
		comp = policy.RootCompartment
	}
	if in.CompartmentID != nil {
		// Any compartment but the bucket's own, known or not, asks for a
		// move, which is not served.
		if to, err := s.compartmentOf(ctx, req, *in.CompartmentID); err != nil || to != comp {
			return refuse(codeNotImplemented, "Moving a bucket to another compartment is not implemented")
		}
	}
	switch {
	case in.Namespace != nil && *in.Namespace != req.ns:
		return refuse(codeInvalidParameter, "The namespace in the body is not the request's")
	case in.Name != nil && *in.Name != req.bucket:
		return refuse(codeNotImplemented, "Renaming a bucket is not implemented")
	case in.PublicAccessType != nil && *in.PublicAccessType != "NoPublicAccess":
		return refuse(codeNotImplemented, "Public buckets are not implemented")
	case in.ObjectEventsEnabled != nil && *in.ObjectEventsEnabled:
		return refuse(codeNotImplemented, "Object events are not implemented")
	case len(in.DefinedTags) > 0:
		return refuse(codeNotImplemented, "Defined tags are not implemented")
	case in.KMSKeyID != nil && *in.KMSKeyID != "":
		return refuse(codeNotImplemented, "Vault keys are not implemented; data is always encrypted under the cluster's master key")
	case in.BucketKeyEnabled != nil && *in.BucketKeyEnabled:
		return refuse(codeNotImplemented, "Bucket keys are not implemented")
	case in.AutoTiering != nil && *in.AutoTiering != "Disabled":
		return refuse(codeNotImplemented, "Auto-tiering is not implemented")
	case in.BucketScope != nil && *in.BucketScope != "Region":
		return refuse(codeNotImplemented, "Bucket scopes other than Region are not implemented")
	}
	return nil
}
