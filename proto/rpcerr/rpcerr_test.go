package rpcerr

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRoundTripKeepsSentinel(t *testing.T) {
	for _, e := range table {
		wrapped := fmt.Errorf("doing a thing: %w", e.err)
		st := ToStatus(wrapped)
		if got := status.Code(st); got != e.code {
			t.Fatalf("%v: code %v, want %v", e.err, got, e.code)
		}
		back := FromStatus(st)
		if !errors.Is(back, e.err) {
			t.Fatalf("%v: round trip lost the sentinel: %v", e.err, back)
		}
		if status.Code(back) != e.code {
			t.Fatalf("%v: client-side code %v, want %v", e.err, status.Code(back), e.code)
		}
	}
}

func TestUnknownErrorIsInternal(t *testing.T) {
	st := ToStatus(errors.New("boom"))
	if status.Code(st) != codes.Internal {
		t.Fatalf("got %v", status.Code(st))
	}
	if errors.Is(FromStatus(st), ErrBucketNotFound) {
		t.Fatal("an internal error must not match a sentinel")
	}
}

func TestRetryable(t *testing.T) {
	if !Retryable(FromStatus(ToStatus(ErrNoLeader))) {
		t.Fatal("no leader should be retryable")
	}
	if Retryable(FromStatus(ToStatus(ErrBucketNotFound))) {
		t.Fatal("not found must not be retryable")
	}
	if !Retryable(status.Error(codes.Unavailable, "conn refused")) {
		t.Fatal("unavailable should be retryable")
	}
}
