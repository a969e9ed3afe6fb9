package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// toStatusAllowed are the files outside proto/rpcerr that may call
// rpcerr.ToStatus: the authorizer, an interceptor whose refusals are
// statuses by contract (rpcauth.Authorize) and answer a call before any
// handler runs.
var toStatusAllowed = []string{"proto/rpcauth/authorize.go"}

// TestErrorsBecomeStatusesAtTheEdge keeps gRPC error translation in one
// place: the edge interceptors of proto/rpcerr (rpcerr.ServerOptions),
// which meta and data nodes chain first. No other Go file of the module,
// tests included, may call rpcerr.ToStatus: a service method returns
// domain errors, a test's fake server is served through the edge too, and
// code that wants to know an error's reason asks rpcerr.ReasonOf.
func TestErrorsBecomeStatusesAtTheEdge(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	fset := token.NewFileSet()
	files := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] == module+"/proto/rpcerr" {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		entries, err := os.ReadDir(f[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			files++
			name := filepath.ToSlash(filepath.Join(rel, e.Name()))
			file, err := parser.ParseFile(fset, filepath.Join(f[1], e.Name()), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			local := rpcerrName(file)
			if local == "" {
				continue
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "ToStatus" {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && !slices.Contains(toStatusAllowed, name) {
					t.Errorf("%s: rpcerr.ToStatus outside the gRPC edge: return the domain error and let rpcerr.ServerOptions translate it (or ask rpcerr.ReasonOf)", fset.Position(sel.Pos()))
				}
				return true
			})
		}
	}
	if files < 100 {
		t.Fatalf("parsed only %d files; is go list seeing the module?", files)
	}
}

// rpcerrName returns the name file refers to proto/rpcerr by, or "" when
// it does not import it.
func rpcerrName(file *ast.File) string {
	for _, imp := range file.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p != module+"/proto/rpcerr" {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return "rpcerr"
	}
	return ""
}
