package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandKindsAreDecidedInTheRegistry keeps what a Raft command does
// in one place, meta's command registry (meta/commands.go): no Go file of
// the module, tests included, may switch on the kind of a cairnpb.Command
// (a type switch with a case naming a cairnpb.Command_* type). Each such
// switch would be one more list to keep in step when a command is added,
// and the one that falls behind is found only when that command is
// applied. Building a Command (&cairnpb.Command_X{...}) is fine.
func TestCommandKindsAreDecidedInTheRegistry(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	fset := token.NewFileSet()
	files := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || strings.HasPrefix(f[0], module+"/proto/cairnpb") {
			continue
		}
		entries, err := os.ReadDir(f[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			path := filepath.Join(f[1], e.Name())
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files++
			ast.Inspect(file, func(n ast.Node) bool {
				sw, ok := n.(*ast.TypeSwitchStmt)
				if !ok {
					return true
				}
				for _, stmt := range sw.Body.List {
					for _, expr := range stmt.(*ast.CaseClause).List {
						if name := commandWrapper(expr); name != "" {
							t.Errorf("%s: a type switch on the command kind (%s); "+
								"give the command registry in meta/commands.go a column instead",
								fset.Position(expr.Pos()), name)
						}
					}
				}
				return true
			})
		}
	}
	if files < 100 {
		t.Fatalf("parsed only %d files: the scan is not looking at the module", files)
	}
}

// commandWrapper returns "cairnpb.Command_X" when expr names that type
// or a pointer to it, else "".
func commandWrapper(expr ast.Expr) string {
	if star, ok := expr.(*ast.StarExpr); ok {
		expr = star.X
	}
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || pkg.Name != "cairnpb" || !strings.HasPrefix(sel.Sel.Name, "Command_") {
		return ""
	}
	return "cairnpb." + sel.Sel.Name
}
