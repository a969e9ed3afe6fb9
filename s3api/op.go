package s3api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cairn-store/cairn/meta/policy"
)

// Op names an S3 operation: every request parses to exactly one (see
// parse.go), and opTable has one row per Op saying how it is served,
// what it needs from the caller's policies and how it is counted.
// Operations Cairn does not implement are named too, so that they are
// refused, authorized and counted as what they are and never mistaken for
// a served operation that happens to share a method and path.
type Op uint8

// The operations. OpOther is the zero value: a request no S3 operation
// matches is refused with 405 MethodNotAllowed.
const (
	// OpOther: no S3 operation has this method and target (405).
	OpOther Op = iota
	// OpNotImplemented: a subresource Cairn does not implement, with a
	// method that names no S3 operation of it (501).
	OpNotImplemented

	// Service.
	OpListBuckets

	// CORS preflight: OPTIONS on a bucket or an object, with no
	// credentials (cors.go).
	OpPreflight

	// Buckets.
	OpCreateBucket
	OpHeadBucket
	OpDeleteBucket
	OpGetBucketLocation
	OpListObjects
	OpListObjectsV2
	OpListObjectVersions
	OpListMultipartUploads
	OpDeleteObjects
	OpPostObject
	OpGetBucketTagging
	OpPutBucketTagging
	OpDeleteBucketTagging
	OpGetBucketVersioning
	OpPutBucketVersioning

	// Objects.
	OpPutObject
	OpCopyObject
	OpGetObject
	OpHeadObject
	OpDeleteObject
	OpGetObjectTagging
	OpPutObjectTagging
	OpDeleteObjectTagging
	OpCreateMultipartUpload
	OpUploadPart
	OpUploadPartCopy
	OpCompleteMultipartUpload
	OpAbortMultipartUpload
	OpListParts

	// Object lock.
	OpGetObjectLockConfiguration
	OpPutObjectLockConfiguration
	OpGetObjectRetention
	OpPutObjectRetention
	OpGetObjectLegalHold
	OpPutObjectLegalHold

	// Not implemented: each answers 501 NotImplemented.
	OpGetBucketAcl
	OpPutBucketAcl
	OpGetObjectAcl
	OpPutObjectAcl
	OpGetBucketAccelerateConfiguration
	OpPutBucketAccelerateConfiguration
	OpGetBucketAnalyticsConfiguration
	OpListBucketAnalyticsConfigurations
	OpPutBucketAnalyticsConfiguration
	OpDeleteBucketAnalyticsConfiguration
	OpGetBucketCors
	OpPutBucketCors
	OpDeleteBucketCors
	OpGetBucketEncryption
	OpPutBucketEncryption
	OpDeleteBucketEncryption
	OpGetBucketIntelligentTieringConfiguration
	OpListBucketIntelligentTieringConfigurations
	OpPutBucketIntelligentTieringConfiguration
	OpDeleteBucketIntelligentTieringConfiguration
	OpGetBucketInventoryConfiguration
	OpListBucketInventoryConfigurations
	OpPutBucketInventoryConfiguration
	OpDeleteBucketInventoryConfiguration
	OpGetBucketLifecycleConfiguration
	OpPutBucketLifecycleConfiguration
	OpDeleteBucketLifecycle
	OpGetBucketLogging
	OpPutBucketLogging
	OpGetBucketMetricsConfiguration
	OpListBucketMetricsConfigurations
	OpPutBucketMetricsConfiguration
	OpDeleteBucketMetricsConfiguration
	OpGetBucketNotificationConfiguration
	OpPutBucketNotificationConfiguration
	OpGetBucketOwnershipControls
	OpPutBucketOwnershipControls
	OpDeleteBucketOwnershipControls
	OpGetBucketPolicy
	OpPutBucketPolicy
	OpDeleteBucketPolicy
	OpGetBucketPolicyStatus
	OpGetPublicAccessBlock
	OpPutPublicAccessBlock
	OpDeletePublicAccessBlock
	OpGetBucketReplication
	OpPutBucketReplication
	OpDeleteBucketReplication
	OpGetBucketRequestPayment
	OpPutBucketRequestPayment
	OpRestoreObject
	OpSelectObjectContent
	OpGetObjectTorrent
	OpGetBucketWebsite
	OpPutBucketWebsite
	OpDeleteBucketWebsite
	OpGetObjectAttributes
	// Newer subresources (S3 Express sessions, S3 Metadata tables).
	OpCreateSession
	OpCreateBucketMetadataConfiguration
	OpGetBucketMetadataConfiguration
	OpDeleteBucketMetadataConfiguration
	OpCreateBucketMetadataTableConfiguration
	OpGetBucketMetadataTableConfiguration
	OpDeleteBucketMetadataTableConfiguration
	OpUpdateBucketMetadataInventoryTableConfiguration
	OpUpdateBucketMetadataJournalTableConfiguration
	OpRenameObject

	// opCount is the number of operations; not one itself.
	opCount
)

// String is the operation's name, as in opTable.
func (o Op) String() string {
	if o >= opCount {
		return fmt.Sprintf("Op(%d)", uint8(o))
	}
	return opTable()[o].label
}

// handler serves one operation. It returns an error instead of writing
// one (errors.go translates it); errNoBody means it wrote the response.
type handler func(s *Server, ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) error

// opRow is everything decided per operation.
type opRow struct {
	// label names the operation: the metric label (low cardinality by
	// construction), the name in logs and in docs/compatibility.md.
	label string
	// serve is the handler.
	serve handler
	// access is what the caller's policies must grant (authorize.go).
	access access
	// action is the S3 action a bucket policy names the operation by
	// (authorize.go); empty for operations refused before any check.
	action s3Action
}

// opTable is the one table of operations: routing, authorization and
// metrics all read it (New keeps a copy in the Server). TestOpTable
// checks every Op has a complete row and that labels are unique.
func opTable() [opCount]opRow {
	return [opCount]opRow{
		OpOther:          {"Other", (*Server).methodNotAllowed, refused(), s3Action{}},
		OpNotImplemented: {"NotImplemented", (*Server).notImplemented, refused(), s3Action{}},

		OpListBuckets: {"ListBuckets", (*Server).listBuckets, access{rule: accessListBuckets}, act("s3:ListAllMyBuckets")},
		OpPreflight:   {"Preflight", (*Server).preflight, access{rule: accessByHandler}, s3Action{}},

		OpCreateBucket:         {"CreateBucket", (*Server).createBucket, access{rule: accessCreateBucket}, act("s3:CreateBucket")},
		OpHeadBucket:           {"HeadBucket", (*Server).headBucket, onBucket(policy.BucketInspect), act("s3:ListBucket")},
		OpDeleteBucket:         {"DeleteBucket", (*Server).deleteBucket, onBucket(policy.BucketDelete), act("s3:DeleteBucket")},
		OpGetBucketLocation:    {"GetBucketLocation", (*Server).getBucketLocation, onBucket(policy.BucketRead), act("s3:GetBucketLocation")},
		OpListObjects:          {"ListObjects", (*Server).listObjectsV1, onBucket(policy.ObjectInspect), act("s3:ListBucket")},
		OpListObjectsV2:        {"ListObjectsV2", (*Server).listObjectsV2, onBucket(policy.ObjectInspect), act("s3:ListBucket")},
		OpListObjectVersions:   {"ListObjectVersions", (*Server).listObjectVersions, onBucket(policy.ObjectInspect), act("s3:ListBucketVersions")},
		OpListMultipartUploads: {"ListMultipartUploads", (*Server).listMultipartUploads, onBucket(policy.ObjectInspect), act("s3:ListBucketMultipartUploads")},
		OpDeleteObjects:        {"DeleteObjects", (*Server).deleteObjects, access{rule: accessPerm, perm: policy.ObjectDelete, bypass: true, keysInBody: true}, act("s3:DeleteObject", "s3:DeleteObjectVersion")},
		OpPostObject:           {"PostObject", (*Server).postObject, access{rule: accessByHandler}, act("s3:PutObject")},
		OpGetBucketTagging:     {"GetBucketTagging", (*Server).getBucketTagging, onBucket(policy.BucketRead), act("s3:GetBucketTagging")},
		OpPutBucketTagging:     {"PutBucketTagging", (*Server).putBucketTagging, onBucket(policy.BucketUpdate), act("s3:PutBucketTagging")},
		OpDeleteBucketTagging:  {"DeleteBucketTagging", (*Server).deleteBucketTagging, onBucket(policy.BucketUpdate), act("s3:PutBucketTagging")},
		OpGetBucketVersioning:  {"GetBucketVersioning", (*Server).getBucketVersioning, onBucket(policy.BucketRead), act("s3:GetBucketVersioning")},
		OpPutBucketVersioning:  {"PutBucketVersioning", (*Server).putBucketVersioning, onBucket(policy.BucketUpdate), act("s3:PutBucketVersioning")},

		OpPutObject:               {"PutObject", (*Server).putObject, access{rule: accessWrite}, act("s3:PutObject")},
		OpCopyObject:              {"CopyObject", (*Server).copyObject, access{rule: accessCopy}, act("s3:PutObject")},
		OpGetObject:               {"GetObject", (*Server).getObject, onBucket(policy.ObjectRead), act("s3:GetObject", "s3:GetObjectVersion")},
		OpHeadObject:              {"HeadObject", (*Server).headObject, onBucket(policy.ObjectRead), act("s3:GetObject", "s3:GetObjectVersion")},
		OpDeleteObject:            {"DeleteObject", (*Server).deleteObject, access{rule: accessPerm, perm: policy.ObjectDelete, versionPerm: policy.ObjectVersionDelete, bypass: true}, act("s3:DeleteObject", "s3:DeleteObjectVersion")},
		OpGetObjectTagging:        {"GetObjectTagging", (*Server).getObjectTagging, onBucket(policy.ObjectRead), act("s3:GetObjectTagging", "s3:GetObjectVersionTagging")},
		OpPutObjectTagging:        {"PutObjectTagging", (*Server).putObjectTagging, onBucket(policy.ObjectOverwrite), act("s3:PutObjectTagging", "s3:PutObjectVersionTagging")},
		OpDeleteObjectTagging:     {"DeleteObjectTagging", (*Server).deleteObjectTagging, onBucket(policy.ObjectOverwrite), act("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging")},
		OpCreateMultipartUpload:   {"CreateMultipartUpload", (*Server).createMultipartUpload, access{rule: accessWrite}, act("s3:PutObject")},
		OpUploadPart:              {"UploadPart", (*Server).uploadPart, access{rule: accessWrite}, act("s3:PutObject")},
		OpUploadPartCopy:          {"UploadPartCopy", (*Server).uploadPartCopy, access{rule: accessCopy}, act("s3:PutObject")},
		OpCompleteMultipartUpload: {"CompleteMultipartUpload", (*Server).completeMultipartUpload, access{rule: accessWrite}, act("s3:PutObject")},
		OpAbortMultipartUpload:    {"AbortMultipartUpload", (*Server).abortMultipartUpload, onBucket(policy.ObjectDelete), act("s3:AbortMultipartUpload")},
		OpListParts:               {"ListParts", (*Server).listParts, onBucket(policy.ObjectInspect), act("s3:ListMultipartUploadParts")},

		OpGetObjectLockConfiguration: {"GetObjectLockConfiguration", (*Server).getObjectLockConfiguration, onBucket(policy.BucketRead), act("s3:GetBucketObjectLockConfiguration")},
		OpPutObjectLockConfiguration: {"PutObjectLockConfiguration", (*Server).putObjectLockConfiguration, onBucket(policy.BucketUpdate), act("s3:PutBucketObjectLockConfiguration")},
		OpGetObjectRetention:         {"GetObjectRetention", (*Server).getObjectRetention, onBucket(policy.ObjectRead), act("s3:GetObjectRetention")},
		OpPutObjectRetention:         {"PutObjectRetention", (*Server).putObjectRetention, access{rule: accessPerm, perm: policy.ObjectOverwrite, bypass: true}, act("s3:PutObjectRetention")},
		OpGetObjectLegalHold:         {"GetObjectLegalHold", (*Server).getObjectLegalHold, onBucket(policy.ObjectRead), act("s3:GetObjectLegalHold")},
		OpPutObjectLegalHold:         {"PutObjectLegalHold", (*Server).putObjectLegalHold, onBucket(policy.ObjectOverwrite), act("s3:PutObjectLegalHold")},

		OpGetBucketAcl:                                {"GetBucketAcl", (*Server).getBucketACL, onBucket(policy.BucketRead), act("s3:GetBucketAcl")},
		OpPutBucketAcl:                                {"PutBucketAcl", (*Server).putBucketACL, onBucket(policy.BucketUpdate), act("s3:PutBucketAcl")},
		OpGetObjectAcl:                                {"GetObjectAcl", (*Server).getObjectACL, onBucket(policy.ObjectRead), act("s3:GetObjectAcl", "s3:GetObjectVersionAcl")},
		OpPutObjectAcl:                                {"PutObjectAcl", (*Server).putObjectACL, onBucket(policy.ObjectOverwrite), act("s3:PutObjectAcl", "s3:PutObjectVersionAcl")},
		OpGetBucketAccelerateConfiguration:            unimplemented("GetBucketAccelerateConfiguration"),
		OpPutBucketAccelerateConfiguration:            unimplemented("PutBucketAccelerateConfiguration"),
		OpGetBucketAnalyticsConfiguration:             unimplemented("GetBucketAnalyticsConfiguration"),
		OpListBucketAnalyticsConfigurations:           unimplemented("ListBucketAnalyticsConfigurations"),
		OpPutBucketAnalyticsConfiguration:             unimplemented("PutBucketAnalyticsConfiguration"),
		OpDeleteBucketAnalyticsConfiguration:          unimplemented("DeleteBucketAnalyticsConfiguration"),
		OpGetBucketCors:                               {"GetBucketCors", (*Server).getBucketCors, onBucket(policy.BucketRead), act("s3:GetBucketCORS")},
		OpPutBucketCors:                               {"PutBucketCors", (*Server).putBucketCors, onBucket(policy.BucketUpdate), act("s3:PutBucketCORS")},
		OpDeleteBucketCors:                            {"DeleteBucketCors", (*Server).deleteBucketCors, onBucket(policy.BucketUpdate), act("s3:PutBucketCORS")},
		OpGetBucketEncryption:                         unimplemented("GetBucketEncryption"),
		OpPutBucketEncryption:                         unimplemented("PutBucketEncryption"),
		OpDeleteBucketEncryption:                      unimplemented("DeleteBucketEncryption"),
		OpGetBucketIntelligentTieringConfiguration:    unimplemented("GetBucketIntelligentTieringConfiguration"),
		OpListBucketIntelligentTieringConfigurations:  unimplemented("ListBucketIntelligentTieringConfigurations"),
		OpPutBucketIntelligentTieringConfiguration:    unimplemented("PutBucketIntelligentTieringConfiguration"),
		OpDeleteBucketIntelligentTieringConfiguration: unimplemented("DeleteBucketIntelligentTieringConfiguration"),
		OpGetBucketInventoryConfiguration:             unimplemented("GetBucketInventoryConfiguration"),
		OpListBucketInventoryConfigurations:           unimplemented("ListBucketInventoryConfigurations"),
		OpPutBucketInventoryConfiguration:             unimplemented("PutBucketInventoryConfiguration"),
		OpDeleteBucketInventoryConfiguration:          unimplemented("DeleteBucketInventoryConfiguration"),
		OpGetBucketLifecycleConfiguration:             {"GetBucketLifecycleConfiguration", (*Server).getBucketLifecycle, onBucket(policy.BucketRead), act("s3:GetLifecycleConfiguration")},
		OpPutBucketLifecycleConfiguration:             {"PutBucketLifecycleConfiguration", (*Server).putBucketLifecycle, onBucket(policy.BucketUpdate), act("s3:PutLifecycleConfiguration")},
		OpDeleteBucketLifecycle:                       {"DeleteBucketLifecycle", (*Server).deleteBucketLifecycle, onBucket(policy.BucketUpdate), act("s3:PutLifecycleConfiguration")},
		OpGetBucketLogging:                            unimplemented("GetBucketLogging"),
		OpPutBucketLogging:                            unimplemented("PutBucketLogging"),
		OpGetBucketMetricsConfiguration:               unimplemented("GetBucketMetricsConfiguration"),
		OpListBucketMetricsConfigurations:             unimplemented("ListBucketMetricsConfigurations"),
		OpPutBucketMetricsConfiguration:               unimplemented("PutBucketMetricsConfiguration"),
		OpDeleteBucketMetricsConfiguration:            unimplemented("DeleteBucketMetricsConfiguration"),
		OpGetBucketNotificationConfiguration:          unimplemented("GetBucketNotificationConfiguration"),
		OpPutBucketNotificationConfiguration:          unimplemented("PutBucketNotificationConfiguration"),
		OpGetBucketOwnershipControls:                  {"GetBucketOwnershipControls", (*Server).getBucketOwnershipControls, onBucket(policy.BucketRead), act("s3:GetBucketOwnershipControls")},
		OpPutBucketOwnershipControls:                  {"PutBucketOwnershipControls", (*Server).putBucketOwnershipControls, onBucket(policy.BucketUpdate), act("s3:PutBucketOwnershipControls")},
		OpDeleteBucketOwnershipControls:               unimplemented("DeleteBucketOwnershipControls"),
		OpGetBucketPolicy:                             {"GetBucketPolicy", (*Server).getBucketPolicy, access{rule: accessPerm, perm: policy.BucketRead, ownerAlways: true}, act("s3:GetBucketPolicy")},
		OpPutBucketPolicy:                             {"PutBucketPolicy", (*Server).putBucketPolicy, access{rule: accessPerm, perm: policy.BucketUpdate, ownerAlways: true}, act("s3:PutBucketPolicy")},
		OpDeleteBucketPolicy:                          {"DeleteBucketPolicy", (*Server).deleteBucketPolicy, access{rule: accessPerm, perm: policy.BucketUpdate, ownerAlways: true}, act("s3:DeleteBucketPolicy")},
		OpGetBucketPolicyStatus:                       {"GetBucketPolicyStatus", (*Server).getBucketPolicyStatus, onBucket(policy.BucketRead), act("s3:GetBucketPolicyStatus")},
		OpGetPublicAccessBlock:                        {"GetPublicAccessBlock", (*Server).getPublicAccessBlock, onBucket(policy.BucketRead), act("s3:GetBucketPublicAccessBlock")},
		OpPutPublicAccessBlock:                        {"PutPublicAccessBlock", (*Server).putPublicAccessBlock, onBucket(policy.BucketUpdate), act("s3:PutBucketPublicAccessBlock")},
		OpDeletePublicAccessBlock:                     {"DeletePublicAccessBlock", (*Server).deletePublicAccessBlock, onBucket(policy.BucketUpdate), act("s3:PutBucketPublicAccessBlock")},
		OpGetBucketReplication:                        unimplemented("GetBucketReplication"),
		OpPutBucketReplication:                        unimplemented("PutBucketReplication"),
		OpDeleteBucketReplication:                     unimplemented("DeleteBucketReplication"),
		OpGetBucketRequestPayment:                     unimplemented("GetBucketRequestPayment"),
		OpPutBucketRequestPayment:                     unimplemented("PutBucketRequestPayment"),
		OpRestoreObject:                               unimplemented("RestoreObject"),
		OpSelectObjectContent:                         unimplemented("SelectObjectContent"),
		OpGetObjectTorrent:                            unimplemented("GetObjectTorrent"),
		OpGetBucketWebsite:                            unimplemented("GetBucketWebsite"),
		OpPutBucketWebsite:                            unimplemented("PutBucketWebsite"),
		OpDeleteBucketWebsite:                         unimplemented("DeleteBucketWebsite"),
		OpGetObjectAttributes:                         {"GetObjectAttributes", (*Server).getObjectAttributes, onBucket(policy.ObjectRead), act("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes")},

		// Newer subresources, which would otherwise pass for the plain
		// request (DELETE /b?metadataTable for DeleteBucket).
		OpCreateSession:                                   unimplemented("CreateSession"),
		OpCreateBucketMetadataConfiguration:               unimplemented("CreateBucketMetadataConfiguration"),
		OpGetBucketMetadataConfiguration:                  unimplemented("GetBucketMetadataConfiguration"),
		OpDeleteBucketMetadataConfiguration:               unimplemented("DeleteBucketMetadataConfiguration"),
		OpCreateBucketMetadataTableConfiguration:          unimplemented("CreateBucketMetadataTableConfiguration"),
		OpGetBucketMetadataTableConfiguration:             unimplemented("GetBucketMetadataTableConfiguration"),
		OpDeleteBucketMetadataTableConfiguration:          unimplemented("DeleteBucketMetadataTableConfiguration"),
		OpUpdateBucketMetadataInventoryTableConfiguration: unimplemented("UpdateBucketMetadataInventoryTableConfiguration"),
		OpUpdateBucketMetadataJournalTableConfiguration:   unimplemented("UpdateBucketMetadataJournalTableConfiguration"),
		OpRenameObject: unimplemented("RenameObject"),
	}
}

// unimplemented is the row of an S3 operation Cairn does not implement:
// refused with 501 before anything is looked at.
func unimplemented(label string) opRow {
	return opRow{label: label, serve: (*Server).notImplemented, access: refused()}
}
