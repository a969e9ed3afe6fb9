package rpcauth

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/cairn-store/cairn/proto/cairnpb"
)

// TestEveryMethodHasARow walks every service Cairn's proto package
// declares, so a method added later without a row fails here.
func TestEveryMethodHasARow(t *testing.T) {
	table := Table()
	seen := map[string]bool{}
	services := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("cairn.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			services++
			for j := 0; j < sd.Methods().Len(); j++ {
				m := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				seen[m] = true
				rule, ok := table[m]
				if !ok {
					t.Errorf("%s has no row in the authorization table", m)
					continue
				}
				if len(rule.Roles) == 0 && !rule.Token {
					t.Errorf("%s: its row admits nobody", m)
				}
			}
		}
		return true
	})
	if services < 3 {
		t.Fatalf("found %d services in package cairn.v1, want Meta, Admin and Data at least", services)
	}
	for m := range table {
		if !seen[m] {
			t.Errorf("the table has a row for %s, which no service declares", m)
		}
	}
}
