package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain Cairn puts on its statuses.
const Domain = "cairn"

// Sentinels. Each has one gRPC code and one reason string on the wire.
var (
	// ErrBucketNotFound: the named bucket does not exist in the namespace.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrBucketExists: a bucket with that name already exists in the namespace.
	ErrBucketExists = errors.New("bucket already exists")
	// ErrBucketNotEmpty: the bucket still holds objects.
	ErrBucketNotEmpty = errors.New("bucket not empty")
	// ErrObjectNotFound: the key has no current version.
	ErrObjectNotFound = errors.New("object not found")
	// ErrShardNotFound: the data node holds no such shard.
	ErrShardNotFound = errors.New("shard not found")
	// ErrChecksum: stored bytes failed their checksum.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNodeNotFound: no data node is registered under that ID.
	ErrNodeNotFound = errors.New("data node not found")
	// ErrNotLeader: this meta node is not the leader and could not forward.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrNoLeader: the meta group has no leader right now.
	ErrNoLeader = errors.New("no raft leader")
	// ErrInvalidArgument: the request is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotEnoughNodes: too few healthy data nodes for the erasure scheme.
	ErrNotEnoughNodes = errors.New("not enough data nodes")
	// ErrUploadNotFound: no multipart upload with that ID for the key.
	ErrUploadNotFound = errors.New("multipart upload not found")
	// ErrInvalidPart: a part listed to complete an upload was not uploaded,
	// or its ETag or checksum does not match.
	ErrInvalidPart = errors.New("invalid part")
	// ErrInvalidPartOrder: the parts to complete an upload are not in
	// ascending order of part number.
	ErrInvalidPartOrder = errors.New("invalid part order")
	// ErrEntityTooSmall: a part other than the last is below the minimum
	// part size.
	ErrEntityTooSmall = errors.New("part too small")
	// ErrPreconditionFailed: a conditional write's condition on the key's
	// current version did not hold.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrNamespaceNotFound: no namespace of that name.
	ErrNamespaceNotFound = errors.New("namespace not found")
	// ErrNamespaceExists: a namespace of that name already exists.
	ErrNamespaceExists = errors.New("namespace already exists")
	// ErrUserNotFound: the namespace has no user of that name.
	ErrUserNotFound = errors.New("user not found")
	// ErrUserExists: the namespace already has a user of that name.
	ErrUserExists = errors.New("user already exists")
	// ErrKeyNotFound: no access key with that ID.
	ErrKeyNotFound = errors.New("access key not found")
	// ErrPARNotFound: no pre-authenticated request of that ID or token.
	ErrPARNotFound = errors.New("pre-authenticated request not found")
	// ErrWorkRequestNotFound: the namespace has no work request of that ID
	// (never made, or pruned).
	ErrWorkRequestNotFound = errors.New("work request not found")
	// ErrCompartmentNotFound: the namespace has no compartment of that name.
	ErrCompartmentNotFound = errors.New("compartment not found")
	// ErrCompartmentExists: the namespace already has a compartment of that name.
	ErrCompartmentExists = errors.New("compartment already exists")
	// ErrGroupNotFound: the namespace has no group of that name.
	ErrGroupNotFound = errors.New("group not found")
	// ErrGroupExists: the namespace already has a group of that name.
	ErrGroupExists = errors.New("group already exists")
	// ErrPolicyNotFound: the namespace has no policy of that name.
	ErrPolicyNotFound = errors.New("policy not found")
	// ErrPolicyExists: the namespace already has a policy of that name.
	ErrPolicyExists = errors.New("policy already exists")
	// ErrUnauthenticated: an Admin call without the admin token, or with
	// a token that does not match the cluster's.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrMemberNotFound: no meta group member with that ID.
	ErrMemberNotFound = errors.New("meta member not found")
	// ErrNoSpace: a data node keeps a reserve of free disk space and
	// refuses writes that would eat into it.
	ErrNoSpace = errors.New("not enough free disk space")
	// ErrPermissionDenied: the caller is authenticated, but its role or
	// identity may not make this call.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrObjectLocked: the version has a retention in force or a legal
	// hold, so it cannot be removed, or its retention cannot be weakened.
	ErrObjectLocked = errors.New("object protected by object lock")
	// ErrInvalidBucketState: the request does not fit the bucket's state
	// (suspending versioning on a bucket with object lock; object lock on
	// a bucket without versioning Enabled).
	ErrInvalidBucketState = errors.New("invalid bucket state")
	// ErrNoObjectLock: object lock was asked of a bucket that does not
	// have it.
	ErrNoObjectLock = errors.New("bucket has no object lock configuration")
	// ErrPublicPolicyBlocked: a public bucket policy was given to a bucket
	// whose public access block has BlockPublicPolicy on.
	ErrPublicPolicyBlocked = errors.New("public bucket policy blocked by the public access block")
)

// Sentinel is everything Cairn decides about one sentinel error, in one
// row: how it crosses the wire and what it means to whoever receives it.
// Every list of sentinels elsewhere (the retry rule, the FSM's refusal
// rule, the gateway's S3 translation) is derived from these rows, and
// TestEverySentinelHasARow fails when a sentinel has no row or a row leaves
// a fact undecided.
type Sentinel struct {
	// Err is the sentinel; matched with errors.Is.
	Err error
	// Code is the gRPC code it travels with.
	Code codes.Code
	// Reason is its ErrorInfo reason on the wire, unique among the rows;
	// clients turn it back into Err.
	Reason string
	// Retryable: another server, or the same one a moment later, may
	// answer differently, so clients try again (metaclient, cairnctl).
	// A row is retryable exactly when its code is Unavailable, so a client
	// that sees only the code (an older server, a proxy) decides the same.
	// Every other sentinel is a definitive answer: no other node would
	// change it.
	Retryable bool
	// S3 is the S3 error code (as AWS spells it, e.g. "NoSuchBucket") the
	// gateway answers a request that failed with this sentinel;
	// "InternalError" when the sentinel reaching an S3 client unexplained
	// is a server-side fault. The gateway resolves the name in
	// s3api/errors.go.
	S3 string
}

// table is the one mapping between sentinels and their facts. Order
// matters only for errors that wrap two sentinels: the first match wins.
// Every row is also a refusal when an apply returns it (meta/refusal.go):
// that rule is derived from the table as a whole, not a column.
var table = []Sentinel{
	{ErrBucketNotFound, codes.NotFound, "BUCKET_NOT_FOUND", false, "NoSuchBucket"},
	{ErrBucketExists, codes.AlreadyExists, "BUCKET_EXISTS", false, "BucketAlreadyOwnedByYou"},
	{ErrBucketNotEmpty, codes.FailedPrecondition, "BUCKET_NOT_EMPTY", false, "BucketNotEmpty"},
	{ErrObjectNotFound, codes.NotFound, "OBJECT_NOT_FOUND", false, "NoSuchKey"},
	{ErrShardNotFound, codes.NotFound, "SHARD_NOT_FOUND", false, "InternalError"},
	{ErrChecksum, codes.DataLoss, "CHECKSUM_MISMATCH", false, "InternalError"},
	{ErrNodeNotFound, codes.NotFound, "NODE_NOT_FOUND", false, "InternalError"},
	{ErrNotLeader, codes.Unavailable, "NOT_LEADER", true, "ServiceUnavailable"},
	{ErrNoLeader, codes.Unavailable, "NO_LEADER", true, "ServiceUnavailable"},
	{ErrInvalidArgument, codes.InvalidArgument, "INVALID_ARGUMENT", false, "InvalidArgument"},
	{ErrNotEnoughNodes, codes.Unavailable, "NOT_ENOUGH_NODES", true, "ServiceUnavailable"},
	{ErrUploadNotFound, codes.NotFound, "UPLOAD_NOT_FOUND", false, "NoSuchUpload"},
	{ErrInvalidPart, codes.FailedPrecondition, "INVALID_PART", false, "InvalidPart"},
	{ErrInvalidPartOrder, codes.InvalidArgument, "INVALID_PART_ORDER", false, "InvalidPartOrder"},
	{ErrEntityTooSmall, codes.FailedPrecondition, "ENTITY_TOO_SMALL", false, "EntityTooSmall"},
	{ErrPreconditionFailed, codes.FailedPrecondition, "PRECONDITION_FAILED", false, "PreconditionFailed"},
	{ErrNamespaceNotFound, codes.NotFound, "NAMESPACE_NOT_FOUND", false, "InternalError"},
	{ErrNamespaceExists, codes.AlreadyExists, "NAMESPACE_EXISTS", false, "InternalError"},
	{ErrUserNotFound, codes.NotFound, "USER_NOT_FOUND", false, "InternalError"},
	{ErrUserExists, codes.AlreadyExists, "USER_EXISTS", false, "InternalError"},
	{ErrKeyNotFound, codes.NotFound, "KEY_NOT_FOUND", false, "InternalError"},
	{ErrPARNotFound, codes.NotFound, "PAR_NOT_FOUND", false, "InternalError"},
	{ErrWorkRequestNotFound, codes.NotFound, "WORK_REQUEST_NOT_FOUND", false, "InternalError"},
	{ErrCompartmentNotFound, codes.NotFound, "COMPARTMENT_NOT_FOUND", false, "InternalError"},
	{ErrCompartmentExists, codes.AlreadyExists, "COMPARTMENT_EXISTS", false, "InternalError"},
	{ErrGroupNotFound, codes.NotFound, "GROUP_NOT_FOUND", false, "InternalError"},
	{ErrGroupExists, codes.AlreadyExists, "GROUP_EXISTS", false, "InternalError"},
	{ErrPolicyNotFound, codes.NotFound, "POLICY_NOT_FOUND", false, "InternalError"},
	{ErrPolicyExists, codes.AlreadyExists, "POLICY_EXISTS", false, "InternalError"},
	{ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED", false, "InternalError"},
	{ErrMemberNotFound, codes.NotFound, "MEMBER_NOT_FOUND", false, "InternalError"},
	{ErrNoSpace, codes.ResourceExhausted, "NO_SPACE", false, "InternalError"},
	{ErrPermissionDenied, codes.PermissionDenied, "PERMISSION_DENIED", false, "InternalError"},
	{ErrObjectLocked, codes.FailedPrecondition, "OBJECT_LOCKED", false, "AccessDenied"},
	{ErrInvalidBucketState, codes.FailedPrecondition, "INVALID_BUCKET_STATE", false, "InvalidBucketState"},
	{ErrNoObjectLock, codes.FailedPrecondition, "NO_OBJECT_LOCK", false, "InvalidRequest"},
	{ErrPublicPolicyBlocked, codes.FailedPrecondition, "PUBLIC_POLICY_BLOCKED", false, "AccessDenied"},
}

// Sentinels returns the rows of the table, in match order, for the edges
// that derive their own lists from them (the gateway's S3 translation).
func Sentinels() []Sentinel { return slices.Clone(table) }

// match returns the row of the first sentinel err wraps.
func match(err error) (Sentinel, bool) {
	for _, s := range table {
		if errors.Is(err, s.Err) {
			return s, true
		}
	}
	return Sentinel{}, false
}

// ToStatus converts err into a gRPC status error. Sentinels (matched with
// errors.Is, so wrapped ones too) keep their reason; context errors become
// Canceled/DeadlineExceeded; anything already a status passes through;
// everything else is Internal.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if s, ok := match(err); ok {
		st := status.New(s.Code, err.Error())
		if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: s.Reason, Domain: Domain}); derr == nil {
			st = withInfo
		}
		return st.Err()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// FromStatus converts a gRPC error back into the sentinel its reason names,
// wrapped with the server's message. Errors without a Cairn reason are
// returned unchanged (still inspectable with status.Code).
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.Domain != Domain {
			continue
		}
		for _, s := range table {
			if s.Reason == info.Reason {
				return &wireError{sentinel: s.Err, msg: st.Message(), code: st.Code()}
			}
		}
	}
	return err
}

// ReasonOf returns the reason err has in Cairn's vocabulary: that of the
// first sentinel it wraps (whether made here or turned back from the wire
// by FromStatus), else the Cairn reason of the status it is, else "". It
// is how code that does not answer an RPC asks whether an error is one of
// the table's (meta's refusal rule) without making a status.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	if s, ok := match(err); ok {
		return s.Reason
	}
	return Reason(err)
}

// Reason returns the Cairn reason carried by a status error, or "".
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == Domain {
			return info.Reason
		}
	}
	return ""
}

// wireError is a sentinel that crossed the wire. It still answers
// status.Code and errors.Is(sentinel).
type wireError struct {
	sentinel error
	msg      string
	code     codes.Code
}

func (e *wireError) Error() string { return fmt.Sprintf("rpc: %s", e.msg) }
func (e *wireError) Unwrap() error { return e.sentinel }

// GRPCStatus lets status.FromError and status.Code see the original code.
func (e *wireError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// Retryable reports whether err is worth retrying against another server:
// it wraps a sentinel whose row says so (no leader, not the leader, too few
// data nodes), or it is an Unavailable status (the server is unreachable
// or shutting down).
func Retryable(err error) bool {
	if s, ok := match(err); ok && s.Retryable {
		return true
	}
	return status.Code(err) == codes.Unavailable
}
