package pki

import (
	"errors"
	"strings"
	"testing"
)

func TestIdentityURIRoundTrip(t *testing.T) {
	long := strings.Repeat("a", 128)
	cases := []Identity{
		{Cluster: "c1", Role: RoleMeta, ID: "meta-1"},
		{Cluster: "prod.eu_west-1", Role: RoleData, ID: "data-17"},
		{Cluster: "C", Role: RoleGateway, ID: "0"},
		{Cluster: long, Role: RoleAdmin, ID: long},
		{Cluster: "c1", Role: RoleAdmin, ID: "ops.alice_2"},
	}
	for _, id := range cases {
		t.Run(id.ID, func(t *testing.T) {
			if err := id.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			s := id.String()
			want := "spiffe://cairn/" + id.Cluster + "/" + string(id.Role) + "/" + id.ID
			if s != want {
				t.Fatalf("String() = %q, want %q", s, want)
			}
			got, err := ParseIdentity(s)
			if err != nil {
				t.Fatalf("ParseIdentity(%q): %v", s, err)
			}
			if got != id {
				t.Fatalf("round trip: got %+v, want %+v", got, id)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "Meta", "root", "data ", "gateways"} {
		if _, err := ParseRole(s); !errors.Is(err, ErrIdentity) {
			t.Errorf("ParseRole(%q): err %v, want ErrIdentity", s, err)
		}
	}
}

func TestInvalidIdentityRefused(t *testing.T) {
	good := Identity{Cluster: "c1", Role: RoleData, ID: "data-1"}
	bad := []struct {
		name string
		id   Identity
	}{
		{"empty cluster", Identity{Cluster: "", Role: RoleData, ID: "data-1"}},
		{"empty ID", Identity{Cluster: "c1", Role: RoleData, ID: ""}},
		{"empty role", Identity{Cluster: "c1", Role: "", ID: "data-1"}},
		{"unknown role", Identity{Cluster: "c1", Role: "root", ID: "data-1"}},
		{"role in capitals", Identity{Cluster: "c1", Role: "DATA", ID: "data-1"}},
		{"cluster starts with a dash", Identity{Cluster: "-c1", Role: RoleData, ID: "data-1"}},
		{"ID starts with a dot", Identity{Cluster: "c1", Role: RoleData, ID: ".data"}},
		{"ID starts with an underscore", Identity{Cluster: "c1", Role: RoleData, ID: "_data"}},
		{"slash in ID", Identity{Cluster: "c1", Role: RoleData, ID: "data/1"}},
		{"slash in cluster", Identity{Cluster: "c/1", Role: RoleData, ID: "data-1"}},
		{"space in ID", Identity{Cluster: "c1", Role: RoleData, ID: "data 1"}},
		{"percent in ID", Identity{Cluster: "c1", Role: RoleData, ID: "data%2F1"}},
		{"colon in cluster", Identity{Cluster: "c:1", Role: RoleData, ID: "data-1"}},
		{"non-ASCII ID", Identity{Cluster: "c1", Role: RoleData, ID: "dätä"}},
		{"ID of 129 characters", Identity{Cluster: "c1", Role: RoleData, ID: strings.Repeat("d", 129)}},
		{"cluster of 129 characters", Identity{Cluster: strings.Repeat("c", 129), Role: RoleData, ID: "data-1"}},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("control: %v", err)
	}
	ca := mustCA(t, "c1")
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if err := c.id.Validate(); !errors.Is(err, ErrIdentity) {
				t.Fatalf("Validate: err %v, want ErrIdentity", err)
			}
			if _, err := ca.Issue(c.id, nil, 0, ca.Cert.NotBefore); !errors.Is(err, ErrIdentity) {
				t.Fatalf("Issue: err %v, want ErrIdentity", err)
			}
			// The URI form of a bad identity does not parse back as one.
			if _, err := ParseIdentity("spiffe://cairn/" + c.id.Cluster + "/" + string(c.id.Role) + "/" + c.id.ID); err == nil {
				t.Fatal("ParseIdentity accepted it")
			}
		})
	}
	if _, _, err := NewCA("bad/cluster", 0, ca.Cert.NotBefore); !errors.Is(err, ErrIdentity) {
		t.Fatalf("NewCA with a bad cluster name: err %v, want ErrIdentity", err)
	}
}

func TestParseIdentityRefusesOtherURIs(t *testing.T) {
	bad := []string{
		"",
		"data-1",
		"/c1/data/data-1",
		"https://cairn/c1/data/data-1",
		"spiffe://other/c1/data/data-1",
		"spiffe://CAIRN/c1/data/data-1",
		"spiffe://cairn:8443/c1/data/data-1",
		"spiffe://cairn",
		"spiffe://cairn/",
		"spiffe://cairn/c1",
		"spiffe://cairn/c1/data",
		"spiffe://cairn/c1/data/",
		"spiffe://cairn/c1/data/data-1/",
		"spiffe://cairn/c1/data/data-1/extra",
		"spiffe://cairn//data/data-1",
		"spiffe://cairn/c1//data-1",
		"spiffe://cairn/c1/root/data-1",
		"spiffe://cairn/c1/data/data%2F1",
		"spiffe:cairn/c1/data/data-1",
		"spiffe://cairn/c1/data/%zz",
		"::not a url",
		// Not canonical: the identity would print differently from the
		// URI that names it, and SPIFFE IDs carry none of these.
		"spiffe://cairn/c1/data/data-1?x=1",
		"spiffe://cairn/c1/data/data-1?",
		"spiffe://cairn/c1/data/data-1#frag",
		"spiffe://user@cairn/c1/data/data-1",
		"spiffe://cairn/c1/data/data%2D1",
	}
	for _, s := range bad {
		t.Run(s, func(t *testing.T) {
			id, err := ParseIdentity(s)
			if !errors.Is(err, ErrIdentity) {
				t.Fatalf("ParseIdentity(%q) = %+v, %v; want ErrIdentity", s, id, err)
			}
		})
	}
}

func TestIdentityOf(t *testing.T) {
	ca := mustCA(t, "c1")
	want := ident(RoleGateway, "gateway-1")

	t.Run("issued leaf", func(t *testing.T) {
		leaf := mustIssue(t, ca, want)
		got, err := IdentityOf(leaf.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("IdentityOf = %+v, want %+v", got, want)
		}
	})

	cases := []struct {
		name string
		uris []string
		ok   bool
	}{
		{"one Cairn URI", []string{want.String()}, true},
		{"a Cairn URI among others", []string{"https://gateway-1.example/", want.String(), "spiffe://example.org/workload"}, true},
		{"no URI", nil, false},
		{"only URIs of other trust domains", []string{"spiffe://example.org/c1/gateway/gateway-1", "https://cairn/c1/gateway/gateway-1"}, false},
		{"two Cairn URIs", []string{want.String(), ident(RoleAdmin, "admin-1").String()}, false},
		{"the same Cairn URI twice", []string{want.String(), want.String()}, false},
		{"a malformed Cairn URI", []string{"spiffe://cairn/c1/gateway"}, false},
		{"a malformed Cairn URI beside a good one", []string{want.String(), "spiffe://cairn/c1/superuser/x"}, false},
		{"the CA's cluster URI", []string{"spiffe://cairn/c1"}, false},
		{"a Cairn URI with a query", []string{want.String() + "?role=admin"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := IdentityOf(withURIs(t, ca, c.uris...))
			if !c.ok {
				if !errors.Is(err, ErrIdentity) {
					t.Fatalf("IdentityOf = %+v, %v; want ErrIdentity", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("IdentityOf = %+v, want %+v", got, want)
			}
		})
	}

	t.Run("a CA certificate is no identity", func(t *testing.T) {
		if _, err := IdentityOf(ca.Cert); !errors.Is(err, ErrIdentity) {
			t.Fatalf("err %v, want ErrIdentity", err)
		}
	})
}
