package fsm

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Request deduplication. A client (metaclient) gives every logical mutating
// call an ID and a start time, the same on each of its retries, and sends
// them as gRPC metadata; a follower forwards them to the leader, and propose
// copies them into the Command. The apply of a command whose ID is recorded
// as applied changes nothing and answers success, so a retry that reaches a
// second node, or a first attempt delivered late after the network heals,
// can never apply again on top of newer acknowledged writes.
//
// Records are kept for dedupeRetention of proposer time and a command is
// refused as stale when it is proposed more than staleWindow after its call
// began. A duplicate therefore either finds the record or is refused,
// provided the clocks involved (the client's that stamps the start, and the
// leaders' that stamp unix_nano) differ by less than
// dedupeRetention - staleWindow (2 minutes); with NTP they differ by
// milliseconds. A client clock more than staleWindow behind the leader's
// makes its writes refused as stale, which the error message names.
//
// Which commands are exempt from recording (replayUnsafe) or from the
// stale window (staleHarmless) is a column of the command registry
// (commands.go), where each exemption is explained.
//
// A request handler proposes at most one command with the caller's ctx;
// background work of the leader (repair, rebalance, rewrap, GC) proposes
// with the leadership's ctx, which carries no request ID.
const (
	RequestIDLen = 16

	// staleWindow is how long after its start a call's command may still
	// be applied.
	staleWindow = 2 * time.Minute
	// dedupeRetention is how long an applied request ID is remembered; it
	// must exceed staleWindow by more than any clock skew.
	dedupeRetention = 4 * time.Minute
	// dedupePrunePerApply bounds the expired records each recorded apply
	// deletes, so pruning keeps pace without long applies.
	dedupePrunePerApply = 8
)

// Dedupe tables, under the one tag "r/" (see keys.go):
//
//	r/id/<request id>                        -> apply unix nano, 8 bytes BE
//	r/at/<apply unix nano, 8 bytes BE><request id> -> empty (expiry index)
//	r/pruned                                 -> apply unix nano, 8 bytes BE: every
//	                                            r/at/ record before it is pruned
//
// r/pruned is where the next prune starts: the expiry index is deleted
// from its front, and a scan from r/at/ itself would step over every
// deletion not yet compacted away, on every apply.
const (
	TagRequestID = "r/id/"
	tagRequestAt = "r/at/"
	keyPrunedTo  = "r/pruned"
)

func requestIDKeyOf(id []byte) []byte {
	return append([]byte(TagRequestID), id...)
}

func requestAtKey(unixNano int64, id []byte) []byte {
	k := make([]byte, 0, len(tagRequestAt)+8+len(id))
	k = append(k, tagRequestAt...)
	k = binary.BigEndian.AppendUint64(k, uint64(unixNano))
	return append(k, id...)
}

// applyDeduped applies cmd, whose row and payload the registry found,
// unless its request was applied before or is stale, and records the
// request in the same batch when the apply succeeds. The row's
// replayUnsafe and staleHarmless (commands.go) say which of these rules
// apply to it. Like the row's apply it writes nothing when it returns an
// error, and it reads no clock: time is the proposer's cmd.unix_nano.
func applyDeduped(b *pebble.Batch, row *commandRow, e applyEnv, cmd *cairnpb.Command, payload proto.Message) error {
	id := cmd.GetRequestId()
	if len(id) == 0 {
		return row.apply.fn(b, e, payload)
	}
	if len(id) != RequestIDLen {
		return Invalid("request id is %d bytes, want %d", len(id), RequestIDLen)
	}
	seen, err := GetRaw(b, requestIDKeyOf(id))
	if err != nil {
		return err
	}
	if seen != nil {
		return nil // the first application was the real one
	}
	if age := time.Duration(e.now - cmd.GetRequestStartUnixNano()); age > staleWindow && !row.staleHarmless {
		return Invalid("request %x is stale: proposed %s after it started (limit %s); "+
			"it was retried elsewhere or the caller gave up, or the client's clock is behind",
			id, age.Round(time.Millisecond), staleWindow)
	}
	if err := row.apply.fn(b, e, payload); err != nil {
		return err
	}
	if row.replayUnsafe {
		return nil
	}
	return recordRequest(b, e.now, id)
}

// recordRequest remembers id as applied at now and forgets up to
// dedupePrunePerApply records older than dedupeRetention.
func recordRequest(b *pebble.Batch, now int64, id []byte) error {
	if err := pruneRequests(b, now); err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(now))
	if err := b.Set(requestIDKeyOf(id), v[:], nil); err != nil {
		return fmt.Errorf("meta: record request: %w", err)
	}
	if err := b.Set(requestAtKey(now, id), nil, nil); err != nil {
		return fmt.Errorf("meta: record request: %w", err)
	}
	return nil
}

func pruneRequests(b *pebble.Batch, now int64) error {
	cutoff := now - int64(dedupeRetention)
	if cutoff <= 0 {
		return nil
	}
	lower := []byte(tagRequestAt)
	prunedTo, err := GetRaw(b, []byte(keyPrunedTo))
	if err != nil {
		return err
	}
	if len(prunedTo) == 8 {
		lower = requestAtKey(int64(binary.BigEndian.Uint64(prunedTo)), nil)
	}
	var expired [][]byte
	err = ScanRange(b, lower, requestAtKey(cutoff, nil), func(k, _ []byte) (bool, error) {
		if len(k) < len(tagRequestAt)+8 {
			return true, nil // not a record of this index; leave it
		}
		expired = append(expired, append([]byte(nil), k...))
		return len(expired) < dedupePrunePerApply, nil
	})
	if err != nil {
		return err
	}
	if len(expired) == 0 {
		return nil
	}
	for _, k := range expired {
		if err := del(b, k); err != nil {
			return err
		}
		if err := del(b, requestIDKeyOf(k[len(tagRequestAt)+8:])); err != nil {
			return err
		}
	}
	// Records of the last one's instant may remain (other request IDs):
	// the next scan starts at that instant, not after it.
	last := expired[len(expired)-1]
	if err := b.Set([]byte(keyPrunedTo), last[len(tagRequestAt):len(tagRequestAt)+8], nil); err != nil {
		return fmt.Errorf("meta: record pruning: %w", err)
	}
	return nil
}
