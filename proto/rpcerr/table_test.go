package rpcerr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// parsedSource returns, from the package's non-test files, the names of
// the package-level Err* variables and the names of the sentinels the
// table's rows start with, in row order.
func parsedSource(t *testing.T) (declared, rows []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pkgs["rpcerr"].Files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.HasPrefix(n.Name, "Err") {
						declared = append(declared, n.Name)
					}
					if n.Name != "table" || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.CompositeLit)
					if !ok {
						t.Fatal("table is not a composite literal")
					}
					for _, elt := range lit.Elts {
						row, ok := elt.(*ast.CompositeLit)
						if !ok || len(row.Elts) == 0 {
							t.Fatalf("row %d of table is not a literal", len(rows))
						}
						id, ok := row.Elts[0].(*ast.Ident)
						if !ok {
							t.Fatalf("row %d of table does not start with a sentinel's name", len(rows))
						}
						rows = append(rows, id.Name)
					}
				}
			}
		}
	}
	return declared, rows
}

// TestEverySentinelHasARow fails when a sentinel is declared without a row
// (or with two), or a row leaves a fact undecided: the edges derive their
// lists from the rows, so a missing fact would show up as a wrong answer
// somewhere else (an Internal status, a 500 to an S3 client, a retry that
// never ends, a replica that panics on a refusal).
func TestEverySentinelHasARow(t *testing.T) {
	declared, rows := parsedSource(t)
	if len(declared) == 0 || len(rows) != len(table) {
		t.Fatalf("parsed %d sentinels and %d rows; the table has %d rows", len(declared), len(rows), len(table))
	}
	for _, name := range declared {
		if n := len(slices.DeleteFunc(slices.Clone(rows), func(r string) bool { return r != name })); n != 1 {
			t.Errorf("%s has %d rows in the table, want exactly one", name, n)
		}
	}
	for _, name := range rows {
		if !slices.Contains(declared, name) {
			t.Errorf("the table has a row for %s, which is not a sentinel of this package", name)
		}
	}

	reasons := map[string]bool{}
	for i, s := range table {
		name := rows[i]
		switch {
		case s.Err == nil:
			t.Errorf("%s: the row has no sentinel", name)
		case s.Code == codes.OK || s.Code == codes.Unknown || s.Code == codes.Internal:
			t.Errorf("%s: code %v says nothing a client can act on", name, s.Code)
		case s.Reason == "" || strings.ToUpper(s.Reason) != s.Reason:
			t.Errorf("%s: reason %q, want an upper-case name", name, s.Reason)
		case reasons[s.Reason]:
			t.Errorf("%s: reason %q is another row's too", name, s.Reason)
		case s.S3 == "":
			t.Errorf("%s: no S3 code decided (\"InternalError\" if an S3 client should never see it)", name)
		case s.Retryable != (s.Code == codes.Unavailable):
			t.Errorf("%s: retryable %v with code %v; a client that sees only the code would decide otherwise", name, s.Retryable, s.Code)
		}
		reasons[s.Reason] = true
	}
}

// TestSentinelsIsACopy: the edges may keep what Sentinels returns, and
// nothing they do to it changes the table.
func TestSentinelsIsACopy(t *testing.T) {
	rows := Sentinels()
	if len(rows) != len(table) {
		t.Fatalf("%d rows, want %d", len(rows), len(table))
	}
	rows[0].Reason = "CHANGED"
	if table[0].Reason == "CHANGED" {
		t.Fatal("Sentinels returned the table itself")
	}
}
