package fsm

import (
	"errors"

	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Refusals: the errors an apply may end with.
//
// An apply's error is either a refusal or a storage failure. A refusal is
// a deterministic outcome: every replica reaches it for the same entry on
// the same state, the command changes nothing, and the proposer is
// answered with it. A storage failure panics, because a replica that went
// on would diverge from the others.
//
// The rule that tells them apart is derived, not listed: an error is a
// refusal exactly when it wraps a sentinel of proto/rpcerr's table, the
// sentinels that have a reason (rpcerr.ReasonOf). Cairn used to keep a
// list of the sentinels an apply may return; a new sentinel that an apply
// returned but the list missed made every replica panic on the same log
// entry, and again on every restart when the entry was replayed. Per-row
// lists in the command table were considered and rejected for the same
// reason: 36 lists to keep in step with the code, each omission a crash
// loop that shows only when that branch runs. The derived rule is sound
// because an apply does no I/O besides the local Pebble batch, so nothing
// it can observe differs between replicas except a storage failure, and
// storage failures never wrap an rpcerr sentinel (GetProto, putProto, del
// and scan wrap the Pebble or proto error only). It costs nothing to
// follow: a refusal has to cross the gRPC edge as a reason anyway, so an
// apply that refused with an error outside rpcerr would be a bug there too.
// TestFSMRefusalRule pins the rule, and the determinism fuzz
// (determinism_test.go) runs every command type and fails on any error
// that is neither nil nor a refusal.

// RefusalReason returns the rpcerr reason of the sentinel err wraps, or ""
// when it wraps none: for an apply's error, "" means a storage failure. In
// a read it tells a state of things (not found, exists, ...) from a
// failure in the same way.
func RefusalReason(err error) string { return rpcerr.ReasonOf(err) }

// refusal is the FSM's answer to an entry it refused: ApplyBatch returns
// each refused command's error wrapped in one. It reads and matches
// (errors.Is) like the error it wraps.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// IsRefusal reports whether err, as returned by propose, is the FSM's
// refusal of the command: the entry committed and changed nothing. Other
// errors of propose (rpcerr.ErrNotLeader after a lost leadership, a
// context's end) leave open whether the entry commits.
func IsRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}
