package metaclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"
)

// gRPC metadata keys naming one logical call. Every attempt of a call, on
// whichever meta node, carries the same values, so the meta group applies
// a mutating call at most once however often it is delivered, and refuses
// one delivered long after it started.
const (
	// RequestIDKey carries 16 random bytes, hex-encoded.
	RequestIDKey = "cairn-request-id"
	// RequestStartKey carries the client's clock when the call began, in
	// unix nanoseconds (decimal).
	RequestStartKey = "cairn-request-start"
)

// SetClock replaces the clock that stamps each call's start (default
// time.Now). Call it before the client is used.
func (c *Client) SetClock(now func() time.Time) { c.now = now }

// withRequestID returns ctx carrying a fresh request ID and start time,
// unless the caller's outgoing metadata already names one.
func (c *Client) withRequestID(ctx context.Context) (context.Context, error) {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(RequestIDKey)) > 0 {
		return ctx, nil
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("metaclient: draw request id: %w", err)
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	return metadata.AppendToOutgoingContext(ctx,
		RequestIDKey, hex.EncodeToString(id[:]),
		RequestStartKey, strconv.FormatInt(now().UnixNano(), 10)), nil
}
