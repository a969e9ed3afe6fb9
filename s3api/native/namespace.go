package native

import (
	"context"
	"net/http"

	"github.com/cairn-store/cairn/meta/policy"
)

// namespaceMetadataJSON is OCI's NamespaceMetadata: where buckets made
// through the S3 (and Swift) APIs go, by compartment OCID.
type namespaceMetadataJSON struct {
	Namespace                 string `json:"namespace"`
	DefaultS3CompartmentID    string `json:"defaultS3CompartmentId"`
	DefaultSwiftCompartmentID string `json:"defaultSwiftCompartmentId"`
}

// namespaceMetadata answers for the caller's namespace as the caller's
// principal knows it (at most the key cache's window old, or fresh after
// the caller's own update). Cairn serves no Swift API: its compartment is
// the root, OCI's default.
func (s *Server) namespaceMetadata(ctx context.Context, req *request) namespaceMetadataJSON {
	return namespaceMetadataJSON{
		Namespace:                 req.who.ns,
		DefaultS3CompartmentID:    s.compartmentID(ctx, req, req.who.s3Compartment),
		DefaultSwiftCompartmentID: req.who.tenancyOCID,
	}
}

// getNamespaceMetadata serves GetNamespaceMetadata (GET /n/{ns}).
func (s *Server) getNamespaceMetadata(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	return writeJSON(w, http.StatusOK, s.namespaceMetadata(ctx, req))
}

// updateNamespaceMetadata serves UpdateNamespaceMetadata (PUT /n/{ns}):
// defaultS3CompartmentId, when set, designates where S3 CreateBucket puts
// new buckets from now on (existing buckets stay where they are).
// defaultSwiftCompartmentId may only name the root.
func (s *Server) updateNamespaceMetadata(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in struct {
		S3    *string `json:"defaultS3CompartmentId"`
		Swift *string `json:"defaultSwiftCompartmentId"`
	}
	if err := readJSON(body, &in); err != nil {
		return err
	}
	if in.Swift != nil {
		c, err := s.compartmentOf(ctx, req, *in.Swift)
		if err != nil {
			return err
		}
		if c != policy.RootCompartment {
			return refuse(codeNotImplemented, "Cairn serves no Swift API; its default compartment stays the root compartment")
		}
	}
	if in.S3 != nil {
		c, err := s.compartmentOf(ctx, req, *in.S3)
		if err != nil {
			return err
		}
		if err := s.index.SetS3Compartment(ctx, req.ns, c); err != nil {
			return err
		}
		// The caller's next request sees its change; others' within the
		// key cache's window, as any change of their rights.
		s.keys.forget(req.who.keyID)
		who := *req.who // shared with concurrent requests: never written
		who.s3Compartment = c
		req.who = &who
	}
	return writeJSON(w, http.StatusOK, s.namespaceMetadata(ctx, req))
}
