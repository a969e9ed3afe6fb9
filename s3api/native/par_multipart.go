package native

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Multipart uploads through a PAR, for clients with no credentials and
// no SDK: a PUT of the PAR's object with opc-multipart: true and no body
// starts an upload and answers OCI's MultipartUpload with an accessUri,
// /p/{token}/n/{ns}/b/{bucket}/u/{object}/id/{uploadId}/; a PUT of
// {accessUri}{partNum} uploads a part (the native UploadPart), a POST of
// the accessUri commits every part uploaded, a DELETE aborts. The upload
// is the same meta record the native and S3 multipart calls keep, under
// the same part rules. The accessUri carries the PAR's own token, so the
// upload lives and dies with the PAR, and every use of it is judged as
// any use of the PAR (servePAR): scope, access type, expiry, and the
// creator's rights at that moment.

// parUploadJSON is OCI's MultipartUpload with the accessUri of the PAR
// call that made it.
type parUploadJSON struct {
	uploadJSON
	AccessURI string `json:"accessUri"`
}

// uploadAccessURI is where the parts of an upload made through the PAR
// of token go, relative to the endpoint.
func uploadAccessURI(token string, req *request, uploadID string) string {
	return "/p/" + token + "/n/" + url.PathEscape(req.ns) + "/b/" + url.PathEscape(req.bucket) +
		"/u/" + url.PathEscape(req.object) + "/id/" + url.PathEscape(uploadID) + "/"
}

// createUploadThroughPAR starts an upload of the PAR's object: the
// content headers and opc-meta-* headers of the PUT are the object's, as
// CreateMultipartUpload's JSON would give them.
func (s *Server) createUploadThroughPAR(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return refuse(codeInvalidParameter, "A PUT with %s: true starts an upload and takes no body", multipartHeader)
	}
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	cond, err := putCondition(r.Header)
	if err != nil {
		return err
	}
	ck, err := sse.CustomerKeyFromOCIHeaders(r.Header)
	if err != nil {
		return err
	}
	h := r.Header
	in := createUploadJSON{
		Object: req.object, ContentType: h.Get("Content-Type"), ContentLanguage: h.Get("Content-Language"),
		ContentEncoding: h.Get("Content-Encoding"), ContentDisposition: h.Get("Content-Disposition"),
		CacheControl: h.Get("Cache-Control"), StorageTier: h.Get("opc-storage-tier"), Metadata: map[string]string{},
	}
	for name, vals := range h {
		if strings.HasPrefix(strings.ToLower(name), metaPrefix) {
			in.Metadata[name] = strings.Join(vals, ", ")
		}
	}
	u, err := uploadOf(&in)
	if err != nil {
		return err
	}
	u.Encryption = model.UploadEncryption(ck) // as CreateMultipartUpload's
	if err := s.checkNow(ctx, req, cond); err != nil {
		return err
	}
	created, err := s.index.CreateMultipartUpload(ctx, req.ns, req.bucket, u)
	if err != nil {
		return err
	}
	created.Key = u.GetKey()
	sse.SetOCIResponseHeaders(w.Header(), ck)
	return writeJSON(w, http.StatusOK, parUploadJSON{
		uploadJSON: s.uploadJSON(req, created),
		AccessURI:  uploadAccessURI(req.parToken, req, created.GetUploadId()),
	})
}

// commitUploadThroughPAR commits every part uploaded, in part order:
// OCI's PAR commit names no parts. The part rules are the commit's
// (every part but the last at least 5 MiB).
func (s *Server) commitUploadThroughPAR(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	if err := refuseHeaders(r.Header, "opc-sse-kms-key-id"); err != nil {
		return err
	}
	cond, err := putCondition(r.Header)
	if err != nil {
		return err
	}
	var parts []*cairnpb.CompletedPart
	marker := int32(0)
	for {
		res, err := s.index.ListParts(ctx, &cairnpb.ListPartsRequest{
			Namespace: req.ns, Bucket: req.bucket, Key: req.object, UploadId: req.uploadID, PartNumberMarker: marker,
		})
		if err != nil {
			return err
		}
		for _, p := range res.GetParts() {
			parts = append(parts, &cairnpb.CompletedPart{Number: p.GetNumber(), Etag: p.GetEtag()})
		}
		if !res.GetIsTruncated() {
			break
		}
		if res.GetNextPartNumberMarker() <= marker {
			return fmt.Errorf("native: list parts of upload %q: the page marker did not advance from %d", req.uploadID, marker)
		}
		marker = res.GetNextPartNumberMarker()
	}
	if len(parts) == 0 {
		return refuse(codeInvalidParameter, "The upload has no parts to commit")
	}
	return s.completeUpload(ctx, w, req, parts, cond)
}
