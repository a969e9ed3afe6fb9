package meta

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Request IDs travel as gRPC metadata from the client (metaclient) to the
// proposer, which copies them into the Command; the FSM's dedupe (package
// fsm) does the rest.

// requestIDKey and requestStartKey are the gRPC metadata keys; they
// equal metaclient.RequestIDKey and metaclient.RequestStartKey.
const (
	requestIDKey    = "cairn-request-id"
	requestStartKey = "cairn-request-start"
)

// stampRequest copies the caller's request ID and start time from ctx's
// incoming gRPC metadata into cmd, unless cmd already carries an ID. A
// context without them (background work, old clients) leaves cmd as is.
func stampRequest(ctx context.Context, cmd *cairnpb.Command) error {
	if len(cmd.GetRequestId()) > 0 {
		return nil
	}
	id, start, err := requestOf(ctx)
	if err != nil || id == nil {
		return err
	}
	cmd.RequestId, cmd.RequestStartUnixNano = id, start
	return nil
}

// requestOf returns the request ID and start time in ctx's incoming
// metadata; a nil ID when there is none.
func requestOf(ctx context.Context) (id []byte, start int64, err error) {
	ids := metadata.ValueFromIncomingContext(ctx, requestIDKey)
	if len(ids) == 0 {
		return nil, 0, nil
	}
	id, err = hex.DecodeString(ids[0])
	if err != nil || len(id) != fsm.RequestIDLen {
		return nil, 0, fsm.Invalid("%s must be %d hex-encoded bytes", requestIDKey, fsm.RequestIDLen)
	}
	starts := metadata.ValueFromIncomingContext(ctx, requestStartKey)
	if len(starts) == 0 {
		return nil, 0, fsm.Invalid("%s comes without %s", requestIDKey, requestStartKey)
	}
	start, err = strconv.ParseInt(starts[0], 10, 64)
	if err != nil || start <= 0 {
		return nil, 0, fsm.Invalid("%s must be a positive unix time in nanoseconds", requestStartKey)
	}
	return id, start, nil
}

// requestTimeID is newTimeID for an ID the caller is answered with: for a
// call with a request ID it is made of the call's start time and the
// request ID, so every attempt of the call draws the same ID and the
// answer to an attempt found already applied names what the first one
// created. Without a request ID it is newTimeID(now).
func requestTimeID(ctx context.Context, now time.Time) (string, error) {
	id, start, err := requestOf(ctx)
	if err != nil {
		return "", err
	}
	if id == nil {
		return newTimeID(now)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(start))
	copy(b[8:], id)
	return hex.EncodeToString(b[:]), nil
}

// withRequestID copies the caller's request ID metadata onto a request
// forwarded to the leader.
func withRequestID(ctx context.Context) context.Context {
	for _, k := range []string{requestIDKey, requestStartKey} {
		if v := metadata.ValueFromIncomingContext(ctx, k); len(v) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, k, v[0])
		}
	}
	return ctx
}

// withoutRequestID hides the caller's request ID from a proposal that is
// not the call's own command: an ID names one command, and a second
// command proposed with it would make the call's own a duplicate.
func withoutRequestID(ctx context.Context) context.Context {
	return metadata.NewIncomingContext(ctx, metadata.MD{})
}
