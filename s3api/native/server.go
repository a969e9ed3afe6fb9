package native

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/s3api/model"
	"github.com/cairn-store/cairn/s3api/sse"
)

// Index is what the native front end needs from the meta group: the
// buckets and versions requests act on, and users' API keys. The S3 front
// end's index (s3api/cluster.Meta) is one.
type Index interface {
	KeyIndex
	// CreateBucket makes a bucket; objectLock gives it object lock (the
	// native API never asks for it yet).
	CreateBucket(ctx context.Context, ns, name, compartment string, objectLock bool) (*cairnpb.Bucket, error)
	DeleteBucket(ctx context.Context, ns, name string) error
	GetBucket(ctx context.Context, ns, name string) (*cairnpb.Bucket, error)
	ListBuckets(ctx context.Context, ns string) ([]*cairnpb.Bucket, error)
	// SetBucketConfig sets or removes bucket configurations (metadata,
	// tags, versioning: UpdateBucket), all or none.
	SetBucketConfig(ctx context.Context, ns, bucket string, cs ...*cairnpb.BucketConfig) error
	GetObject(ctx context.Context, ns, bucket, key string) (*cairnpb.ObjectVersion, error)
	ListObjects(ctx context.Context, req *cairnpb.ListObjectsRequest) (*cairnpb.ListObjectsResponse, error)
	CommitVersion(ctx context.Context, ns, bucket string, v *cairnpb.ObjectVersion, cond *cairnpb.WriteCondition) (string, error)
	// DeleteVersion deletes a key (or a version) when cond holds; the
	// native API never bypasses governance retention.
	DeleteVersion(ctx context.Context, ns, bucket, key, versionID string, cond *cairnpb.WriteCondition, bypassGovernance bool) (*cairnpb.DeleteVersionResponse, error)
	MultipartIndex
	// RenameObject moves a key's current version to newName in one meta
	// apply, when srcCond holds for the source and newCond for newName.
	RenameObject(ctx context.Context, ns, bucket, source, newName string, srcCond, newCond *cairnpb.WriteCondition) error
	// SetS3Compartment designates compartment (a name) as where S3
	// CreateBucket puts ns's new buckets.
	SetS3Compartment(ctx context.Context, ns, compartment string) error
	// GetObjectVersion returns one version of a key (CopyObject's
	// sourceVersionId); a missing one is rpcerr.ErrObjectNotFound.
	GetObjectVersion(ctx context.Context, ns, bucket, key, versionID string) (*cairnpb.GetObjectVersionResponse, error)
	PARIndex
	WorkRequestIndex
}

// MultipartIndex is the meta group's multipart uploads, the same records
// the S3 front end keeps: an upload begun through either API is finished,
// listed or aborted through the other. An upload ID that names no upload
// of the key is rpcerr.ErrUploadNotFound.
type MultipartIndex interface {
	CreateMultipartUpload(ctx context.Context, ns, bucket string, u *cairnpb.MultipartUpload) (*cairnpb.MultipartUpload, error)
	GetMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) (*cairnpb.MultipartUpload, error)
	// CommitPart records a part whose bytes are stored; a part it
	// replaces is freed.
	CommitPart(ctx context.Context, ns, bucket, key, uploadID string, p *cairnpb.UploadedPart) error
	CompleteMultipartUpload(ctx context.Context, req *cairnpb.CompleteMultipartUploadRequest) (*cairnpb.CompleteMultipartUploadResponse, error)
	AbortMultipartUpload(ctx context.Context, ns, bucket, key, uploadID string) error
	ListParts(ctx context.Context, req *cairnpb.ListPartsRequest) (*cairnpb.ListPartsResponse, error)
	ListMultipartUploads(ctx context.Context, req *cairnpb.ListMultipartUploadsRequest) (*cairnpb.ListMultipartUploadsResponse, error)
}

// Config configures the native front end.
type Config struct {
	// Region is the region served (the one in objectstorage.<region>.<domain>).
	Region string
	Index  Index
	// Objects is the object model the S3 front end writes and reads
	// through too.
	Objects *model.Store
	// MaxObjectSize bounds a single PutObject.
	MaxObjectSize int64
	// SSECTransport says which connections may carry SSE-C keys, the S3
	// front end's rule (TLS, a trusted proxy, or allowed insecure).
	SSECTransport sse.Transport
	// ClockSkew bounds a signed date's distance from the clock (default
	// DefaultClockSkew).
	ClockSkew time.Duration
	// StalledBody is the error reads of a body that stopped arriving
	// wrap (the gateway's admission times bodies out); such requests
	// answer RequestTimeout.
	StalledBody error
	Logger      *slog.Logger
	Now         func() time.Time
}

// Server serves the native API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	skew  time.Duration
	keys  *keyCache
	ops   map[op]opRow
	index Index
	store *model.Store
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Index == nil || cfg.Objects == nil {
		return nil, errors.New("native: Index and Objects are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // the S3 front end's default
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.MaxObjectSize == 0 {
		cfg.MaxObjectSize = 5 << 30
	}
	return &Server{
		cfg: cfg, log: cfg.Logger, now: cfg.Now, skew: cfg.ClockSkew,
		keys:  &keyCache{index: cfg.Index, now: cfg.Now, entries: map[string]cachedPrincipal{}},
		ops:   opTable(),
		index: cfg.Index, store: cfg.Objects,
	}, nil
}

// op is one native API operation.
type op uint8

const (
	opUnknown op = iota
	opGetNamespace
	opGetNamespaceMetadata
	opUpdateNamespaceMetadata
	opCreateBucket
	opListBuckets
	opGetBucket
	opUpdateBucket
	opHeadBucket
	opDeleteBucket
	opPutObject
	opGetObject
	opHeadObject
	opDeleteObject
	opListObjects
	opCreateMultipartUpload
	opUploadPart
	opCommitMultipartUpload
	opAbortMultipartUpload
	opListMultipartUploads
	opListMultipartUploadParts
	opRenameObject
	opCreatePAR
	opGetPAR
	opListPARs
	opDeletePAR
	opCopyObject
	opGetWorkRequest
	opListWorkRequests
	opListWorkRequestErrors
	opListWorkRequestLogs
	opCancelWorkRequest
	// Multipart uploads through a PAR (par_multipart.go): made by a PUT
	// with opc-multipart: true, committed with every part uploaded.
	opPARCreateUpload
	opPARCommitUpload
)

// handler serves one operation for an authenticated, authorized request.
type handler func(s *Server, ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error

// opRow is everything decided per operation.
type opRow struct {
	name    string
	handler handler
	// perms is what the caller needs on the request's bucket, every one
	// of them (none: nothing beyond authentication, or a check of the
	// handler's own: creating a bucket, listing buckets).
	perms []policy.Permission
	// write: the operation writes req.object, which needs OBJECT_CREATE
	// for a new name or OBJECT_OVERWRITE for an existing one, as OCI
	// and S3 decide it (requireWrite).
	write bool
	// objectInBody: the object is named in the JSON body, not the path;
	// the handler calls authorize once it has read it. Every other
	// operation is authorized before its handler runs.
	objectInBody bool
	// global: the operation is not under /n/{namespace}/ (the work
	// requests): it acts in the caller's namespace, on the bucket of the
	// record it names, so its handler authorizes once it has read it.
	global bool
	// bodySigned: the signature must cover the body (x-content-sha256,
	// content-type, content-length). Object data is exempt, as OCI
	// exempts it: the SDKs stream it unsigned.
	bodySigned bool
	// customerKey: the operation takes an SSE-C key (opc-sse-customer-*
	// headers, customer_key.go); every other one refuses the headers
	// with NotImplemented rather than ignoring them.
	customerKey bool
}

func opTable() map[op]opRow {
	p := func(perms ...policy.Permission) []policy.Permission { return perms }
	return map[op]opRow{
		opGetNamespace: {name: "GetNamespace", handler: (*Server).getNamespace},
		// The namespace's metadata (namespace.go): permissions on the
		// namespace itself, which only statements "in tenancy" grant.
		opGetNamespaceMetadata:    {name: "GetNamespaceMetadata", handler: (*Server).getNamespaceMetadata, perms: p(policy.NamespaceRead)},
		opUpdateNamespaceMetadata: {name: "UpdateNamespaceMetadata", handler: (*Server).updateNamespaceMetadata, perms: p(policy.NamespaceUpdate), bodySigned: true},
		opCreateBucket:            {name: "CreateBucket", handler: (*Server).createBucket, bodySigned: true},
		opListBuckets:             {name: "ListBuckets", handler: (*Server).listBuckets},
		opGetBucket:               {name: "GetBucket", handler: (*Server).getBucket, perms: p(policy.BucketRead)},
		opUpdateBucket:            {name: "UpdateBucket", handler: (*Server).updateBucket, perms: p(policy.BucketUpdate), bodySigned: true},
		opHeadBucket:              {name: "HeadBucket", handler: (*Server).headBucket, perms: p(policy.BucketInspect)},
		opDeleteBucket:            {name: "DeleteBucket", handler: (*Server).deleteBucket, perms: p(policy.BucketDelete)},
		opPutObject:               {name: "PutObject", handler: (*Server).putObject, write: true, customerKey: true},
		opGetObject:               {name: "GetObject", handler: (*Server).getObject, perms: p(policy.ObjectRead), customerKey: true},
		opHeadObject:              {name: "HeadObject", handler: (*Server).headObject, perms: p(policy.ObjectRead), customerKey: true},
		opDeleteObject:            {name: "DeleteObject", handler: (*Server).deleteObject, perms: p(policy.ObjectDelete)},
		opListObjects:             {name: "ListObjects", handler: (*Server).listObjects, perms: p(policy.ObjectInspect)},

		opCreateMultipartUpload:    {name: "CreateMultipartUpload", handler: (*Server).createMultipartUpload, write: true, objectInBody: true, bodySigned: true, customerKey: true},
		opUploadPart:               {name: "UploadPart", handler: (*Server).uploadPart, write: true, customerKey: true},
		opCommitMultipartUpload:    {name: "CommitMultipartUpload", handler: (*Server).commitMultipartUpload, write: true, bodySigned: true},
		opAbortMultipartUpload:     {name: "AbortMultipartUpload", handler: (*Server).abortMultipartUpload, perms: p(policy.ObjectDelete)},
		opListMultipartUploads:     {name: "ListMultipartUploads", handler: (*Server).listMultipartUploads, perms: p(policy.ObjectInspect)},
		opListMultipartUploadParts: {name: "ListMultipartUploadParts", handler: (*Server).listMultipartUploadParts, perms: p(policy.ObjectInspect)},
		// OCI asks both, whether or not newName exists.
		opRenameObject: {name: "RenameObject", handler: (*Server).renameObject, perms: p(policy.ObjectCreate, policy.ObjectOverwrite), bodySigned: true},

		// Pre-authenticated requests (par.go). Making one also needs what
		// it grants, which the handler checks.
		opCreatePAR: {name: "CreatePreauthenticatedRequest", handler: (*Server).createPAR, perms: p(policy.ParManage), bodySigned: true},
		opGetPAR:    {name: "GetPreauthenticatedRequest", handler: (*Server).getPAR, perms: p(policy.ParManage)},
		opListPARs:  {name: "ListPreauthenticatedRequests", handler: (*Server).listPARs, perms: p(policy.ParManage)},
		opDeletePAR: {name: "DeletePreauthenticatedRequest", handler: (*Server).deletePAR, perms: p(policy.ParManage)},

		// CopyObject (copy.go): reading the source is this row's; writing
		// the destination, named in the body, the handler checks.
		opCopyObject: {name: "CopyObject", handler: (*Server).copyObject, perms: p(policy.ObjectRead), bodySigned: true, customerKey: true},
		// Work requests (workrequest.go): OBJECT_INSPECT on the record's
		// source bucket, which the handlers check.
		opGetWorkRequest:        {name: "GetWorkRequest", handler: (*Server).getWorkRequest, global: true},
		opListWorkRequests:      {name: "ListWorkRequests", handler: (*Server).listWorkRequests, global: true},
		opListWorkRequestErrors: {name: "ListWorkRequestErrors", handler: (*Server).listWorkRequestErrors, global: true},
		opListWorkRequestLogs:   {name: "ListWorkRequestLogs", handler: (*Server).listWorkRequestLogs, global: true},
		opCancelWorkRequest:     {name: "CancelWorkRequest", handler: (*Server).cancelWorkRequest, global: true},
		// Only through a PAR: parse never returns them.
		opPARCreateUpload: {name: "CreateMultipartUpload (PAR)", handler: (*Server).createUploadThroughPAR, write: true, customerKey: true},
		opPARCommitUpload: {name: "CommitMultipartUpload (PAR)", handler: (*Server).commitUploadThroughPAR, write: true},
	}
}

// request is a parsed native request.
type request struct {
	id     string
	op     op
	ns     string
	bucket string
	object string
	// uploadID is the uploadId parameter of the multipart operations.
	uploadID string
	// parID names a PAR of the bucket (/p/{parId}).
	parID string
	// workRequestID names a work request (/workRequests/{id}).
	workRequestID string
	// parToken is the token of the PAR the request came through; empty
	// for an authenticated request.
	parToken string
	query    url.Values
	who      *principal
	// refreshed: who was looked up again during this request (refresh).
	refreshed bool
}

// parse turns r into an operation; opUnknown for anything under /n/ not
// served (NotImplemented), and an error for what is not the native API.
func parse(r *http.Request) (*request, error) {
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/workRequests"); ok && (rest == "" || rest[0] == '/') {
		return parseWorkRequest(r, rest)
	}
	return parsePath(r, path)
}

// workRequestItem is what is served under /workRequests/{id}: the
// operation of each method on the work request itself (no suffix) and on
// its errors and logs.
func workRequestItem() map[string]map[string]op {
	return map[string]map[string]op{
		"":        {http.MethodGet: opGetWorkRequest, http.MethodDelete: opCancelWorkRequest},
		"/errors": {http.MethodGet: opListWorkRequestErrors},
		"/logs":   {http.MethodGet: opListWorkRequestLogs},
	}
}

// parseWorkRequest parses what follows /workRequests: nothing (the list)
// or /{id} and a suffix of workRequestItem.
func parseWorkRequest(r *http.Request, rest string) (*request, error) {
	req := &request{query: r.URL.Query()}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		if r.Method == http.MethodGet {
			req.op = opListWorkRequests
		}
		return req, nil
	}
	id, suffix, _ := strings.Cut(rest, "/")
	if suffix != "" {
		suffix = "/" + suffix
	}
	var err error
	if req.workRequestID, err = unescapePath(id); err != nil {
		return nil, err
	}
	req.op = workRequestItem()[suffix][r.Method]
	return req, nil
}

// parsePath parses path (escaped), r's or what follows a PAR's token.
func parsePath(r *http.Request, path string) (*request, error) {
	rest, ok := strings.CutPrefix(path, "/n")
	if !ok || (rest != "" && rest[0] != '/') {
		return nil, refuse(codeNotImplemented, "Only the Object Storage API under /n/ is served here")
	}
	req := &request{query: r.URL.Query()}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		if r.Method == http.MethodGet {
			req.op = opGetNamespace
		}
		return req, nil
	}
	segs := strings.SplitN(rest, "/", 5) // ns, "b", bucket, "o" or "u", object
	var err error
	if req.ns, err = unescapePath(segs[0]); err != nil {
		return nil, err
	}
	if len(segs) == 1 || (len(segs) == 2 && segs[1] == "") {
		switch r.Method {
		case http.MethodGet:
			req.op = opGetNamespaceMetadata
		case http.MethodPut:
			req.op = opUpdateNamespaceMetadata
		}
		return req, nil
	}
	if segs[1] != "b" {
		return req, nil // not served
	}
	if len(segs) == 2 || segs[2] == "" {
		switch {
		case len(segs) > 3:
		case r.Method == http.MethodPost:
			req.op = opCreateBucket
		case r.Method == http.MethodGet:
			req.op = opListBuckets
		}
		return req, nil
	}
	if req.bucket, err = unescapePath(segs[2]); err != nil {
		return nil, err
	}
	if len(segs) == 3 || (len(segs) == 4 && segs[3] == "") {
		switch r.Method {
		case http.MethodGet:
			req.op = opGetBucket
		case http.MethodPost:
			req.op = opUpdateBucket
		case http.MethodHead:
			req.op = opHeadBucket
		case http.MethodDelete:
			req.op = opDeleteBucket
		}
		return req, nil
	}
	if sr, ok := subresources()[segs[3]]; ok {
		return parseSubresource(r, req, segs, sr)
	}
	if segs[3] == "actions" && len(segs) == 5 && r.Method == http.MethodPost {
		req.op = actions()[segs[4]]
	}
	return req, nil // other actions: not served yet
}

// actions are the operations POSTed to /n/{ns}/b/{bucket}/actions/<name>.
func actions() map[string]op {
	return map[string]op{"renameObject": opRenameObject, "copyObject": opCopyObject}
}

// subresource is what is under /n/{ns}/b/{bucket}/<segment>: the
// operation of each method on the collection (nothing, or a trailing
// slash, after the segment) and on one named item of it, where the item's
// name goes, and whether an item operation needs the uploadId parameter.
type subresource struct {
	collection map[string]op
	item       map[string]op
	name       func(*request) *string
	uploadID   bool
}

// subresources is the one table of the bucket's sub-resources: objects
// (o), multipart uploads (u) and pre-authenticated requests (p).
func subresources() map[string]subresource {
	object := func(req *request) *string { return &req.object }
	return map[string]subresource{
		"o": {
			collection: map[string]op{http.MethodGet: opListObjects},
			item: map[string]op{http.MethodPut: opPutObject, http.MethodGet: opGetObject,
				http.MethodHead: opHeadObject, http.MethodDelete: opDeleteObject},
			name: object,
		},
		"u": {
			collection: map[string]op{http.MethodPost: opCreateMultipartUpload, http.MethodGet: opListMultipartUploads},
			item: map[string]op{http.MethodPut: opUploadPart, http.MethodPost: opCommitMultipartUpload,
				http.MethodDelete: opAbortMultipartUpload, http.MethodGet: opListMultipartUploadParts},
			name:     object,
			uploadID: true,
		},
		"p": {
			collection: map[string]op{http.MethodPost: opCreatePAR, http.MethodGet: opListPARs},
			item:       map[string]op{http.MethodGet: opGetPAR, http.MethodDelete: opDeletePAR},
			name:       func(req *request) *string { return &req.parID },
		},
	}
}

// parseSubresource parses what is under /n/{ns}/b/{bucket}/<segs[3]> by
// its row of subresources.
func parseSubresource(r *http.Request, req *request, segs []string, sr subresource) (*request, error) {
	if len(segs) == 4 || segs[4] == "" {
		req.op = sr.collection[r.Method]
		return req, nil
	}
	var err error
	if *sr.name(req), err = unescapePath(segs[4]); err != nil {
		return nil, err
	}
	req.op = sr.item[r.Method]
	if sr.uploadID && req.op != opUnknown {
		if req.uploadID = req.query.Get("uploadId"); req.uploadID == "" {
			return nil, refuse(codeMissingParameter, "The uploadId parameter is required")
		}
	}
	return req, nil
}

// unescapePath decodes one escaped segment of a path.
func unescapePath(s string) (string, error) {
	v, err := url.PathUnescape(s)
	if err != nil {
		return "", refuse(codeInvalidParameter, "The path is not properly escaped")
	}
	return v, nil
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP serves one native request: parse, authenticate, authorize,
// handle; any error is written once, in OCI's format.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("opc-request-id", id)
	if c := r.Header.Get("opc-client-request-id"); c != "" && len(c) <= 98 {
		w.Header().Set("opc-client-request-id", c)
	}
	var err error
	if strings.HasPrefix(r.URL.EscapedPath(), "/p/") {
		var pp *parPath
		if pp, err = parsePAR(r); err == nil {
			pp.req.id = id
			err = s.servePAR(r.Context(), w, r, pp)
		}
	} else {
		var req *request
		if req, err = parse(r); err == nil {
			req.id = id
			err = s.serve(r.Context(), w, r, req)
		}
	}
	if err != nil {
		e := toError(err)
		if s.cfg.StalledBody != nil && errors.Is(err, s.cfg.StalledBody) {
			e = &Error{Code: codeRequestTimeout, Message: "The request body stopped arriving", Err: err}
			w.Header().Set("Connection", "close")
		}
		if e.Code.Status >= 500 {
			s.log.Error("native request failed", "id", id, "method", r.Method, "path", redactToken(r.URL.Path), "err", err)
		}
		writeError(w, r, id, e)
	}
}

// Busy answers a request the gateway has no room for (its admission
// refused it): 503 ServiceUnavailable, which the SDKs retry.
func (s *Server) Busy(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, newRequestID(), &Error{Code: codeServiceUnavailable, Message: "The gateway is busy; retry", Err: err})
}

func (s *Server) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error {
	row, ok := s.ops[req.op]
	if !ok {
		// Authenticate even what is not served, so an anonymous caller
		// learns nothing about what is.
		if _, err := s.authenticate(ctx, r, false); err != nil {
			return err
		}
		return refuse(codeNotImplemented, "%s %s is not implemented", r.Method, r.URL.Path)
	}
	who, err := s.authenticate(ctx, r, row.bodySigned && r.ContentLength != 0)
	if err != nil {
		return err
	}
	req.who = who
	switch {
	case row.global:
		req.ns = who.ns
	case req.op != opGetNamespace && req.ns != who.ns:
		return refuse(codeNamespaceNotFound, "Either the namespace %q does not exist or you are not authorized to access it", req.ns)
	}
	if !row.objectInBody && !row.global {
		if err := s.authorize(ctx, req, row); err != nil {
			return err
		}
	}
	if err := s.customerKeyAllowed(r, row); err != nil {
		return err
	}
	return row.handler(s, ctx, w, r, req)
}
