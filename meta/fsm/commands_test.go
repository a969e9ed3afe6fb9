package fsm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cairn-store/cairn/meta/fsm/fsmtest"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// wrap puts payload into the Command.op field of its type, as proposers
// do by hand; tests build their commands with it.
func (r *commandRegistry) wrap(payload proto.Message) (*cairnpb.Command, error) {
	name := payload.ProtoReflect().Descriptor().FullName()
	for _, row := range r.rows {
		if row.apply.payload.FullName() == name {
			cmd := &cairnpb.Command{}
			m := cmd.ProtoReflect()
			m.Set(r.op.Fields().ByName(row.field), protoreflect.ValueOfMessage(payload.ProtoReflect()))
			return cmd, nil
		}
	}
	return nil, fmt.Errorf("no command row takes a %s", name)
}

// commandOneof is the Command.op oneof, read by reflection.
func commandOneof(t *testing.T) protoreflect.OneofDescriptor {
	t.Helper()
	op := (&cairnpb.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("op")
	if op == nil {
		t.Fatal("cairnpb.Command has no oneof op")
	}
	return op
}

// TestCommandRegistryCoversCommandOneof reads the Command.op oneof by
// reflection: every field has exactly one row, every row names a field,
// and each row's apply takes the field's payload type. Each payload type
// is carried by one field only, so wrap can find the field from a payload.
func TestCommandRegistryCoversCommandOneof(t *testing.T) {
	op := commandOneof(t)
	rows := commandRows()
	byName := map[protoreflect.Name]commandRow{}
	for _, row := range rows {
		if _, dup := byName[row.field]; dup {
			t.Errorf("two rows for field %q", row.field)
		}
		byName[row.field] = row
		fd := op.Fields().ByName(row.field)
		if fd == nil {
			t.Errorf("row %q names no field of Command.op", row.field)
			continue
		}
		if got, want := row.apply.payload.FullName(), fd.Message().FullName(); got != want {
			t.Errorf("row %q applies %s, the field carries %s", row.field, got, want)
		}
	}
	payloads := map[protoreflect.FullName]protoreflect.Name{}
	for i := 0; i < op.Fields().Len(); i++ {
		fd := op.Fields().Get(i)
		if _, ok := byName[fd.Name()]; !ok {
			t.Errorf("Command.op field %q (%d) has no registry row", fd.Name(), fd.Number())
		}
		if other, dup := payloads[fd.Message().FullName()]; dup {
			t.Errorf("fields %q and %q both carry %s", other, fd.Name(), fd.Message().FullName())
		}
		payloads[fd.Message().FullName()] = fd.Name()
	}
	if len(rows) != op.Fields().Len() {
		t.Errorf("%d rows for %d fields", len(rows), op.Fields().Len())
	}
	if _, err := newCommandRegistry(rows); err != nil {
		t.Fatalf("the command table: %v", err)
	}
}

// withRow returns the command table with the row of field replaced.
func withRow(t *testing.T, field protoreflect.Name, replace func(*commandRow)) []commandRow {
	t.Helper()
	rows := commandRows()
	i := slices.IndexFunc(rows, func(r commandRow) bool { return r.field == field })
	if i < 0 {
		t.Fatalf("no row %q", field)
	}
	replace(&rows[i])
	return rows
}

// newCommandRegistry, which every FSM is built with, refuses tables that
// do not match the oneof, naming what is wrong.
func TestCommandRegistryRejectsMismatchedTables(t *testing.T) {
	all := commandRows()
	cases := map[string]struct {
		rows []commandRow
		want string
	}{
		"missing row": {
			rows: slices.DeleteFunc(commandRows(), func(r commandRow) bool { return r.field == "rewrap" }),
			want: `field "rewrap" (71) has no row`,
		},
		"row naming no field": {
			rows: append(commandRows(), commandRow{field: "no_such_command", apply: plain(applySetMember)}),
			want: `row "no_such_command" names no field`,
		},
		"row twice": {
			rows: append(commandRows(), all[0]),
			want: `two rows name field "create_bucket"`,
		},
		"wrong payload type": {
			rows: withRow(t, "heartbeat", func(r *commandRow) { r.apply = plain(applySetMember) }),
			want: `row "heartbeat" applies cairn.v1.SetMemberCmd, but the field carries cairn.v1.HeartbeatCmd`,
		},
		"no apply": {
			rows: withRow(t, "heartbeat", func(r *commandRow) { r.apply = applier{} }),
			want: `row "heartbeat" has no apply`,
		},
	}
	for name, tc := range cases {
		_, err := newCommandRegistry(tc.rows)
		if !errors.Is(err, errCommandTable) || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: got %v, want an errCommandTable naming %s", name, err, tc.want)
		}
	}
}

// The dedupe properties live in the table alone; these are the commands
// that have them (dedupe.go explains the rules).
func TestCommandRegistryDedupeProperties(t *testing.T) {
	var unsafe, harmless []string
	for _, row := range commandRows() {
		if row.replayUnsafe {
			unsafe = append(unsafe, string(row.field))
		}
		if row.staleHarmless {
			harmless = append(harmless, string(row.field))
		}
	}
	if got, want := strings.Join(unsafe, " "), "create_upload complete_upload create_access_key"; got != want {
		t.Errorf("replay-unsafe commands %q, want %q", got, want)
	}
	if got, want := strings.Join(harmless, " "), "register_node heartbeat report_corrupt_shard"; got != want {
		t.Errorf("stale-harmless commands %q, want %q", got, want)
	}
}

// recoverPanic runs fn and returns what it panicked with, or nil.
func recoverPanic(fn func()) (r any) {
	defer func() { r = recover() }()
	fn()
	return nil
}

// TestFSMRefusalRule pins the rule of refusal.go: any error wrapping an
// rpcerr sentinel is a refusal, including sentinels no apply returns
// today (a new one must not crash-loop the replicas), while any other
// error is a storage failure and panics. Proposers can tell a refusal
// from propose's own errors.
func TestFSMRefusalRule(t *testing.T) {
	var fail error
	rows := withRow(t, "heartbeat", func(r *commandRow) {
		r.apply = plain(func(*pebble.Batch, *cairnpb.HeartbeatCmd) error { return fail })
	})
	beat := &cairnpb.HeartbeatCmd{NodeId: "d1"}

	// Every sentinel of the wire vocabulary, ErrMemberNotFound and
	// ErrNoSpace among them, which the old list of command errors lacked.
	for _, sentinel := range []error{
		rpcerr.ErrBucketNotFound, rpcerr.ErrInvalidArgument, rpcerr.ErrPolicyExists,
		rpcerr.ErrMemberNotFound, rpcerr.ErrNoSpace, rpcerr.ErrPermissionDenied, rpcerr.ErrChecksum,
	} {
		f, c := newTestFSMWith(t, rows), &cmdLog{}
		fail = fmt.Errorf("meta: some check: %w", sentinel)
		var resp any
		if p := recoverPanic(func() { resp = f.Apply(c.add(t, beat)) }); p != nil {
			t.Fatalf("%v: apply panicked: %v", sentinel, p)
		}
		err, _ := resp.(error)
		if !IsRefusal(err) || !errors.Is(err, sentinel) || err.Error() != fail.Error() {
			t.Fatalf("%v: response %#v, want a refusal reading and matching like the apply's error", sentinel, resp)
		}
	}

	for _, failure := range []error{
		errors.New("pebble: disk on fire"),
		fmt.Errorf("meta: decode %q: %w", "o/x", errors.New("proto: cannot parse")),
	} {
		f, c := newTestFSMWith(t, rows), &cmdLog{}
		fail = failure
		p := recoverPanic(func() { f.Apply(c.add(t, beat)) })
		if p == nil || !strings.Contains(fmt.Sprint(p), "applying raft log entry 1") {
			t.Fatalf("%v: recovered %v, want a panic naming the entry", failure, p)
		}
	}

	// propose's own errors leave the outcome open: not refusals.
	for _, err := range []error{
		fmt.Errorf("meta: %w: %w", rpcerr.ErrNotLeader, raft.ErrLeadershipLost),
		fmt.Errorf("meta: waiting for commit: %w", raft.ErrEnqueueTimeout),
		rpcerr.ErrBucketNotFound,
	} {
		if IsRefusal(err) {
			t.Errorf("%v counted as a refusal", err)
		}
	}
	if RefusalReason(rpcerr.ErrBucketNotFound) != "BUCKET_NOT_FOUND" || RefusalReason(errors.New("x")) != "" || RefusalReason(nil) != "" {
		t.Error("refusalReason does not read rpcerr's table")
	}
}

// In race and invariants builds, a refused command that wrote to the
// batch panics at its entry instead of leaving half a command behind.
func TestFSMRefusedApplyThatWritesPanics(t *testing.T) {
	if !invariants {
		t.Skip("the check is compiled in with -race or -tags invariants only")
	}
	rows := withRow(t, "heartbeat", func(r *commandRow) {
		r.apply = plain(func(b *pebble.Batch, c *cairnpb.HeartbeatCmd) error {
			if err := b.Set([]byte("n/"+c.GetNodeId()), []byte("half"), nil); err != nil {
				return err
			}
			return fmt.Errorf("meta: refused too late: %w", rpcerr.ErrNodeNotFound)
		})
	})
	f, c := newTestFSMWith(t, rows), &cmdLog{}
	if err := c.apply(t, f, fsmtest.CreateBucketOp("ns", "b", 1)); err != nil {
		t.Fatal(err)
	}
	// The refused entry comes after one that wrote: the batch is not empty
	// before it, and only its own writes count.
	logs := []*raft.Log{c.add(t, fsmtest.CreateBucketOp("ns", "b2", 2)), c.add(t, &cairnpb.HeartbeatCmd{NodeId: "d1"})}
	p := recoverPanic(func() { f.ApplyBatch(logs) })
	if p == nil || !strings.Contains(fmt.Sprint(p), "entry 3 was refused") || !strings.Contains(fmt.Sprint(p), "after writing") {
		t.Fatalf("recovered %v, want a panic about entry 3 writing before it refused", p)
	}
}
