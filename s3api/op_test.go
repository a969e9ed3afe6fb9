package s3api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// TestOpTable: every operation has a handler, an access rule and a
// label, and no two operations share a label (the metrics could not tell
// them apart).
func TestOpTable(t *testing.T) {
	ops := opTable()
	labels := map[string]Op{}
	for op := Op(0); op < opCount; op++ {
		row := ops[op]
		if row.label == "" {
			t.Errorf("Op(%d) has no label", op)
		}
		if row.serve == nil {
			t.Errorf("%s has no handler", row.label)
		}
		switch row.access.rule {
		case accessUnset:
			t.Errorf("%s has no access rule", row.label)
		case accessPerm:
			if row.access.perm == 0 {
				t.Errorf("%s needs a permission on its bucket but names none", row.label)
			}
		default:
			if row.access.perm != 0 || row.access.versionPerm != 0 {
				t.Errorf("%s names a permission its rule does not use", row.label)
			}
		}
		// Every operation a policy can be asked about has its S3 action.
		served := row.access.rule != accessRefused && op != OpPreflight
		if served && (!strings.HasPrefix(row.action.name, "s3:") || (row.action.version != "" && !strings.HasPrefix(row.action.version, "s3:"))) {
			t.Errorf("%s has no S3 action for bucket policies (%+v)", row.label, row.action)
		}
		if !served && row.action != (s3Action{}) {
			t.Errorf("%s is refused before any check but names an S3 action", row.label)
		}
		if prev, dup := labels[row.label]; dup {
			t.Errorf("%s and Op(%d) share the label %q", row.label, prev, row.label)
		}
		labels[row.label] = op
		if op.String() != row.label {
			t.Errorf("Op(%d).String() = %q, want %q", op, op.String(), row.label)
		}
	}
	if s := opCount.String(); !strings.HasPrefix(s, "Op(") {
		t.Errorf("an Op out of range is called %q", s)
	}
}

// TestRefusedOperationsTouchNothing: an operation authorized as refused
// (no permission checked) must be refused with 405 or 501 before anything
// is looked at. Its handler runs against a Server with no Index, Shards or
// config, which panics at the first use of any of them, so an operation
// that gets a real handler but keeps the refused rule fails here.
func TestRefusedOperationsTouchNothing(t *testing.T) {
	ops := opTable()
	s := &Server{}
	refusedOps := 0
	for op := Op(0); op < opCount; op++ {
		row := ops[op]
		if row.access.rule != accessRefused {
			continue
		}
		refusedOps++
		for _, ct := range []string{"", "multipart/form-data; boundary=x"} {
			r := httptest.NewRequest(http.MethodPost, "/b", nil)
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			req := &request{operation: operation{op: op, bucket: "b", sub: "sub"}}
			w := httptest.NewRecorder()
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s is authorized as refused but its handler touched something: %v", row.label, p)
					}
				}()
				return row.serve(s, context.Background(), w, r, req)
			}()
			e, ok := s3err.As(err)
			if !ok || (e.Code.Status != http.StatusMethodNotAllowed && e.Code.Status != http.StatusNotImplemented) {
				t.Errorf("%s is authorized as refused but answered %v", row.label, err)
			}
			if w.Code != http.StatusOK || w.Body.Len() != 0 || len(w.Header()) != 0 {
				t.Errorf("%s wrote a response of its own", row.label)
			}
		}
	}
	if refusedOps < 45 { // a floor, so the loop cannot pass by finding none
		t.Errorf("only %d refused operations", refusedOps)
	}
}

// TestEveryOperationParses: each operation but the two catch-alls is what
// some request parses to (docs/compatibility.md holds one per operation;
// TestCompatibilityDocMatchesRouting checks them), so no row is dead.
func TestEveryOperationParses(t *testing.T) {
	documented := map[string]bool{}
	for _, rt := range readDocRoutes(t) {
		documented[docOpName(rt.op)] = true
	}
	ops := opTable()
	for op := Op(0); op < opCount; op++ {
		if op == OpOther || op == OpNotImplemented {
			continue
		}
		if !documented[ops[op].label] {
			t.Errorf("%s has no row in the request routing table of docs/compatibility.md", ops[op].label)
		}
	}
}

// TestQueryParsedOnce: parse.go is the only code of the gateway that
// parses the query string; handlers read the parsed operation.
func TestQueryParsedOnce(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "parse.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []string{".URL.Query()", ".URL.RawQuery"} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s uses %s: read the parsed operation instead (parse.go)", f, call)
			}
		}
	}
}
