package rpcerr

import (
	"context"
	"errors"
	"fmt"

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
)

type entry struct {
	err    error
	code   codes.Code
	reason string
}

// table is the one mapping between sentinels and the wire. Order matters
// only for errors that wrap two sentinels: the first match wins.
var table = []entry{
	{ErrBucketNotFound, codes.NotFound, "BUCKET_NOT_FOUND"},
	{ErrBucketExists, codes.AlreadyExists, "BUCKET_EXISTS"},
	{ErrBucketNotEmpty, codes.FailedPrecondition, "BUCKET_NOT_EMPTY"},
	{ErrObjectNotFound, codes.NotFound, "OBJECT_NOT_FOUND"},
	{ErrShardNotFound, codes.NotFound, "SHARD_NOT_FOUND"},
	{ErrChecksum, codes.DataLoss, "CHECKSUM_MISMATCH"},
	{ErrNodeNotFound, codes.NotFound, "NODE_NOT_FOUND"},
	{ErrNotLeader, codes.Unavailable, "NOT_LEADER"},
	{ErrNoLeader, codes.Unavailable, "NO_LEADER"},
	{ErrInvalidArgument, codes.InvalidArgument, "INVALID_ARGUMENT"},
	{ErrNotEnoughNodes, codes.Unavailable, "NOT_ENOUGH_NODES"},
	{ErrUploadNotFound, codes.NotFound, "UPLOAD_NOT_FOUND"},
	{ErrInvalidPart, codes.FailedPrecondition, "INVALID_PART"},
	{ErrInvalidPartOrder, codes.InvalidArgument, "INVALID_PART_ORDER"},
	{ErrEntityTooSmall, codes.FailedPrecondition, "ENTITY_TOO_SMALL"},
	{ErrPreconditionFailed, codes.FailedPrecondition, "PRECONDITION_FAILED"},
	{ErrNamespaceNotFound, codes.NotFound, "NAMESPACE_NOT_FOUND"},
	{ErrNamespaceExists, codes.AlreadyExists, "NAMESPACE_EXISTS"},
	{ErrUserNotFound, codes.NotFound, "USER_NOT_FOUND"},
	{ErrUserExists, codes.AlreadyExists, "USER_EXISTS"},
	{ErrKeyNotFound, codes.NotFound, "KEY_NOT_FOUND"},
	{ErrCompartmentNotFound, codes.NotFound, "COMPARTMENT_NOT_FOUND"},
	{ErrCompartmentExists, codes.AlreadyExists, "COMPARTMENT_EXISTS"},
	{ErrGroupNotFound, codes.NotFound, "GROUP_NOT_FOUND"},
	{ErrGroupExists, codes.AlreadyExists, "GROUP_EXISTS"},
	{ErrPolicyNotFound, codes.NotFound, "POLICY_NOT_FOUND"},
	{ErrPolicyExists, codes.AlreadyExists, "POLICY_EXISTS"},
	{ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED"},
	{ErrMemberNotFound, codes.NotFound, "MEMBER_NOT_FOUND"},
	{ErrNoSpace, codes.ResourceExhausted, "NO_SPACE"},
	{ErrPermissionDenied, codes.PermissionDenied, "PERMISSION_DENIED"},
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
	for _, e := range table {
		if errors.Is(err, e.err) {
			st := status.New(e.code, err.Error())
			if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: e.reason, Domain: Domain}); derr == nil {
				st = withInfo
			}
			return st.Err()
		}
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
		for _, e := range table {
			if e.reason == info.Reason {
				return &wireError{sentinel: e.err, msg: st.Message(), code: st.Code()}
			}
		}
	}
	return err
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
// no leader, not the leader, or the server is unreachable.
func Retryable(err error) bool {
	if errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotLeader) {
		return true
	}
	return status.Code(err) == codes.Unavailable
}
