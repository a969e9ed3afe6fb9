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
}

// opTable is the one table of operations: routing, authorization and
// metrics all read it (New keeps a copy in the Server). TestOpTable
// checks every Op has a complete row and that labels are unique.
func opTable() [opCount]opRow {
	return [opCount]opRow{
		OpOther:          {"Other", (*Server).methodNotAllowed, refused()},
		OpNotImplemented: {"NotImplemented", (*Server).notImplemented, refused()},

		OpListBuckets: {"ListBuckets", (*Server).listBuckets, access{rule: accessListBuckets}},
		OpPreflight:   {"Preflight", (*Server).preflight, access{rule: accessByHandler}},

		OpCreateBucket:         {"CreateBucket", (*Server).createBucket, access{rule: accessCreateBucket}},
		OpHeadBucket:           {"HeadBucket", (*Server).headBucket, onBucket(policy.BucketInspect)},
		OpDeleteBucket:         {"DeleteBucket", (*Server).deleteBucket, onBucket(policy.BucketDelete)},
		OpGetBucketLocation:    {"GetBucketLocation", (*Server).getBucketLocation, onBucket(policy.BucketRead)},
		OpListObjects:          {"ListObjects", (*Server).listObjectsV1, onBucket(policy.ObjectInspect)},
		OpListObjectsV2:        {"ListObjectsV2", (*Server).listObjectsV2, onBucket(policy.ObjectInspect)},
		OpListObjectVersions:   {"ListObjectVersions", (*Server).listObjectVersions, onBucket(policy.ObjectInspect)},
		OpListMultipartUploads: {"ListMultipartUploads", (*Server).listMultipartUploads, onBucket(policy.ObjectInspect)},
		OpDeleteObjects:        {"DeleteObjects", (*Server).deleteObjects, access{rule: accessPerm, perm: policy.ObjectDelete, bypass: true}},
		OpPostObject:           {"PostObject", (*Server).postObject, access{rule: accessByHandler}},
		OpGetBucketTagging:     {"GetBucketTagging", (*Server).getBucketTagging, onBucket(policy.BucketRead)},
		OpPutBucketTagging:     {"PutBucketTagging", (*Server).putBucketTagging, onBucket(policy.BucketUpdate)},
		OpDeleteBucketTagging:  {"DeleteBucketTagging", (*Server).deleteBucketTagging, onBucket(policy.BucketUpdate)},
		OpGetBucketVersioning:  {"GetBucketVersioning", (*Server).getBucketVersioning, onBucket(policy.BucketRead)},
		OpPutBucketVersioning:  {"PutBucketVersioning", (*Server).putBucketVersioning, onBucket(policy.BucketUpdate)},

		OpPutObject:               {"PutObject", (*Server).putObject, access{rule: accessWrite}},
		OpCopyObject:              {"CopyObject", (*Server).copyObject, access{rule: accessCopy}},
		OpGetObject:               {"GetObject", (*Server).getObject, onBucket(policy.ObjectRead)},
		OpHeadObject:              {"HeadObject", (*Server).headObject, onBucket(policy.ObjectRead)},
		OpDeleteObject:            {"DeleteObject", (*Server).deleteObject, access{rule: accessPerm, perm: policy.ObjectDelete, versionPerm: policy.ObjectVersionDelete, bypass: true}},
		OpGetObjectTagging:        {"GetObjectTagging", (*Server).getObjectTagging, onBucket(policy.ObjectRead)},
		OpPutObjectTagging:        {"PutObjectTagging", (*Server).putObjectTagging, onBucket(policy.ObjectOverwrite)},
		OpDeleteObjectTagging:     {"DeleteObjectTagging", (*Server).deleteObjectTagging, onBucket(policy.ObjectOverwrite)},
		OpCreateMultipartUpload:   {"CreateMultipartUpload", (*Server).createMultipartUpload, access{rule: accessWrite}},
		OpUploadPart:              {"UploadPart", (*Server).uploadPart, access{rule: accessWrite}},
		OpUploadPartCopy:          {"UploadPartCopy", (*Server).uploadPartCopy, access{rule: accessCopy}},
		OpCompleteMultipartUpload: {"CompleteMultipartUpload", (*Server).completeMultipartUpload, access{rule: accessWrite}},
		OpAbortMultipartUpload:    {"AbortMultipartUpload", (*Server).abortMultipartUpload, onBucket(policy.ObjectDelete)},
		OpListParts:               {"ListParts", (*Server).listParts, onBucket(policy.ObjectInspect)},

		OpGetObjectLockConfiguration: {"GetObjectLockConfiguration", (*Server).getObjectLockConfiguration, onBucket(policy.BucketRead)},
		OpPutObjectLockConfiguration: {"PutObjectLockConfiguration", (*Server).putObjectLockConfiguration, onBucket(policy.BucketUpdate)},
		OpGetObjectRetention:         {"GetObjectRetention", (*Server).getObjectRetention, onBucket(policy.ObjectRead)},
		OpPutObjectRetention:         {"PutObjectRetention", (*Server).putObjectRetention, access{rule: accessPerm, perm: policy.ObjectOverwrite, bypass: true}},
		OpGetObjectLegalHold:         {"GetObjectLegalHold", (*Server).getObjectLegalHold, onBucket(policy.ObjectRead)},
		OpPutObjectLegalHold:         {"PutObjectLegalHold", (*Server).putObjectLegalHold, onBucket(policy.ObjectOverwrite)},

		OpGetBucketAcl:                                {"GetBucketAcl", (*Server).getBucketACL, onBucket(policy.BucketRead)},
		OpPutBucketAcl:                                {"PutBucketAcl", (*Server).putBucketACL, onBucket(policy.BucketUpdate)},
		OpGetObjectAcl:                                {"GetObjectAcl", (*Server).getObjectACL, onBucket(policy.ObjectRead)},
		OpPutObjectAcl:                                {"PutObjectAcl", (*Server).putObjectACL, onBucket(policy.ObjectOverwrite)},
		OpGetBucketAccelerateConfiguration:            unimplemented("GetBucketAccelerateConfiguration"),
		OpPutBucketAccelerateConfiguration:            unimplemented("PutBucketAccelerateConfiguration"),
		OpGetBucketAnalyticsConfiguration:             unimplemented("GetBucketAnalyticsConfiguration"),
		OpListBucketAnalyticsConfigurations:           unimplemented("ListBucketAnalyticsConfigurations"),
		OpPutBucketAnalyticsConfiguration:             unimplemented("PutBucketAnalyticsConfiguration"),
		OpDeleteBucketAnalyticsConfiguration:          unimplemented("DeleteBucketAnalyticsConfiguration"),
		OpGetBucketCors:                               {"GetBucketCors", (*Server).getBucketCors, onBucket(policy.BucketRead)},
		OpPutBucketCors:                               {"PutBucketCors", (*Server).putBucketCors, onBucket(policy.BucketUpdate)},
		OpDeleteBucketCors:                            {"DeleteBucketCors", (*Server).deleteBucketCors, onBucket(policy.BucketUpdate)},
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
		OpGetBucketLifecycleConfiguration:             {"GetBucketLifecycleConfiguration", (*Server).getBucketLifecycle, onBucket(policy.BucketRead)},
		OpPutBucketLifecycleConfiguration:             {"PutBucketLifecycleConfiguration", (*Server).putBucketLifecycle, onBucket(policy.BucketUpdate)},
		OpDeleteBucketLifecycle:                       {"DeleteBucketLifecycle", (*Server).deleteBucketLifecycle, onBucket(policy.BucketUpdate)},
		OpGetBucketLogging:                            unimplemented("GetBucketLogging"),
		OpPutBucketLogging:                            unimplemented("PutBucketLogging"),
		OpGetBucketMetricsConfiguration:               unimplemented("GetBucketMetricsConfiguration"),
		OpListBucketMetricsConfigurations:             unimplemented("ListBucketMetricsConfigurations"),
		OpPutBucketMetricsConfiguration:               unimplemented("PutBucketMetricsConfiguration"),
		OpDeleteBucketMetricsConfiguration:            unimplemented("DeleteBucketMetricsConfiguration"),
		OpGetBucketNotificationConfiguration:          unimplemented("GetBucketNotificationConfiguration"),
		OpPutBucketNotificationConfiguration:          unimplemented("PutBucketNotificationConfiguration"),
		OpGetBucketOwnershipControls:                  {"GetBucketOwnershipControls", (*Server).getBucketOwnershipControls, onBucket(policy.BucketRead)},
		OpPutBucketOwnershipControls:                  {"PutBucketOwnershipControls", (*Server).putBucketOwnershipControls, onBucket(policy.BucketUpdate)},
		OpDeleteBucketOwnershipControls:               unimplemented("DeleteBucketOwnershipControls"),
		OpGetBucketPolicy:                             unimplemented("GetBucketPolicy"),
		OpPutBucketPolicy:                             unimplemented("PutBucketPolicy"),
		OpDeleteBucketPolicy:                          unimplemented("DeleteBucketPolicy"),
		OpGetBucketPolicyStatus:                       unimplemented("GetBucketPolicyStatus"),
		OpGetPublicAccessBlock:                        unimplemented("GetPublicAccessBlock"),
		OpPutPublicAccessBlock:                        unimplemented("PutPublicAccessBlock"),
		OpDeletePublicAccessBlock:                     unimplemented("DeletePublicAccessBlock"),
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
		OpGetObjectAttributes:                         {"GetObjectAttributes", (*Server).getObjectAttributes, onBucket(policy.ObjectRead)},

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
