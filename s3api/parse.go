package s3api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// operation is what a request asks for, parsed once, before anything
// else looks at the request: the operation, its target and the
// parameters handlers use. Handlers never parse the query again (only
// the signature checks read the raw query, as they must).
type operation struct {
	op     Op
	bucket string
	key    string
	// virtual: the bucket came from the Host (virtual-hosted style).
	virtual bool
	// hostNS is the namespace the Host names (<ns>.compat.objectstorage.
	// <region>.<domain>), if it names one (nshost.go).
	hostNS string

	// query is the parsed query string (pairs that do not unescape are
	// dropped, as url.ParseQuery drops them).
	query url.Values
	// subs are the routing subresources the query names; sub is the one
	// that picked op ("" for none). For a refused subresource it is the
	// one Cairn does not implement.
	subs subresources
	sub  string

	// versionID is the versionId parameter; hasVersionID says it was
	// given (version() refuses an empty one).
	versionID    string
	hasVersionID bool
	// uploadID is the uploadId parameter.
	uploadID string
	// partNumber is the partNumber parameter, checked (part()); 0 when
	// absent or invalid.
	partNumber    int32
	partNumberErr error
	hasPartNumber bool
	// copySource is x-amz-copy-source, parsed (source()); hasCopySource
	// says the header was sent, which is what makes a PUT a copy.
	copySource    copySource
	copySourceErr error
	hasCopySource bool
	// asksBypass: x-amz-bypass-governance-retention: true was sent
	// (whether it counts is authorize's to say: request.bypassGovernance).
	asksBypass bool
}

// copySource is a parsed x-amz-copy-source.
type copySource struct{ bucket, key, versionID string }

// version returns the version the request names and whether it names
// one. An empty versionId is InvalidArgument, as in S3.
func (o *operation) version() (id string, named bool, err error) {
	if o.hasVersionID && o.versionID == "" {
		return "", true, s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string")
	}
	return o.versionID, o.hasVersionID, nil
}

// part returns the partNumber parameter: 1..10000, as S3 (a missing one
// is refused too).
func (o *operation) part() (int32, error) {
	if !o.hasPartNumber {
		return parsePartNumber("")
	}
	return o.partNumber, o.partNumberErr
}

// source returns the parsed x-amz-copy-source.
func (o *operation) source() (copySource, error) { return o.copySource, o.copySourceErr }

// subresources is a set of the query parameters that choose an operation.
type subresources uint8

// The subresources, in precedence order: when a query names several, the
// first the target has picks the operation.
const (
	subTagging subresources = 1 << iota
	subVersioning
	subVersions
	subUploads
	subUploadID
	subDelete
	subLocation
)

func (s subresources) has(x subresources) bool { return s&x != 0 }

// name is the query parameter of a single subresource.
func (s subresources) name() string {
	switch s {
	case subTagging:
		return "tagging"
	case subVersioning:
		return "versioning"
	case subVersions:
		return "versions"
	case subUploads:
		return "uploads"
	case subUploadID:
		return "uploadId"
	case subDelete:
		return "delete"
	case subLocation:
		return "location"
	}
	return ""
}

// subresourceOf returns the subresource a query parameter names, if any.
func subresourceOf(param string) subresources {
	for x := subTagging; x <= subLocation; x <<= 1 {
		if x.name() == param {
			return x
		}
	}
	return 0
}

// soleSubresource reports whether name is a subresource that picks its
// operation whatever else the query names (opTable names each of their
// operations, served or not). A request naming one with a method none of
// its operations has is refused with 501, or 405 for object lock's
// (servedSole).
func soleSubresource(name string) bool {
	switch name {
	case "acl", "accelerate", "analytics", "attributes", "cors", "encryption",
		"intelligent-tiering", "inventory", "lifecycle", "logging",
		"metrics", "notification", "ownershipControls", "policy",
		"policyStatus", "publicAccessBlock", "replication", "requestPayment",
		"restore", "select", "torrent", "website",
		"session", "metadataConfiguration", "metadataTable", "metadataInventoryTable",
		"metadataJournalTable", "renameObject":
		return true
	}
	return servedSole(name)
}

// servedSole reports whether name is a sole subresource of operations
// Cairn serves (object lock); another method on it is 405.
func servedSole(name string) bool {
	return name == "object-lock" || name == "retention" || name == "legal-hold"
}

// parse parses r into the operation it asks for.
func (s *Server) parse(r *http.Request) operation {
	var o operation
	o.bucket, o.key, o.virtual = s.target(r)
	s.namespaceHost(r, &o)
	parseOperation(r, &o)
	return o
}

// parseOperation fills in o, whose target is set, from r's method, query
// and headers.
func parseOperation(r *http.Request, o *operation) {
	q := r.URL.Query()
	o.query = q
	sole := ""
	for name := range q {
		o.subs |= subresourceOf(name)
		// Several sole subresources: the first in byte order names the
		// operation, so the choice does not depend on map order.
		if soleSubresource(name) && (sole == "" || name < sole) {
			sole = name
		}
	}
	if vs, ok := q["versionId"]; ok {
		o.versionID, o.hasVersionID = vs[0], true
	}
	o.uploadID = q.Get("uploadId")
	if _, ok := q["partNumber"]; ok {
		o.hasPartNumber = true
		o.partNumber, o.partNumberErr = parsePartNumber(q.Get("partNumber"))
	}
	if v := r.Header.Get("x-amz-copy-source"); v != "" {
		o.hasCopySource = true
		o.copySource, o.copySourceErr = parseCopySource(v)
	}
	o.asksBypass = strings.EqualFold(strings.TrimSpace(r.Header.Get("x-amz-bypass-governance-retention")), "true")
	o.op, o.sub = classify(r.Method, o, sole)
}

// classify is the parse rule of every operation. A request is first
// reduced to a shape, "METHOD target?subresource", with target "/" (the
// service), "/b" (a bucket) or "/b/k" (an object), and at most one
// subresource: an unimplemented one if any, else the first of those the
// target has (a bucket: tagging, versioning, versions, uploads, uploadId,
// delete, location; an object: tagging, uploads, uploadId). Other
// parameters never pick an operation; a few refine one (list-type=2, id,
// the x-amz-copy-source header).
func classify(method string, o *operation, sole string) (Op, string) {
	target := "/b/k"
	switch {
	case o.bucket == "":
		target = "/"
	case o.key == "":
		target = "/b"
	}
	// ?delete is DeleteObjects or nothing.
	if o.subs.has(subDelete) && (method != http.MethodPost || target != "/b") {
		return OpOther, "delete"
	}
	sub := sole
	if sub == "" {
		sub = routingSubresource(target, o.subs)
	}
	if method == http.MethodOptions && target != "/" {
		// A preflight may be for any request on the resource, whatever
		// its subresources.
		return OpPreflight, sub
	}
	shape := method + " " + target
	if sub != "" {
		shape += "?" + sub
	}
	_, id := o.query["id"]
	switch shape {
	case "GET /":
		return OpListBuckets, sub

	case "PUT /b":
		return OpCreateBucket, sub
	case "HEAD /b":
		return OpHeadBucket, sub
	case "DELETE /b":
		return OpDeleteBucket, sub
	case "GET /b":
		if o.query.Get("list-type") == "2" {
			return OpListObjectsV2, sub
		}
		return OpListObjects, sub
	case "POST /b":
		return OpPostObject, sub
	case "POST /b?delete":
		return OpDeleteObjects, sub
	case "GET /b?location":
		return OpGetBucketLocation, sub
	case "GET /b?tagging":
		return OpGetBucketTagging, sub
	case "PUT /b?tagging":
		return OpPutBucketTagging, sub
	case "DELETE /b?tagging":
		return OpDeleteBucketTagging, sub
	case "GET /b?versioning":
		return OpGetBucketVersioning, sub
	case "PUT /b?versioning":
		return OpPutBucketVersioning, sub
	case "GET /b?versions":
		return OpListObjectVersions, sub
	case "GET /b?uploads":
		return OpListMultipartUploads, sub

	case "PUT /b/k":
		if o.hasCopySource {
			return OpCopyObject, sub
		}
		return OpPutObject, sub
	case "GET /b/k":
		return OpGetObject, sub
	case "HEAD /b/k":
		return OpHeadObject, sub
	case "DELETE /b/k":
		return OpDeleteObject, sub
	case "GET /b/k?tagging":
		return OpGetObjectTagging, sub
	case "PUT /b/k?tagging":
		return OpPutObjectTagging, sub
	case "DELETE /b/k?tagging":
		return OpDeleteObjectTagging, sub
	case "POST /b/k?uploads":
		return OpCreateMultipartUpload, sub
	case "PUT /b/k?uploadId":
		if o.hasCopySource {
			return OpUploadPartCopy, sub
		}
		return OpUploadPart, sub
	case "POST /b/k?uploadId":
		return OpCompleteMultipartUpload, sub
	case "GET /b/k?uploadId":
		return OpListParts, sub
	case "DELETE /b/k?uploadId":
		return OpAbortMultipartUpload, sub

	// Not implemented.
	case "GET /b?acl":
		return OpGetBucketAcl, sub
	case "PUT /b?acl":
		return OpPutBucketAcl, sub
	case "GET /b/k?acl":
		return OpGetObjectAcl, sub
	case "PUT /b/k?acl":
		return OpPutObjectAcl, sub
	case "GET /b?accelerate":
		return OpGetBucketAccelerateConfiguration, sub
	case "PUT /b?accelerate":
		return OpPutBucketAccelerateConfiguration, sub
	case "GET /b?analytics":
		if id {
			return OpGetBucketAnalyticsConfiguration, sub
		}
		return OpListBucketAnalyticsConfigurations, sub
	case "PUT /b?analytics":
		return OpPutBucketAnalyticsConfiguration, sub
	case "DELETE /b?analytics":
		return OpDeleteBucketAnalyticsConfiguration, sub
	case "GET /b?cors":
		return OpGetBucketCors, sub
	case "PUT /b?cors":
		return OpPutBucketCors, sub
	case "DELETE /b?cors":
		return OpDeleteBucketCors, sub
	case "GET /b?encryption":
		return OpGetBucketEncryption, sub
	case "PUT /b?encryption":
		return OpPutBucketEncryption, sub
	case "DELETE /b?encryption":
		return OpDeleteBucketEncryption, sub
	case "GET /b?intelligent-tiering":
		if id {
			return OpGetBucketIntelligentTieringConfiguration, sub
		}
		return OpListBucketIntelligentTieringConfigurations, sub
	case "PUT /b?intelligent-tiering":
		return OpPutBucketIntelligentTieringConfiguration, sub
	case "DELETE /b?intelligent-tiering":
		return OpDeleteBucketIntelligentTieringConfiguration, sub
	case "GET /b?inventory":
		if id {
			return OpGetBucketInventoryConfiguration, sub
		}
		return OpListBucketInventoryConfigurations, sub
	case "PUT /b?inventory":
		return OpPutBucketInventoryConfiguration, sub
	case "DELETE /b?inventory":
		return OpDeleteBucketInventoryConfiguration, sub
	case "GET /b/k?legal-hold":
		return OpGetObjectLegalHold, sub
	case "PUT /b/k?legal-hold":
		return OpPutObjectLegalHold, sub
	case "GET /b?lifecycle":
		return OpGetBucketLifecycleConfiguration, sub
	case "PUT /b?lifecycle":
		return OpPutBucketLifecycleConfiguration, sub
	case "DELETE /b?lifecycle":
		return OpDeleteBucketLifecycle, sub
	case "GET /b?logging":
		return OpGetBucketLogging, sub
	case "PUT /b?logging":
		return OpPutBucketLogging, sub
	case "GET /b?metrics":
		if id {
			return OpGetBucketMetricsConfiguration, sub
		}
		return OpListBucketMetricsConfigurations, sub
	case "PUT /b?metrics":
		return OpPutBucketMetricsConfiguration, sub
	case "DELETE /b?metrics":
		return OpDeleteBucketMetricsConfiguration, sub
	case "GET /b?notification":
		return OpGetBucketNotificationConfiguration, sub
	case "PUT /b?notification":
		return OpPutBucketNotificationConfiguration, sub
	case "GET /b?object-lock":
		return OpGetObjectLockConfiguration, sub
	case "PUT /b?object-lock":
		return OpPutObjectLockConfiguration, sub
	case "GET /b?ownershipControls":
		return OpGetBucketOwnershipControls, sub
	case "PUT /b?ownershipControls":
		return OpPutBucketOwnershipControls, sub
	case "DELETE /b?ownershipControls":
		return OpDeleteBucketOwnershipControls, sub
	case "GET /b?policy":
		return OpGetBucketPolicy, sub
	case "PUT /b?policy":
		return OpPutBucketPolicy, sub
	case "DELETE /b?policy":
		return OpDeleteBucketPolicy, sub
	case "GET /b?policyStatus":
		return OpGetBucketPolicyStatus, sub
	case "GET /b?publicAccessBlock":
		return OpGetPublicAccessBlock, sub
	case "PUT /b?publicAccessBlock":
		return OpPutPublicAccessBlock, sub
	case "DELETE /b?publicAccessBlock":
		return OpDeletePublicAccessBlock, sub
	case "GET /b?replication":
		return OpGetBucketReplication, sub
	case "PUT /b?replication":
		return OpPutBucketReplication, sub
	case "DELETE /b?replication":
		return OpDeleteBucketReplication, sub
	case "GET /b?requestPayment":
		return OpGetBucketRequestPayment, sub
	case "PUT /b?requestPayment":
		return OpPutBucketRequestPayment, sub
	case "POST /b/k?restore":
		return OpRestoreObject, sub
	case "GET /b/k?retention":
		return OpGetObjectRetention, sub
	case "PUT /b/k?retention":
		return OpPutObjectRetention, sub
	case "POST /b/k?select":
		return OpSelectObjectContent, sub
	case "GET /b/k?torrent":
		return OpGetObjectTorrent, sub
	case "GET /b?website":
		return OpGetBucketWebsite, sub
	case "PUT /b?website":
		return OpPutBucketWebsite, sub
	case "DELETE /b?website":
		return OpDeleteBucketWebsite, sub
	case "GET /b/k?attributes":
		return OpGetObjectAttributes, sub
	case "GET /b?session":
		return OpCreateSession, sub
	case "POST /b?metadataConfiguration":
		return OpCreateBucketMetadataConfiguration, sub
	case "GET /b?metadataConfiguration":
		return OpGetBucketMetadataConfiguration, sub
	case "DELETE /b?metadataConfiguration":
		return OpDeleteBucketMetadataConfiguration, sub
	case "POST /b?metadataTable":
		return OpCreateBucketMetadataTableConfiguration, sub
	case "GET /b?metadataTable":
		return OpGetBucketMetadataTableConfiguration, sub
	case "DELETE /b?metadataTable":
		return OpDeleteBucketMetadataTableConfiguration, sub
	case "PUT /b?metadataInventoryTable":
		return OpUpdateBucketMetadataInventoryTableConfiguration, sub
	case "PUT /b?metadataJournalTable":
		return OpUpdateBucketMetadataJournalTableConfiguration, sub
	case "PUT /b/k?renameObject":
		return OpRenameObject, sub
	}
	if sole != "" && !servedSole(sole) {
		return OpNotImplemented, sub
	}
	return OpOther, sub
}

// routingSubresource returns the subresource that picks the operation at
// target, "" for none. The service has none; subresources of buckets are
// ignored on objects (GET /b/k?versioning is GetObject).
func routingSubresource(target string, subs subresources) string {
	var first subresources
	switch target {
	case "/b":
		first = subs
	case "/b/k":
		first = subs & (subTagging | subUploads | subUploadID)
	}
	// The lowest bit wins: the constants are in precedence order.
	return (first & -first).name()
}
