package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) []Statement {
	t.Helper()
	sts, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(%q): %v", doc, err)
	}
	return sts
}

func TestParseStatements(t *testing.T) {
	cases := []struct {
		doc  string
		want Statement
	}{
		{"Allow group readers to read objects in tenancy",
			Statement{Groups: []string{"readers"}, Verb: Read, Resource: Objects, Tenancy: true}},
		{"allow GROUP ops TO MANAGE all-resources IN TENANCY",
			Statement{Groups: []string{"ops"}, Verb: Manage, Resource: AllResources, Tenancy: true}},
		{"Allow group a, 'b c' to use object-family in compartment Finance",
			Statement{Groups: []string{"a", "b c"}, Verb: Use, Resource: ObjectFamily, Compartment: "Finance"}},
		{`Allow group "g" to inspect buckets in compartment "my comp" where target.bucket.name = 'x'`,
			Statement{Groups: []string{"g"}, Verb: Inspect, Resource: Buckets, Compartment: "my comp", HasBucket: true, Bucket: "x"}},
		{"Allow group g to manage objects in tenancy where TARGET.BUCKET.NAME != \"logs\"",
			Statement{Groups: []string{"g"}, Verb: Manage, Resource: Objects, Tenancy: true, HasBucket: true, Bucket: "logs", BucketNot: true}},
	}
	for _, c := range cases {
		sts := mustParse(t, c.doc)
		if len(sts) != 1 {
			t.Fatalf("%q: %d statements", c.doc, len(sts))
		}
		got := sts[0]
		c.want.Text, c.want.Line = c.doc, 1
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.doc, got, c.want)
		}
	}
}

func TestParseDocument(t *testing.T) {
	doc := "# readers\n\nAllow group r to read objects in tenancy ; Allow group w to manage objects in compartment c\n  Allow group x to inspect buckets in tenancy   # trailing comment\n"
	sts := mustParse(t, doc)
	if len(sts) != 3 {
		t.Fatalf("got %d statements: %+v", len(sts), sts)
	}
	wantText := []string{
		"Allow group r to read objects in tenancy",
		"Allow group w to manage objects in compartment c",
		"Allow group x to inspect buckets in tenancy",
	}
	wantLine := []int{3, 3, 4}
	for i, st := range sts {
		if st.Text != wantText[i] || st.Line != wantLine[i] {
			t.Errorf("statement %d: text %q line %d", i, st.Text, st.Line)
		}
		// Each statement's text parses on its own to the same statement.
		again := mustParse(t, st.Text)
		again[0].Line = st.Line
		if !reflect.DeepEqual(again[0], st) {
			t.Errorf("reparse of %q: %+v", st.Text, again[0])
		}
	}
}

func TestParseErrorsCarryPosition(t *testing.T) {
	cases := []struct {
		doc       string
		line, col int
		msg       string
	}{
		{"", 1, 1, "no statement"},
		{"# only a comment\n", 2, 1, "no statement"},
		{"Deny group g to read objects in tenancy", 1, 1, `expected "Allow"`},
		{"Allow user g to read objects in tenancy", 1, 7, `expected "group"`},
		{"Allow group to read objects in tenancy", 1, 16, `expected "to"`},
		{"Allow group g to reed objects in tenancy", 1, 18, "expected a verb"},
		{"Allow group g to read object in tenancy", 1, 23, "expected a resource type"},
		{"Allow group g to read objects on tenancy", 1, 31, `expected "in"`},
		{"Allow group g to read objects in region", 1, 34, `expected "compartment <name>" or "tenancy"`},
		{"Allow group g to read objects in compartment", 1, 45, "expected a compartment name"},
		{"Allow group g to read objects in tenancy where target.bucket.tag = 'x'", 1, 48, "target.bucket.name"},
		{"Allow group g to read objects in tenancy where target.bucket.name 'x'", 1, 67, `expected "=" or "!="`},
		{"Allow group g to read objects in tenancy where target.bucket.name = x", 1, 69, "quoted bucket name"},
		{"Allow group g to read objects in tenancy please", 1, 42, "end of the statement"},
		{"Allow group g to read objects in tenancy\nAllow group g to wreck objects in tenancy", 2, 18, "expected a verb"},
		{"Allow group 'g to read objects in tenancy", 1, 13, "unterminated"},
		{"Allow group g to read objects in tenancy where target.bucket.name ! 'x'", 1, 67, `"!="`},
		{"Allow group g to read objects in tenancy { }", 1, 42, "unexpected character"},
		{"Allow group g, = to read objects in tenancy", 1, 16, "expected a group name"},
		{"Allow group g to read objects in compartment ''", 1, 46, "empty name"},
		{"Allow group gé to read\xff", 1, 23, "UTF-8"},
	}
	for _, c := range cases {
		_, err := Parse(c.doc)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want a *ParseError", c.doc, err)
			continue
		}
		if pe.Line != c.line || pe.Column != c.col || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%q: got line %d column %d %q; want line %d column %d containing %q", c.doc, pe.Line, pe.Column, pe.Msg, c.line, c.col, c.msg)
		}
		if !strings.Contains(pe.Error(), "line ") || !strings.Contains(pe.Error(), "column ") {
			t.Errorf("%q: Error() %q does not say where", c.doc, pe.Error())
		}
	}
}

func TestVerbsAreCumulative(t *testing.T) {
	for _, r := range []Resource{Buckets, Objects, ObjectFamily, AllResources} {
		for v := Inspect; v < Manage; v++ {
			weaker, stronger := Permissions(v, r), Permissions(v+1, r)
			for _, p := range weaker {
				if !grants(v+1, r, p) {
					t.Errorf("%s %s grants %s but %s does not", v, r, p, v+1)
				}
			}
			if len(stronger) <= len(weaker) {
				t.Errorf("%s %s adds nothing over %s", v+1, r, v)
			}
		}
	}
}

func TestPermissionsPerVerb(t *testing.T) {
	cases := []struct {
		verb     Verb
		resource Resource
		want     []Permission
	}{
		{Inspect, Buckets, []Permission{BucketInspect}},
		{Read, Buckets, []Permission{BucketInspect, BucketRead}},
		{Use, Buckets, []Permission{BucketInspect, BucketRead, BucketUpdate}},
		{Manage, Buckets, []Permission{BucketInspect, BucketRead, BucketUpdate, BucketCreate, BucketDelete, ParManage}},
		{Inspect, Objects, []Permission{ObjectInspect}},
		{Read, Objects, []Permission{ObjectInspect, ObjectRead}},
		{Use, Objects, []Permission{ObjectInspect, ObjectRead, ObjectOverwrite}},
		{Manage, Objects, []Permission{ObjectInspect, ObjectRead, ObjectOverwrite, ObjectCreate, ObjectDelete, ObjectRestore, ObjectVersionDelete, ObjectBypassGovernance}},
		{Read, ObjectFamily, []Permission{BucketInspect, BucketRead, ObjectInspect, ObjectRead, NamespaceRead}},
		{Inspect, Namespaces, nil},
		{Read, Namespaces, []Permission{NamespaceRead}},
		{Use, Namespaces, []Permission{NamespaceRead}},
		{Manage, Namespaces, []Permission{NamespaceRead, NamespaceUpdate}},
	}
	for _, c := range cases {
		if got := Permissions(c.verb, c.resource); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: got %v want %v", c.verb, c.resource, got, c.want)
		}
	}
	if reflect.DeepEqual(Permissions(Manage, AllResources), Permissions(Manage, ObjectFamily)) == false {
		t.Errorf("all-resources and object-family differ for Object Storage: %v", Permissions(Manage, AllResources))
	}
	if NamespaceUpdate.String() != "OBJECTSTORAGE_NAMESPACE_UPDATE" || Namespaces.String() != "objectstorage-namespaces" {
		t.Error("namespace names")
	}
	if ObjectCreate.String() != "OBJECT_CREATE" || Permission(99).String() == "" || Use.String() != "use" || ObjectFamily.String() != "object-family" {
		t.Error("names")
	}
}

func TestTreeCovers(t *testing.T) {
	tree := Tree{"eng": "root", "ml": "eng", "finance": "root", "loop1": "loop2", "loop2": "loop1"}
	cases := []struct {
		scope, c string
		want     bool
	}{
		{"root", "", true},
		{"root", "ml", true},
		{"", "finance", true},
		{"eng", "eng", true},
		{"eng", "ml", true},
		{"ml", "eng", false},
		{"eng", "finance", false},
		{"eng", "", false},
		{"eng", "root", false},
		{"eng", "unknown", false},
		{"eng", "loop1", false},
		{"loop1", "loop2", true},
	}
	for _, c := range cases {
		if got := tree.Covers(c.scope, c.c); got != c.want {
			t.Errorf("Covers(%q, %q) = %v", c.scope, c.c, got)
		}
	}
}

func TestAuthorizer(t *testing.T) {
	stmts := mustParse(t, `
Allow group readers to read objects in tenancy
Allow group readers to inspect buckets in tenancy
Allow group eng to manage object-family in compartment eng
Allow group one to manage objects in compartment root where target.bucket.name = 'x'
Allow group notlogs to read objects in tenancy where target.bucket.name != 'logs'
`)
	tree := Tree{"eng": "root", "ml": "eng", "finance": "root"}
	in := func(bucket, comp string) Target {
		return Target{Bucket: bucket, CompartmentOf: func() (string, error) { return comp, nil }}
	}
	cases := []struct {
		groups []string
		p      Permission
		target Target
		want   bool
	}{
		{nil, ObjectRead, in("b", ""), false},
		{[]string{"strangers"}, ObjectRead, in("b", ""), false},
		{[]string{"readers"}, ObjectRead, in("b", "finance"), true},
		{[]string{"readers"}, ObjectInspect, in("b", ""), true},
		{[]string{"readers"}, BucketInspect, in("b", ""), true},
		{[]string{"readers"}, BucketRead, in("b", ""), false},
		{[]string{"readers"}, ObjectCreate, in("b", ""), false},
		{[]string{"readers"}, ObjectOverwrite, in("b", ""), false},
		{[]string{"readers"}, ObjectDelete, in("b", ""), false},
		{[]string{"eng"}, ObjectCreate, in("b", "eng"), true},
		{[]string{"eng"}, BucketDelete, in("b", "ml"), true},
		{[]string{"eng"}, ObjectRead, in("b", "finance"), false},
		{[]string{"eng"}, ObjectRead, in("b", ""), false},
		{[]string{"one"}, ObjectDelete, in("x", "ml"), true},
		{[]string{"one"}, ObjectDelete, in("y", ""), false},
		{[]string{"one"}, BucketRead, in("x", ""), false},
		{[]string{"notlogs"}, ObjectRead, in("data", ""), true},
		{[]string{"notlogs"}, ObjectRead, in("logs", ""), false},
		{[]string{"strangers", "eng"}, ObjectCreate, in("b", "ml"), true},
	}
	for _, c := range cases {
		a := NewAuthorizer(stmts, c.groups, tree)
		got, err := a.Allowed(c.p, c.target)
		if err != nil || got != c.want {
			t.Errorf("groups %v %s on %s: got %v %v, want %v", c.groups, c.p, c.target.Bucket, got, err, c.want)
		}
	}
	// The namespace itself is in the root compartment, and a bucket
	// condition never applies to it.
	nsStmts := mustParse(t, `
Allow group admins to manage objectstorage-namespaces in tenancy
Allow group family to manage object-family in compartment root
Allow group readers to read object-family in tenancy
Allow group eng to manage all-resources in compartment eng
Allow group onebucket to manage object-family in tenancy where target.bucket.name != 'x'
`)
	for _, c := range []struct {
		group string
		p     Permission
		want  bool
	}{
		{"admins", NamespaceUpdate, true},
		{"admins", NamespaceRead, true},
		{"admins", BucketInspect, false},
		{"family", NamespaceUpdate, true},
		{"readers", NamespaceRead, true},
		{"readers", NamespaceUpdate, false},
		{"eng", NamespaceRead, false},
		{"eng", NamespaceUpdate, false},
		{"onebucket", NamespaceUpdate, false},
	} {
		got, err := NewAuthorizer(nsStmts, []string{c.group}, tree).Allowed(c.p, NamespaceTarget())
		if err != nil || got != c.want {
			t.Errorf("group %s %s on the namespace: got %v %v, want %v", c.group, c.p, got, err, c.want)
		}
	}
	var zero *Authorizer
	if ok, _ := zero.Allowed(ObjectRead, in("b", "")); ok || zero.AllowedSomewhere(ObjectRead) {
		t.Error("nil authorizer allows")
	}
	if ok, _ := (&Authorizer{}).Allowed(ObjectRead, in("b", "")); ok {
		t.Error("zero authorizer allows")
	}
}

func TestAuthorizerFetchesCompartmentOnlyWhenNeeded(t *testing.T) {
	calls := 0
	boom := errors.New("meta down")
	target := Target{Bucket: "b", CompartmentOf: func() (string, error) { calls++; return "", boom }}
	a := NewAuthorizer(mustParse(t, "Allow group g to read objects in tenancy"), []string{"g"}, nil)
	if ok, err := a.Allowed(ObjectRead, target); !ok || err != nil || calls != 0 {
		t.Fatalf("tenancy grant: %v %v after %d lookups", ok, err, calls)
	}
	if ok, err := a.Allowed(ObjectDelete, target); ok || err != nil || calls != 0 {
		t.Fatalf("no grant: %v %v after %d lookups", ok, err, calls)
	}
	a = NewAuthorizer(mustParse(t, "Allow group g to read objects in compartment c\nAllow group g to read objects in compartment d"), []string{"g"}, Tree{"c": "root", "d": "root"})
	if _, err := a.Allowed(ObjectRead, target); !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("compartment grant: %v after %d lookups", err, calls)
	}
	calls = 0
	target.CompartmentOf = func() (string, error) { calls++; return "other", nil }
	if ok, _ := a.Allowed(ObjectRead, target); ok || calls != 1 {
		t.Fatalf("two compartment statements: %v after %d lookups", ok, calls)
	}
}

func TestAllowedSomewhereAndReferenced(t *testing.T) {
	stmts := mustParse(t, "Allow group g, h to inspect buckets in compartment c where target.bucket.name = 'x'\nAllow group h to read objects in tenancy\nAllow group g to read objects in compartment root")
	a := NewAuthorizer(stmts, []string{"g"}, nil)
	if !a.AllowedSomewhere(BucketInspect) || a.AllowedSomewhere(BucketRead) {
		t.Error("AllowedSomewhere")
	}
	groups, comps := Referenced(stmts)
	if !reflect.DeepEqual(groups, []string{"g", "h"}) || !reflect.DeepEqual(comps, []string{"c"}) {
		t.Errorf("Referenced: %v %v", groups, comps)
	}
}

// TestAllowedWrite: OBJECT_CREATE for a new name, OBJECT_OVERWRITE for an
// existing one, and the object looked up only when that decides.
func TestAllowedWrite(t *testing.T) {
	stmts := mustParse(t, `
Allow group users to use objects in tenancy
Allow group admins to manage objects in tenancy
`)
	target := Target{Bucket: "b"}
	for _, tc := range []struct {
		group   string
		exists  bool
		want    bool
		lookups int
	}{
		{"users", true, true, 1},
		{"users", false, false, 1},
		{"admins", false, true, 0},
		{"nobody", true, false, 0},
	} {
		lookups := 0
		got, err := NewAuthorizer(stmts, []string{tc.group}, Tree{}).AllowedWrite(target, func() (bool, error) {
			lookups++
			return tc.exists, nil
		})
		if err != nil || got != tc.want || lookups != tc.lookups {
			t.Errorf("%s, exists %v: %v (%v) after %d lookups; want %v after %d", tc.group, tc.exists, got, err, lookups, tc.want, tc.lookups)
		}
	}
	boom := errors.New("meta down")
	if _, err := NewAuthorizer(stmts, []string{"users"}, Tree{}).AllowedWrite(target, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("lookup error: %v", err)
	}
}
