package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Work requests of the native API (CopyObject's), under the "t/" table:
//
//	t/wr/<namespace>\x00<id>                                 -> cairnpb.WorkRequest
//	t/wrt/<namespace>\x00<finished unix nano, 8 bytes BE><id> -> empty (age index of t/wr/)
//
// The gateway records a work request once, finished. The apply that
// records one also prunes its namespace: records finished more than
// WorkRequestRetention before the command's time go, and then the oldest
// while the namespace holds more than MaxWorkRequests. A namespace's
// records are so bounded in number, and in age while it keeps copying.
const (
	tagWorkRequest    = "t/wr/"
	tagWorkRequestAge = "t/wrt/"
)

// WorkRequestRetention is how long a finished work request is kept (as
// long as its namespace records new ones), and MaxWorkRequests how many a
// namespace keeps at most.
const (
	WorkRequestRetention = 30 * 24 * time.Hour
	MaxWorkRequests      = 1000
)

// Bounds on a work request's fields.
const (
	maxWorkRequestIDLen     = 128
	maxWorkRequestField     = 64
	maxWorkRequestResources = 8
	maxWorkRequestEntries   = 16
	maxWorkRequestText      = 4096
)

// The statuses a recorded work request may have: it is recorded finished.
func finishedWorkRequestStatuses() []string { return []string{"COMPLETED", "FAILED", "CANCELED"} }

func workRequestNSPrefix(tag, ns string) []byte {
	k := append([]byte(tag), ns...)
	return append(k, 0)
}

func workRequestKey(ns, id string) []byte {
	return append(workRequestNSPrefix(tagWorkRequest, ns), id...)
}

func workRequestAgeKey(ns string, finished int64, id string) []byte {
	k := binary.BigEndian.AppendUint64(workRequestNSPrefix(tagWorkRequestAge, ns), uint64(finished))
	return append(k, id...)
}

// ValidWorkRequest checks a work request to record; services run it
// before proposing and the apply runs it again.
func ValidWorkRequest(w *cairnpb.WorkRequest) error {
	switch {
	case w.GetId() == "" || len(w.GetId()) > maxWorkRequestIDLen || strings.ContainsAny(w.GetId(), "\x00/"):
		return Invalid("work request: the ID must be 1 to %d characters without / or NUL", maxWorkRequestIDLen)
	case w.GetNamespace() == "" || strings.ContainsRune(w.GetNamespace(), 0):
		return Invalid("work request: the namespace is required")
	case w.GetOperationType() == "" || len(w.GetOperationType()) > maxWorkRequestField:
		return Invalid("work request: the operation type is required")
	case !slices.Contains(finishedWorkRequestStatuses(), w.GetStatus()):
		return Invalid("work request: status %q is not a finished one", w.GetStatus())
	case len(w.GetCompartment()) > maxWorkRequestText || len(w.GetBucket()) > maxWorkRequestText || len(w.GetCreator()) > maxWorkRequestText:
		return Invalid("work request: a name is longer than %d bytes", maxWorkRequestText)
	case len(w.GetResources()) > maxWorkRequestResources:
		return Invalid("work request: more than %d resources", maxWorkRequestResources)
	case len(w.GetErrors()) > maxWorkRequestEntries || len(w.GetLogs()) > maxWorkRequestEntries:
		return Invalid("work request: more than %d errors or log entries", maxWorkRequestEntries)
	case w.GetFinishedUnixNano() <= 0 || w.GetAcceptedUnixNano() > w.GetFinishedUnixNano():
		return Invalid("work request: it must be finished, after it was accepted")
	}
	return nil
}

// GetWorkRequest returns a namespace's work request by ID.
func GetWorkRequest(r pebble.Reader, ns, id string) (*cairnpb.WorkRequest, error) {
	w := &cairnpb.WorkRequest{}
	ok, err := GetProto(r, workRequestKey(ns, id), w)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: work request %q of namespace %q: %w", id, ns, rpcerr.ErrWorkRequestNotFound)
	}
	return w, nil
}

// ListWorkRequests returns a namespace's work requests, newest (by
// finish time) first; compartment, when not empty, keeps one
// compartment's.
func ListWorkRequests(r pebble.Reader, ns, compartment string) ([]*cairnpb.WorkRequest, error) {
	var ids []string
	prefix := workRequestNSPrefix(tagWorkRequestAge, ns)
	err := Scan(r, prefix, func(key, _ []byte) (bool, error) {
		if len(key) < len(prefix)+8 {
			return false, fmt.Errorf("meta: work request age key %q is short", key)
		}
		ids = append(ids, string(key[len(prefix)+8:]))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*cairnpb.WorkRequest, 0, len(ids))
	for _, id := range slices.Backward(ids) {
		w, err := GetWorkRequest(r, ns, id)
		if err != nil {
			return nil, err
		}
		if compartment == "" || w.GetCompartment() == compartment {
			out = append(out, w)
		}
	}
	return out, nil
}

func applyRecordWorkRequest(b *pebble.Batch, now int64, c *cairnpb.WorkRequestRecordCmd) error {
	w := proto.Clone(c.GetWorkRequest()).(*cairnpb.WorkRequest)
	if err := ValidWorkRequest(w); err != nil {
		return err
	}
	old := &cairnpb.WorkRequest{}
	if ok, err := GetProto(b, workRequestKey(w.GetNamespace(), w.GetId()), old); err != nil {
		return err
	} else if ok {
		if proto.Equal(old, w) {
			return nil // a retry of this very record
		}
		return Invalid("work request %q of namespace %q is already recorded", w.GetId(), w.GetNamespace())
	}
	if err := putProto(b, workRequestKey(w.GetNamespace(), w.GetId()), w); err != nil {
		return err
	}
	if err := b.Set(workRequestAgeKey(w.GetNamespace(), w.GetFinishedUnixNano(), w.GetId()), nil, nil); err != nil {
		return fmt.Errorf("meta: write work request age: %w", err)
	}
	return pruneWorkRequests(b, w.GetNamespace(), now)
}

// pruneWorkRequests drops ns's records finished before now minus the
// retention, then the oldest while more than MaxWorkRequests remain.
func pruneWorkRequests(b *pebble.Batch, ns string, now int64) error {
	prefix := workRequestNSPrefix(tagWorkRequestAge, ns)
	type aged struct {
		key []byte
		id  string
	}
	var all []aged
	var drop int
	cutoff := now - int64(WorkRequestRetention)
	err := Scan(b, prefix, func(key, _ []byte) (bool, error) {
		if len(key) < len(prefix)+8 {
			return false, fmt.Errorf("meta: work request age key %q is short", key)
		}
		if int64(binary.BigEndian.Uint64(key[len(prefix):])) < cutoff {
			drop++
		}
		all = append(all, aged{key: bytes.Clone(key), id: string(key[len(prefix)+8:])})
		return true, nil
	})
	if err != nil {
		return err
	}
	drop = max(drop, len(all)-MaxWorkRequests)
	for _, a := range all[:drop] {
		if err := del(b, a.key); err != nil {
			return err
		}
		if err := del(b, workRequestKey(ns, a.id)); err != nil {
			return err
		}
	}
	return nil
}
