package native

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
)

// maxJSONBody bounds the JSON bodies of bucket requests.
const maxJSONBody = 64 << 10

// timeFormat is how OCI writes times in JSON: RFC 3339, milliseconds, UTC.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func jsonTime(unixNano int64) string { return time.Unix(0, unixNano).UTC().Format(timeFormat) }

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// readJSON decodes a signed JSON body into v (its x-content-sha256 was
// checked by readBody).
func readJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return refuse(codeInvalidParameter, "The request body is not valid JSON: %v", err)
	}
	return nil
}

// readBody reads a request body of at most limit bytes and, when
// x-content-sha256 is signed, checks it.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, refuse(codeEntityTooLarge, "The request body is larger than %d bytes", limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, refuse(codeInvalidParameter, "Could not read the request body")
	}
	if int64(len(body)) > limit {
		return nil, refuse(codeEntityTooLarge, "The request body is larger than %d bytes", limit)
	}
	if err := checkSHA256(r, sha256Of(body)); err != nil {
		return nil, err
	}
	return body, nil
}

func (s *Server) getNamespace(_ context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	return writeJSON(w, http.StatusOK, req.who.ns)
}

// bucketJSON is OCI's Bucket.
type bucketJSON struct {
	Namespace           string            `json:"namespace"`
	Name                string            `json:"name"`
	CompartmentID       string            `json:"compartmentId"`
	Metadata            map[string]string `json:"metadata"`
	CreatedBy           string            `json:"createdBy,omitempty"`
	TimeCreated         string            `json:"timeCreated"`
	ETag                string            `json:"etag"`
	PublicAccessType    string            `json:"publicAccessType"`
	StorageTier         string            `json:"storageTier"`
	ObjectEventsEnabled bool              `json:"objectEventsEnabled"`
	Versioning          string            `json:"versioning"`
	ID                  string            `json:"id"`
	FreeformTags        map[string]string `json:"freeformTags"`
}

// bucketSummaryJSON is OCI's BucketSummary.
type bucketSummaryJSON struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	CompartmentID string `json:"compartmentId"`
	TimeCreated   string `json:"timeCreated"`
	ETag          string `json:"etag"`
}

func bucketETag(b *cairnpb.Bucket) string { return hex.EncodeToString(b.GetId()) }

func (s *Server) bucketJSON(ctx context.Context, req *request, b *cairnpb.Bucket) bucketJSON {
	versioning := b.GetVersioning()
	if versioning == "" {
		versioning = "Disabled"
	}
	tags, md := b.GetTags(), b.GetMetadata()
	if tags == nil {
		tags = map[string]string{}
	}
	if md == nil {
		md = map[string]string{}
	}
	return bucketJSON{
		Namespace: b.GetNamespace(), Name: b.GetName(), CompartmentID: s.compartmentID(ctx, req, b.GetCompartment()),
		Metadata: md, TimeCreated: jsonTime(b.GetCreatedUnixNano()), ETag: bucketETag(b),
		PublicAccessType: "NoPublicAccess", StorageTier: "Standard", Versioning: versioning,
		ID: "ocid1.bucket.oc1." + s.cfg.Region + ".." + hex.EncodeToString(b.GetId()), FreeformTags: tags,
	}
}

func (s *Server) createBucket(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in struct {
		Name          string            `json:"name"`
		CompartmentID string            `json:"compartmentId"`
		Metadata      map[string]string `json:"metadata"`
		Versioning    string            `json:"versioning"`
		StorageTier   string            `json:"storageTier"`
		PublicAccess  string            `json:"publicAccessType"`
		KMSKeyID      string            `json:"kmsKeyId"`
	}
	if err := readJSON(body, &in); err != nil {
		return err
	}
	switch {
	case in.Name == "":
		return refuse(codeMissingParameter, "The bucket name (name) is required")
	case !model.ValidBucketName(in.Name):
		return refuse(codeInvalidParameter, "Bucket names are 1 to 256 letters, digits, dashes, underscores and periods")
	case in.CompartmentID == "":
		return refuse(codeMissingParameter, "The compartment (compartmentId) is required")
	case in.StorageTier != "" && in.StorageTier != "Standard":
		return refuse(codeNotImplemented, "Storage tier %q is not implemented; only Standard is", in.StorageTier)
	case in.PublicAccess != "" && in.PublicAccess != "NoPublicAccess":
		return refuse(codeNotImplemented, "Public buckets are not implemented")
	case in.KMSKeyID != "":
		return refuse(codeNotImplemented, "Vault keys are not implemented; data is always encrypted under the cluster's master key")
	case in.Versioning != "" && in.Versioning != "Disabled":
		return refuse(codeNotImplemented, "Versioning at creation is not implemented in the native API yet")
	case len(in.Metadata) > 0:
		return refuse(codeNotImplemented, "Bucket metadata is not implemented")
	}
	req.bucket = in.Name
	comp, err := s.compartmentOf(ctx, req, in.CompartmentID)
	if err != nil {
		return err
	}
	ok, err := req.who.authz.Allowed(policy.BucketCreate, policy.Target{Bucket: in.Name,
		CompartmentOf: func() (string, error) { return comp, nil }})
	if err != nil {
		return err
	}
	if !ok {
		return denied(req, "BUCKET_CREATE")
	}
	b, err := s.index.CreateBucket(ctx, req.ns, in.Name, comp, false)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", bucketETag(b))
	w.Header().Set("Location", "/n/"+req.ns+"/b/"+b.GetName()+"/")
	return writeJSON(w, http.StatusOK, s.bucketJSON(ctx, req, b))
}

func (s *Server) getBucket(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	b, err := s.index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", bucketETag(b))
	return writeJSON(w, http.StatusOK, s.bucketJSON(ctx, req, b))
}

func (s *Server) headBucket(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	b, err := s.index.GetBucket(ctx, req.ns, req.bucket)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", bucketETag(b))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	if err := s.index.DeleteBucket(ctx, req.ns, req.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listBuckets serves ListBuckets: the buckets of one compartment the
// caller may inspect, by name, paged by name (page is the last name of
// the previous page).
func (s *Server) listBuckets(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	q := req.query
	cid := q.Get("compartmentId")
	if cid == "" {
		return refuse(codeMissingParameter, "The compartmentId query parameter is required")
	}
	limit, err := limitOf(q.Get("limit"))
	if err != nil {
		return err
	}
	if f := q.Get("fields"); f != "" && f != "tags" {
		return refuse(codeInvalidParameter, "fields may only be tags")
	}
	comp, err := s.compartmentOf(ctx, req, cid)
	if err != nil {
		return err
	}
	all, err := s.index.ListBuckets(ctx, req.ns)
	if err != nil {
		return err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].GetName() < all[j].GetName() })
	page := q.Get("page")
	out := []bucketSummaryJSON{}
	for _, b := range all {
		bc := b.GetCompartment()
		if bc == "" {
			bc = policy.RootCompartment
		}
		if bc != comp || (page != "" && b.GetName() <= page) {
			continue
		}
		ok, err := req.who.authz.Allowed(policy.BucketInspect, policy.Target{Bucket: b.GetName(),
			CompartmentOf: func() (string, error) { return b.GetCompartment(), nil }})
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if len(out) == limit {
			w.Header().Set("opc-next-page", out[len(out)-1].Name)
			break
		}
		out = append(out, bucketSummaryJSON{Namespace: b.GetNamespace(), Name: b.GetName(),
			CompartmentID: s.compartmentID(ctx, req, b.GetCompartment()), TimeCreated: jsonTime(b.GetCreatedUnixNano()), ETag: bucketETag(b)})
	}
	if len(out) == 0 && !req.who.authz.AllowedSomewhere(policy.BucketInspect) {
		return denied(req, "BUCKET_INSPECT")
	}
	return writeJSON(w, http.StatusOK, out)
}

// limitOf parses a limit parameter: 1 to 1000, 1000 when absent.
func limitOf(v string) (int, error) {
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, refuse(codeInvalidParameter, "limit must be a number from 1 to 1000")
	}
	return n, nil
}
