package native

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Pre-authenticated requests (PARs): bearer links to one object, or to a
// bucket's objects under a prefix. The gateway draws each PAR's token
// (256 random bits) and shows it once, in the create response; meta
// keeps only its SHA-256, which is how a use finds the PAR. Every use is
// authorized as the PAR's creator, with the creator's policies as they
// stand at that moment, and only within the PAR's scope.

// PARIndex is how the native front end keeps PARs in meta.
type PARIndex interface {
	CreatePAR(ctx context.Context, p *cairnpb.PAR) (*cairnpb.PAR, error)
	GetPAR(ctx context.Context, ns, bucket, id string) (*cairnpb.PAR, error)
	ListPARs(ctx context.Context, ns, bucket, prefix string) ([]*cairnpb.PAR, error)
	DeletePAR(ctx context.Context, ns, bucket, id string) error
	// LookupPAR finds a PAR by its token's hash, with its creator's
	// current authorization; an unknown hash is rpcerr.ErrPARNotFound.
	LookupPAR(ctx context.Context, hash []byte) (*cairnpb.LookupPARResponse, error)
}

// parTokenBytes is a token's randomness: 256 bits.
const parTokenBytes = 32

// accessType is what one of OCI's PAR access types allows.
type accessType struct {
	read, write bool
	// any: the PAR covers the bucket's objects under its prefix rather
	// than one object.
	any bool
}

// accessTypes is the one table of OCI's PAR access types.
func accessTypes() map[string]accessType {
	return map[string]accessType{
		"ObjectRead":         {read: true},
		"ObjectWrite":        {write: true},
		"ObjectReadWrite":    {read: true, write: true},
		"AnyObjectRead":      {read: true, any: true},
		"AnyObjectWrite":     {write: true, any: true},
		"AnyObjectReadWrite": {read: true, write: true, any: true},
	}
}

// OCI's bucketListingAction values.
const (
	listingDeny = "Deny"
	listingList = "ListObjects"
)

// parAllows reports whether a PAR of access type t and listing action
// serves operation o: the one list of what a PAR serves.
func parAllows(t accessType, listing string, o op) bool {
	switch o {
	case opGetObject, opHeadObject:
		return t.read
	case opPutObject, opPARCreateUpload, opUploadPart, opPARCommitUpload, opAbortMultipartUpload:
		return t.write
	case opListObjects:
		return t.any && t.read && listing == listingList
	}
	return false
}

// hashToken is how a token is kept and found: its SHA-256.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newPARSecret draws a PAR's ID and its token.
func newPARSecret() (id, token string, err error) {
	b := make([]byte, parTokenBytes+18)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("native: draw PAR token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(b[parTokenBytes:]), enc.EncodeToString(b[:parTokenBytes]), nil
}

// parPath is a parsed PAR use: /p/{token}/n/{ns}/b/{bucket}/o/{object},
// or one of a multipart upload made through it,
// /p/{token}/n/{ns}/b/{bucket}/u/{object}/id/{uploadId}/[{partNum}].
type parPath struct {
	token string
	req   *request
}

// isPARShape reports whether path has the shape of a PAR use:
// /p/{token}/n/{ns}/b/{bucket}/o, with or without an object, or an
// upload's /p/{token}/n/{ns}/b/{bucket}/u/{object}/id/{uploadId}/ with
// or without a part number after it. The one rule routing and parsing
// share.
func isPARShape(escapedPath string) bool {
	segs := strings.SplitN(escapedPath, "/", 9) // "", p, token, n, ns, b, bucket, o or u, rest
	if len(segs) < 8 || segs[0] != "" || segs[1] != "p" || segs[2] == "" ||
		segs[3] != "n" || segs[4] == "" || segs[5] != "b" || segs[6] == "" {
		return false
	}
	switch segs[7] {
	case "o":
		return true
	case "u":
		if len(segs) < 9 {
			return false
		}
		_, _, _, ok := splitUploadPath(segs[8])
		return ok
	}
	return false
}

// maxPartDigits bounds a part number in an upload's path (10000).
const maxPartDigits = 5

// splitUploadPath splits what follows /u/ in a PAR's upload path,
// {object}/id/{uploadId}/[{partNum}] (escaped), from the end: the object
// may hold slashes and even "/id/", the upload ID and the part number do
// not. part is "" for the upload itself (commit, abort). Every piece
// stays escaped.
func splitUploadPath(rest string) (object, uploadID, part string, ok bool) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", "", false
	}
	rest, part = rest[:i], rest[i+1:]
	if len(part) > maxPartDigits || strings.Trim(part, "0123456789") != "" {
		return "", "", "", false
	}
	i = strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", "", false
	}
	rest, uploadID = rest[:i], rest[i+1:]
	object, found := strings.CutSuffix(rest, "/id")
	if !found || object == "" || uploadID == "" {
		return "", "", "", false
	}
	return object, uploadID, part, true
}

// redactToken hides a PAR's token in a path that is logged: the token is
// a secret shown only in the create response.
func redactToken(path string) string {
	rest, ok := strings.CutPrefix(path, "/p/")
	if !ok {
		return path
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return "/p/<token>" + rest[i:]
	}
	return "/p/<token>"
}

// parsePAR parses a PAR use: the token, then the rest as a native object
// request, or as one of an upload made through the PAR. What is not a
// PAR shape, or an operation no PAR serves, is refused as not found.
func parsePAR(r *http.Request) (*parPath, error) {
	path := r.URL.EscapedPath()
	if !isPARShape(path) {
		return nil, refuse(codeNotAuthorized, "The pre-authenticated request does not exist or does not allow this")
	}
	rest := strings.TrimPrefix(path, "/p/")
	i := strings.IndexByte(rest, '/')
	token, err := unescapePath(rest[:i])
	if err != nil {
		return nil, err
	}
	var req *request
	if segs := strings.SplitN(rest[i:], "/", 7); segs[5] == "u" { // "", n, ns, b, bucket, u, rest
		req, err = parsePARUpload(r, segs)
	} else {
		req, err = parsePath(r, rest[i:])
	}
	if err != nil {
		return nil, err
	}
	if req.op == opPutObject && strings.EqualFold(r.Header.Get(multipartHeader), "true") {
		req.op = opPARCreateUpload
	}
	return &parPath{token: token, req: req}, nil
}

// multipartHeader on a PUT through a PAR asks for a multipart upload of
// the object instead of writing it.
const multipartHeader = "opc-multipart"

// parsePARUpload parses an upload's PAR path (segs: "", n, ns, b, bucket,
// u, the rest): PUT of a part, POST to commit every part uploaded,
// DELETE to abort.
func parsePARUpload(r *http.Request, segs []string) (*request, error) {
	object, uploadID, part, _ := splitUploadPath(segs[6]) // isPARShape checked it
	req := &request{query: r.URL.Query()}
	for _, f := range []struct {
		to   *string
		from string
	}{{&req.ns, segs[2]}, {&req.bucket, segs[4]}, {&req.object, object}, {&req.uploadID, uploadID}} {
		v, err := unescapePath(f.from)
		if err != nil {
			return nil, err
		}
		*f.to = v
	}
	switch {
	case r.Method == http.MethodPut && part != "":
		req.op = opUploadPart
		req.query.Set("uploadPartNum", part) // the path's, whatever the query says
	case r.Method == http.MethodPost && part == "":
		req.op = opPARCommitUpload
	case r.Method == http.MethodDelete && part == "":
		req.op = opAbortMultipartUpload
	}
	return req, nil
}

// inScope reports whether a PAR reaches the request's namespace, bucket
// and object (or, for a listing, the prefix it asks for).
func inScope(p *cairnpb.PAR, t accessType, req *request) bool {
	if req.ns != p.GetNamespace() || req.bucket != p.GetBucket() {
		return false
	}
	if req.op == opListObjects {
		return strings.HasPrefix(req.query.Get("prefix"), p.GetObjectName())
	}
	if t.any {
		return strings.HasPrefix(req.object, p.GetObjectName())
	}
	return req.object == p.GetObjectName()
}

// errPARRefused: a PAR use that is not allowed, for logs.
var errPARRefused = errors.New("pre-authenticated request refused")

// parRefused is the answer to every refused PAR use, whatever the reason
// (unknown, deleted, expired, out of scope, creator no longer allowed):
// OCI's not-authorized-or-not-found, so that a link tells nothing.
func parRefused(why string) error {
	return &Error{Code: codeNotAuthorized, Message: "The pre-authenticated request does not exist, has expired, or does not allow this request",
		Err: fmt.Errorf("native: %s: %w", why, errPARRefused)}
}

// servePAR serves a request made through a PAR: no credentials, the
// token in the path.
func (s *Server) servePAR(ctx context.Context, w http.ResponseWriter, r *http.Request, pp *parPath) error {
	req := pp.req
	row, ok := s.ops[req.op]
	if !ok {
		return parRefused("an operation no PAR serves")
	}
	found, err := s.index.LookupPAR(ctx, hashToken(pp.token))
	switch {
	case errors.Is(err, rpcerr.ErrPARNotFound), errors.Is(err, rpcerr.ErrUserNotFound),
		errors.Is(err, rpcerr.ErrBucketNotFound), errors.Is(err, rpcerr.ErrInvalidArgument):
		return parRefused("no such PAR")
	case err != nil:
		return err
	}
	p := found.GetPar()
	t, known := accessTypes()[p.GetAccessType()]
	switch {
	case !known:
		return parRefused("unknown access type")
	case !s.now().Before(time.Unix(0, p.GetExpiresUnixNano())):
		return parRefused("expired")
	}
	if req.op == opListObjects && req.query.Get("prefix") == "" {
		req.query.Set("prefix", p.GetObjectName()) // a listing defaults to the PAR's prefix
	}
	if !parAllows(t, p.GetBucketListingAction(), req.op) {
		return parRefused("the access type does not allow " + row.name)
	}
	if !inScope(p, t, req) {
		return parRefused("out of scope")
	}
	// As the creator, with the creator's rights now.
	req.who = &principal{ns: p.GetNamespace(), user: p.GetCreator(),
		authz:         authorizerOf(found.GetStatements(), found.GetGroups(), found.GetCompartments()),
		s3Compartment: found.GetS3Compartment()}
	if err := s.authorize(ctx, req, row); err != nil {
		return parRefused("the creator may no longer: " + err.Error())
	}
	if err := s.customerKeyAllowed(r, row); err != nil {
		return err
	}
	req.parToken = pp.token
	err = row.handler(s, ctx, w, r, req)
	if errors.Is(err, rpcerr.ErrUploadNotFound) {
		// An upload ID of another object or bucket, or none at all.
		return parRefused("no such upload of the object")
	}
	return err
}

// parJSON is OCI's PreauthenticatedRequest (accessUri and fullPath only
// when made) and PreauthenticatedRequestSummary.
type parJSON struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	AccessURI           string  `json:"accessUri,omitempty"`
	FullPath            string  `json:"fullPath,omitempty"`
	ObjectName          *string `json:"objectName,omitempty"`
	BucketListingAction string  `json:"bucketListingAction,omitempty"`
	AccessType          string  `json:"accessType"`
	TimeExpires         string  `json:"timeExpires"`
	TimeCreated         string  `json:"timeCreated"`
}

func parJSONOf(p *cairnpb.PAR) parJSON {
	out := parJSON{ID: p.GetId(), Name: p.GetName(), AccessType: p.GetAccessType(),
		BucketListingAction: p.GetBucketListingAction(),
		TimeExpires:         jsonTime(p.GetExpiresUnixNano()), TimeCreated: jsonTime(p.GetCreatedUnixNano())}
	if p.GetObjectName() != "" {
		name := p.GetObjectName()
		out.ObjectName = &name
	}
	return out
}

// accessURI is where a PAR is used, relative to the endpoint.
func accessURI(token string, p *cairnpb.PAR, t accessType) string {
	u := "/p/" + token + "/n/" + url.PathEscape(p.GetNamespace()) + "/b/" + url.PathEscape(p.GetBucket()) + "/o/"
	if !t.any {
		u += url.PathEscape(p.GetObjectName())
	}
	return u
}

func (s *Server) createPAR(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r, maxJSONBody)
	if err != nil {
		return err
	}
	var in struct {
		Name                string  `json:"name"`
		ObjectName          *string `json:"objectName"`
		AccessType          string  `json:"accessType"`
		BucketListingAction string  `json:"bucketListingAction"`
		TimeExpires         string  `json:"timeExpires"`
	}
	if err := readJSON(body, &in); err != nil {
		return err
	}
	t, known := accessTypes()[in.AccessType]
	objectName := ""
	if in.ObjectName != nil {
		objectName = *in.ObjectName
	}
	expires, timeErr := time.Parse(time.RFC3339Nano, in.TimeExpires)
	switch {
	case in.Name == "" || len(in.Name) > maxObjectName:
		return refuse(codeInvalidParameter, "The name must be 1 to %d bytes", maxObjectName)
	case !known:
		return refuse(codeInvalidParameter, "The accessType %q is not one of ObjectRead, ObjectWrite, ObjectReadWrite, AnyObjectRead, AnyObjectWrite, AnyObjectReadWrite", in.AccessType)
	case !t.any && objectName == "":
		return refuse(codeInvalidParameter, "The accessType %s needs an objectName", in.AccessType)
	case len(objectName) > maxObjectName:
		return refuse(codeInvalidParameter, "The objectName is longer than %d bytes", maxObjectName)
	case in.BucketListingAction != "" && in.BucketListingAction != listingDeny && in.BucketListingAction != listingList:
		return refuse(codeInvalidParameter, "The bucketListingAction must be Deny or ListObjects")
	case in.BucketListingAction == listingList && (!t.any || !t.read):
		return refuse(codeInvalidParameter, "Listing is allowed only with AnyObjectRead or AnyObjectReadWrite")
	case timeErr != nil:
		return refuse(codeInvalidParameter, "The timeExpires is not an RFC 3339 time")
	case !expires.After(s.now()):
		return refuse(codeInvalidParameter, "The timeExpires is in the past")
	}
	if in.BucketListingAction == "" {
		in.BucketListingAction = listingDeny
	}
	// The creator must hold what the PAR grants, as each use checks again.
	if t.read {
		if err := s.require(ctx, req, policy.ObjectRead); err != nil {
			return err
		}
	}
	if in.BucketListingAction == listingList {
		if err := s.require(ctx, req, policy.ObjectInspect); err != nil {
			return err
		}
	}
	if t.write {
		if err := s.requireAny(ctx, req, policy.ObjectCreate, policy.ObjectOverwrite); err != nil {
			return err
		}
	}
	id, token, err := newPARSecret()
	if err != nil {
		return err
	}
	p, err := s.index.CreatePAR(ctx, &cairnpb.PAR{
		Id: id, Namespace: req.ns, Bucket: req.bucket, Name: in.Name, ObjectName: objectName,
		AccessType: in.AccessType, BucketListingAction: in.BucketListingAction,
		ExpiresUnixNano: expires.UnixNano(), Creator: req.who.user, TokenHash: hashToken(token),
	})
	if err != nil {
		return err
	}
	out := parJSONOf(p)
	out.AccessURI = accessURI(token, p, t)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out.FullPath = scheme + "://" + r.Host + out.AccessURI
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPAR(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	p, err := s.index.GetPAR(ctx, req.ns, req.bucket, req.parID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, parJSONOf(p))
}

func (s *Server) listPARs(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	limit, err := limitOf(req.query.Get("limit"))
	if err != nil {
		return err
	}
	pars, err := s.index.ListPARs(ctx, req.ns, req.bucket, req.query.Get("objectNamePrefix"))
	if err != nil {
		return err
	}
	start := 0
	if page := req.query.Get("page"); page != "" {
		for start < len(pars) && pars[start].GetId() < page {
			start++
		}
	}
	out := []parJSON{}
	for i := start; i < len(pars); i++ {
		if len(out) == limit {
			w.Header().Set("opc-next-page", pars[i].GetId())
			break
		}
		out = append(out, parJSONOf(pars[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deletePAR(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	if err := s.index.DeletePAR(ctx, req.ns, req.bucket, req.parID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
