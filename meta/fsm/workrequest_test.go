package fsm

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

func workRequestOp(ns, id string, finished int64) *cairnpb.WorkRequestRecordCmd {
	return &cairnpb.WorkRequestRecordCmd{WorkRequest: &cairnpb.WorkRequest{Id: id, Namespace: ns, OperationType: "COPY_OBJECT",
		Status: "COMPLETED", Compartment: "root", Bucket: "b", PercentComplete: 100,
		AcceptedUnixNano: finished, StartedUnixNano: finished, FinishedUnixNano: finished}}
}

func listWorkRequestIDs(t *testing.T, f *FSM, ns, compartment string) []string {
	t.Helper()
	var ids []string
	err := f.Store.View(func(r pebble.Reader) error {
		ws, err := ListWorkRequests(r, ns, compartment)
		for _, w := range ws {
			ids = append(ids, w.GetId())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestWorkRequestRecord: a finished work request is found by namespace
// and ID and listed newest first; a retry changes nothing; another
// record under a taken ID, an unfinished one and an invalid one are
// refused and write nothing.
func TestWorkRequestRecord(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	c.mustApply(t, f, workRequestOp("ns", "wr1", 10), workRequestOp("ns", "wr2", 20), workRequestOp("ns2", "wr3", 30))
	c.mustApply(t, f, workRequestOp("ns", "wr1", 10)) // a retry
	if got := fmt.Sprint(listWorkRequestIDs(t, f, "ns", "")); got != "[wr2 wr1]" {
		t.Fatalf("ns lists %s", got)
	}
	if got := fmt.Sprint(listWorkRequestIDs(t, f, "ns", "other")); got != "[]" {
		t.Fatalf("compartment other lists %s", got)
	}
	err := f.Store.View(func(r pebble.Reader) error {
		if _, err := GetWorkRequest(r, "ns", "wr3"); !errors.Is(err, rpcerr.ErrWorkRequestNotFound) {
			return fmt.Errorf("another namespace's work request: %v", err)
		}
		w, err := GetWorkRequest(r, "ns2", "wr3")
		if err != nil || w.GetFinishedUnixNano() != 30 {
			return fmt.Errorf("wr3: %v %v", w, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantUnchanged(t, f, &c, workRequestOp("ns", "wr1", 11), rpcerr.ErrInvalidArgument) // ID taken
	running := workRequestOp("ns", "wr4", 40)
	running.WorkRequest.Status = "IN_PROGRESS"
	wantUnchanged(t, f, &c, running, rpcerr.ErrInvalidArgument)
	slash := workRequestOp("ns", "a/b", 40)
	wantUnchanged(t, f, &c, slash, rpcerr.ErrInvalidArgument)
	unfinished := workRequestOp("ns", "wr4", 0)
	wantUnchanged(t, f, &c, unfinished, rpcerr.ErrInvalidArgument)
}

// TestWorkRequestPrune: recording a work request drops its namespace's
// records past the retention, and the oldest past the cap; other
// namespaces keep theirs.
func TestWorkRequestPrune(t *testing.T) {
	f := newTestFSM(t)
	var c cmdLog
	day := int64(24 * 60 * 60 * 1e9)
	c.mustApply(t, f, workRequestOp("ns", "old", day), workRequestOp("ns2", "other", day))
	c.now = day + int64(WorkRequestRetention) + 1
	c.mustApply(t, f, workRequestOp("ns", "new", c.now))
	if got := fmt.Sprint(listWorkRequestIDs(t, f, "ns", "")); got != "[new]" {
		t.Fatalf("after the retention ns lists %s", got)
	}
	if got := fmt.Sprint(listWorkRequestIDs(t, f, "ns2", "")); got != "[other]" {
		t.Fatalf("ns2 lists %s", got)
	}
	for i := range MaxWorkRequests {
		c.mustApply(t, f, workRequestOp("ns", fmt.Sprintf("w%04d", i), c.now+int64(i)+1))
	}
	ids := listWorkRequestIDs(t, f, "ns", "")
	if len(ids) != MaxWorkRequests || ids[0] != fmt.Sprintf("w%04d", MaxWorkRequests-1) || ids[len(ids)-1] != "w0000" {
		t.Fatalf("past the cap ns keeps %d records, newest %s, oldest %s", len(ids), ids[0], ids[len(ids)-1])
	}
	err := f.Store.View(func(r pebble.Reader) error {
		_, err := GetWorkRequest(r, "ns", "new")
		return err
	})
	if !errors.Is(err, rpcerr.ErrWorkRequestNotFound) {
		t.Fatalf("the oldest record past the cap: %v", err)
	}
}
