package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRoundTripKeepsSentinel(t *testing.T) {
	for _, e := range table {
		wrapped := fmt.Errorf("doing a thing: %w", e.Err)
		st := ToStatus(wrapped)
		if got := status.Code(st); got != e.Code {
			t.Fatalf("%v: code %v, want %v", e.Err, got, e.Code)
		}
		back := FromStatus(st)
		if !errors.Is(back, e.Err) {
			t.Fatalf("%v: round trip lost the sentinel: %v", e.Err, back)
		}
		if status.Code(back) != e.Code {
			t.Fatalf("%v: client-side code %v, want %v", e.Err, status.Code(back), e.Code)
		}
		if Retryable(back) != e.Retryable || Retryable(wrapped) != e.Retryable {
			t.Fatalf("%v: retryable %v here and %v after the wire, want %v", e.Err, Retryable(wrapped), Retryable(back), e.Retryable)
		}
		if ReasonOf(wrapped) != e.Reason || ReasonOf(back) != e.Reason || ReasonOf(st) != e.Reason {
			t.Fatalf("%v: ReasonOf %q, %q after the wire, %q of the status; want %q", e.Err, ReasonOf(wrapped), ReasonOf(back), ReasonOf(st), e.Reason)
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

func TestReasonOfOthers(t *testing.T) {
	for _, err := range []error{nil, errors.New("boom"), context.Canceled, status.Error(codes.Unavailable, "conn refused")} {
		if r := ReasonOf(err); r != "" {
			t.Fatalf("ReasonOf(%v) = %q, want none", err, r)
		}
	}
}
