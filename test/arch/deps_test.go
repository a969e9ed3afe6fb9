package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cairn-store/cairn"

// deps returns the module-internal packages pkg depends on.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var own []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, module+"/") {
			own = append(own, strings.TrimPrefix(l, module+"/"))
		}
	}
	return own
}

// depRule is one package's allowed dependencies: prefixes of module
// packages.
type depRule struct {
	pkg     string
	allowed []string
}

// dependencyRules is the one table of which module packages each package
// may depend on.
func dependencyRules() []depRule {
	return []depRule{
		{"erasure", []string{"erasure"}},
		{"placement", []string{"placement"}},
		{"proto/cairnpb", []string{"proto/cairnpb"}},
		{"proto/rpcerr", []string{"proto/rpcerr"}},
		{"proto/pki", []string{"proto/pki"}},
		{"proto/netseam", []string{"proto/netseam"}},
		{"proto/bufpool", []string{"proto/bufpool"}},
		{"proto/rpcauth", []string{"proto/rpcauth", "proto/pki", "proto/rpcerr", "proto/cairnpb", "proto/netseam"}},
		{"meta/metaclient", []string{"meta/metaclient", "proto/"}},
		{"node/dataclient", []string{"node/dataclient", "proto/", "erasure"}},
		{"meta/keyring", []string{"meta/keyring"}},
		{"meta/leaderjob", []string{"meta/leaderjob"}},
		{"meta", []string{"meta", "proto/", "placement", "node/dataclient", "erasure"}},
		// The replicated state machine stands on the wire types, the
		// error vocabulary and placement (shard names) alone: no Raft
		// wiring, services, jobs or clients of meta. meta/policy is the
		// policy language (standard library only), which CreatePolicy's
		// apply parses to check the groups and compartments it names.
		{"meta/fsm", []string{"meta/fsm", "proto/cairnpb", "proto/rpcerr", "placement", "meta/policy"}},
		{"meta/fsm/fsmtest", []string{"meta/fsm/fsmtest", "proto/cairnpb"}},
		// The FSM as a fixture for the tests of meta and meta/jobs.
		{"meta/fsm/fsmfixture", []string{"meta/fsm", "proto/cairnpb", "proto/rpcerr", "placement", "meta/policy"}},
		// The leader's jobs read the FSM, propose through the Env meta
		// gives them and call data nodes; meta depends on them, never the
		// other way round.
		{"meta/jobs", []string{"meta/jobs", "meta/fsm", "meta/leaderjob", "meta/keyring", "meta/policy", "node/dataclient", "proto/", "placement", "erasure"}},
		{"node", []string{"node", "proto/", "erasure", "meta/metaclient"}},
		{"meta/policy", []string{"meta/policy"}},
		{"s3api/bucketpolicy", []string{"s3api/bucketpolicy"}},
		{"s3api/model", []string{"s3api/model", "s3api/sse", "s3api/checksum", "s3api/cluster", "proto/", "erasure", "placement", "meta/metaclient", "meta/keyring", "node/dataclient"}},
		{"s3api", []string{"s3api", "proto/", "erasure", "placement", "meta/metaclient", "meta/policy", "meta/keyring", "node/dataclient"}},
		// The native API front end stands on the object model beside S3's,
		// never on it: s3api itself is not among its dependencies.
		{"s3api/native", []string{"s3api/native", "s3api/model", "s3api/cluster", "s3api/sse", "s3api/checksum", "proto/", "meta/policy", "meta/metaclient", "meta/keyring", "node/dataclient", "erasure", "placement"}},
	}
}

// allowedDep reports whether a package may depend on d under allowed.
func allowedDep(d string, allowed []string) bool {
	for _, a := range allowed {
		if d == a || strings.HasPrefix(d, a+"/") || (strings.HasSuffix(a, "/") && strings.HasPrefix(d, a)) {
			return true
		}
	}
	return false
}

// ruleOf returns pkg's rule.
func ruleOf(t *testing.T, pkg string) depRule {
	t.Helper()
	for _, r := range dependencyRules() {
		if r.pkg == pkg {
			return r
		}
	}
	t.Fatalf("no dependency rule for %s", pkg)
	return depRule{}
}

func TestDependencyDirection(t *testing.T) {
	for _, r := range dependencyRules() {
		for _, d := range deps(t, r.pkg) {
			if !allowedDep(d, r.allowed) {
				t.Errorf("%s must not depend on %s", r.pkg, d)
			}
		}
	}
}

// TestJobsMayNotImportMeta: the rule of meta/jobs refuses meta itself
// (and meta's other parts: its services, Raft wiring, metaclient), which
// the go tool would report only as an import cycle, and only once meta
// imports the package that imports it.
func TestJobsMayNotImportMeta(t *testing.T) {
	r := ruleOf(t, "meta/jobs")
	for _, d := range []string{"meta", "meta/metaclient", "s3api", "s3api/model"} {
		if allowedDep(d, r.allowed) {
			t.Errorf("the rule of meta/jobs lets it depend on %s", d)
		}
	}
	for _, d := range []string{"meta/jobs", "meta/fsm", "meta/leaderjob", "node/dataclient", "proto/cairnpb", "placement"} {
		if !allowedDep(d, r.allowed) {
			t.Errorf("the rule of meta/jobs refuses %s, which the jobs use", d)
		}
	}
	if !allowedDep("meta/jobs", ruleOf(t, "meta").allowed) {
		t.Error("the rule of meta refuses meta/jobs")
	}
}

// TestDirectImports keeps each layer to its own concerns where the
// transitive rule above cannot: the object model (s3api/model) is the only
// part of the gateway that places, erasure codes and seals data, and it
// speaks no wire protocol, so that every front end serves the same model;
// nor does meta's FSM (meta/fsm).
// Test files may import what their fakes need.
func TestDirectImports(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"s3api", []string{module + "/erasure", module + "/placement"}},
		{"s3api/model", []string{"net/http", module + "/s3api"}},
		{"s3api/bucketpolicy", []string{"net/http"}},
		{"s3api/native", []string{module + "/s3api", module + "/erasure", module + "/placement"}},
		// The FSM speaks no protocol: request IDs reach it inside the
		// Command, never as gRPC metadata.
		{"meta/fsm", []string{"google.golang.org/grpc", "google.golang.org/grpc/metadata", "net", "net/http"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/"+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		imports := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(imports) < 3 {
			t.Fatalf("%s: only %d imports listed: the scan is not looking at the package", r.pkg, len(imports))
		}
		for _, imp := range imports {
			for _, f := range r.forbidden {
				if imp == f {
					t.Errorf("%s imports %s directly", r.pkg, f)
				}
			}
		}
	}
}

// TestEveryPackageHasDocGo keeps the habit of stating each package's
// purpose and invariants in doc.go.
func TestEveryPackageHasDocGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}} {{.Name}}", module+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] == "main" || strings.HasPrefix(f[0], module+"/proto/cairnpb") {
			continue
		}
		if err := exec.Command("test", "-f", f[1]+"/doc.go").Run(); err != nil {
			t.Errorf("%s has no doc.go", f[0])
		}
	}
}

// TestServersDoNotLinkDeployTooling: Helm, the Kubernetes API types and the
// image library are there for deploy/ and its tests; the binaries Cairn
// ships must not grow by them.
func TestServersDoNotLinkDeployTooling(t *testing.T) {
	for _, pkg := range []string{"cmd/cairn", "cmd/cairnctl", "meta", "node", "s3api"} {
		out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			for _, banned := range []string{"helm.sh/", "k8s.io/", "sigs.k8s.io/", "github.com/google/go-containerregistry/"} {
				if strings.HasPrefix(l, banned) {
					t.Errorf("%s depends on %s", pkg, l)
				}
			}
		}
	}
}
