package jobs

import (
	"path/filepath"
	"testing"

	"github.com/cairn-store/cairn/meta/fsm"
	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
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
