package jobs

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// newTestFSM returns an FSM on a fresh store, closed when t ends.
func newTestFSM(t testing.TB) *fsm.FSM {
	t.Helper()
	st, err := fsm.OpenStore(filepath.Join(t.TempDir(), "fsm"), fsmtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	f, err := fsm.New(st, fsmtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// applyCmd applies cmd to f as log entry idx, stamped idx milliseconds
// after the epoch, and returns the apply's refusal.
func applyCmd(t testing.TB, f *fsm.FSM, idx uint64, cmd *cairnpb.Command) error {
	t.Helper()
	cmd.UnixNano = int64(idx) * 1_000_000
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.Apply(&raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data}); resp != nil {
		return resp.(error)
	}
	return nil
}
