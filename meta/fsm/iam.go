package fsm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// Authorization keys, in the "t/" table with the rest of tenancy:
//
//	t/cmp/<namespace>\x00<compartment> -> cairnpb.Compartment
//	t/grp/<namespace>\x00<group>       -> cairnpb.Group (with its members)
//	t/pol/<namespace>\x00<policy>      -> cairnpb.Policy
//
// Compartment and group records carry their OCIDs (ocid.go). The root
// compartment ("root") has no record: every namespace has it,
// including namespaces made before compartments existed. A namespace's S3
// compartment is Namespace.s3_compartment ("" for the root).
const (
	tagCompartment = "t/cmp/"
	tagGroup       = "t/grp/"
	tagPolicy      = "t/pol/"
)

// maxIAMNameLen bounds compartment, group and policy names.
const maxIAMNameLen = 100

func nsPrefix(tag, ns string) []byte {
	k := append([]byte(tag), ns...)
	return append(k, 0)
}

func compartmentKey(ns, name string) []byte { return append(nsPrefix(tagCompartment, ns), name...) }
func groupKey(ns, name string) []byte       { return append(nsPrefix(tagGroup, ns), name...) }
func policyKey(ns, name string) []byte      { return append(nsPrefix(tagPolicy, ns), name...) }

// ValidIAMName accepts names that can be written bare in a policy
// statement: letters, digits, '.', '-' and '_', 1 to 100 bytes.
func ValidIAMName(what, v string) error {
	if v == "" {
		return Invalid("%s is required", what)
	}
	if len(v) > maxIAMNameLen {
		return Invalid("%s is longer than %d bytes", what, maxIAMNameLen)
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return Invalid("%s %q: use letters, digits, '.', '-' and '_'", what, v)
		}
	}
	return nil
}

func IsRootCompartment(name string) bool { return name == "" || name == policy.RootCompartment }

// s3CompartmentOf returns the compartment S3 CreateBucket puts buckets of
// ns in ("" is the root; so is a namespace without a record, such as a
// gateway's default namespace).
func s3CompartmentOf(r pebble.Reader, ns string) (string, error) {
	n := &cairnpb.Namespace{}
	if _, err := GetProto(r, namespaceKey(ns), n); err != nil {
		return "", err
	}
	return n.GetS3Compartment(), nil
}

func compartmentExists(r pebble.Reader, ns, name string) (bool, error) {
	if IsRootCompartment(name) {
		return true, nil
	}
	return GetProto(r, compartmentKey(ns, name), &cairnpb.Compartment{})
}

// GetCompartment returns a compartment record of ns (never the root's),
// with its OCID.
func GetCompartment(r pebble.Reader, ns, name string) (*cairnpb.Compartment, error) {
	c := &cairnpb.Compartment{}
	ok, err := GetProto(r, compartmentKey(ns, name), c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: compartment %q in namespace %q: %w", name, ns, rpcerr.ErrCompartmentNotFound)
	}
	return withCompartmentOCID(c), nil
}

// ListCompartments returns ns's compartment records (not the root's),
// each with its OCID.
func ListCompartments(r pebble.Reader, ns string) ([]*cairnpb.Compartment, error) {
	var out []*cairnpb.Compartment
	err := ScanProtos(r, nsPrefix(tagCompartment, ns), func() *cairnpb.Compartment { return &cairnpb.Compartment{} },
		func(c *cairnpb.Compartment) { out = append(out, withCompartmentOCID(c)) })
	return out, err
}

// GetGroup returns a group of ns with its OCID.
func GetGroup(r pebble.Reader, ns, name string) (*cairnpb.Group, error) {
	g := &cairnpb.Group{}
	ok, err := GetProto(r, groupKey(ns, name), g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("meta: group %q in namespace %q: %w", name, ns, rpcerr.ErrGroupNotFound)
	}
	return withGroupOCID(g), nil
}

// ListGroups returns ns's groups, each with its OCID.
func ListGroups(r pebble.Reader, ns string) ([]*cairnpb.Group, error) {
	var out []*cairnpb.Group
	err := ScanProtos(r, nsPrefix(tagGroup, ns), func() *cairnpb.Group { return &cairnpb.Group{} },
		func(g *cairnpb.Group) { out = append(out, withGroupOCID(g)) })
	return out, err
}

func ListPolicies(r pebble.Reader, ns string) ([]*cairnpb.Policy, error) {
	var out []*cairnpb.Policy
	err := ScanProtos(r, nsPrefix(tagPolicy, ns), func() *cairnpb.Policy { return &cairnpb.Policy{} },
		func(p *cairnpb.Policy) { out = append(out, p) })
	return out, err
}

// ParsePolicy parses a policy's statements as one document (one entry per
// line), so parse errors give the line of the entry.
func ParsePolicy(name string, statements []string) ([]policy.Statement, error) {
	sts, err := policy.Parse(strings.Join(statements, "\n"))
	if err != nil {
		return nil, Invalid("policy %q: %v", name, err)
	}
	return sts, nil
}

// checkPolicyRefs fails unless every group and compartment sts name
// exists in ns.
func checkPolicyRefs(r pebble.Reader, ns, name string, sts []policy.Statement) error {
	groups, comps := policy.Referenced(sts)
	for _, g := range groups {
		ok, err := GetProto(r, groupKey(ns, g), &cairnpb.Group{})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("meta: policy %q names group %q, which namespace %q does not have: %w", name, g, ns, rpcerr.ErrGroupNotFound)
		}
	}
	for _, c := range comps {
		ok, err := compartmentExists(r, ns, c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("meta: policy %q names compartment %q, which namespace %q does not have: %w", name, c, ns, rpcerr.ErrCompartmentNotFound)
		}
	}
	return nil
}

func applyCreateCompartment(b *pebble.Batch, now int64, c *cairnpb.CreateCompartmentCmd) error {
	cm := c.GetCompartment()
	if err := ValidIAMName("compartment name", cm.GetName()); err != nil {
		return err
	}
	if _, err := GetNamespace(b, cm.GetNamespace()); err != nil {
		return err
	}
	exists, err := compartmentExists(b, cm.GetNamespace(), cm.GetName())
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("meta: compartment %q in namespace %q: %w", cm.GetName(), cm.GetNamespace(), rpcerr.ErrCompartmentExists)
	}
	if IsRootCompartment(cm.GetParent()) {
		cm.Parent = policy.RootCompartment
	} else if ok, err := compartmentExists(b, cm.GetNamespace(), cm.GetParent()); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("meta: parent compartment %q in namespace %q: %w", cm.GetParent(), cm.GetNamespace(), rpcerr.ErrCompartmentNotFound)
	}
	comps, err := ListCompartments(b, cm.GetNamespace())
	if err != nil {
		return err
	}
	taken := make([]string, len(comps))
	for i, o := range comps {
		taken[i] = o.GetOcid()
	}
	if err := checkNewOCID(OCIDCompartment, cm.GetOcid(), taken); err != nil {
		return fmt.Errorf("meta: create compartment: %w", err)
	}
	if cm.GetCreatedUnixNano() == 0 {
		cm.CreatedUnixNano = now
	}
	return putProto(b, compartmentKey(cm.GetNamespace(), cm.GetName()), cm)
}

func applySetS3Compartment(b *pebble.Batch, c *cairnpb.SetS3CompartmentCmd) error {
	n, err := GetNamespace(b, c.GetNamespace())
	if err != nil {
		return err
	}
	ok, err := compartmentExists(b, c.GetNamespace(), c.GetCompartment())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("meta: compartment %q in namespace %q: %w", c.GetCompartment(), c.GetNamespace(), rpcerr.ErrCompartmentNotFound)
	}
	n.S3Compartment = c.GetCompartment()
	if IsRootCompartment(n.S3Compartment) {
		n.S3Compartment = ""
	}
	return putProto(b, namespaceKey(n.GetName()), n)
}

func applyCreateGroup(b *pebble.Batch, now int64, c *cairnpb.CreateGroupCmd) error {
	g := c.GetGroup()
	if err := ValidIAMName("group name", g.GetName()); err != nil {
		return err
	}
	if _, err := GetNamespace(b, g.GetNamespace()); err != nil {
		return err
	}
	ok, err := GetProto(b, groupKey(g.GetNamespace(), g.GetName()), &cairnpb.Group{})
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("meta: group %q in namespace %q: %w", g.GetName(), g.GetNamespace(), rpcerr.ErrGroupExists)
	}
	groups, err := ListGroups(b, g.GetNamespace())
	if err != nil {
		return err
	}
	taken := make([]string, len(groups))
	for i, o := range groups {
		taken[i] = o.GetOcid()
	}
	if err := checkNewOCID(OCIDGroup, g.GetOcid(), taken); err != nil {
		return fmt.Errorf("meta: create group: %w", err)
	}
	g.Members = nil
	if g.GetCreatedUnixNano() == 0 {
		g.CreatedUnixNano = now
	}
	return putProto(b, groupKey(g.GetNamespace(), g.GetName()), g)
}

func applySetGroupMember(b *pebble.Batch, c *cairnpb.SetGroupMemberCmd) error {
	g, err := GetGroup(b, c.GetNamespace(), c.GetGroup())
	if err != nil {
		return err
	}
	i, in := slices.BinarySearch(g.Members, c.GetUser())
	switch {
	case c.GetMember() && in:
		return nil
	case c.GetMember():
		if _, err := GetUser(b, c.GetNamespace(), c.GetUser()); err != nil {
			return err
		}
		g.Members = slices.Insert(g.Members, i, c.GetUser())
	case !in:
		return fmt.Errorf("meta: user %q is not in group %q of namespace %q: %w", c.GetUser(), c.GetGroup(), c.GetNamespace(), rpcerr.ErrUserNotFound)
	default:
		g.Members = slices.Delete(g.Members, i, i+1)
	}
	return putProto(b, groupKey(g.GetNamespace(), g.GetName()), g)
}

// removeFromGroups takes a deleted user out of every group of its
// namespace, so a new user of the same name starts with no rights.
func removeFromGroups(b *pebble.Batch, ns, user string) error {
	groups, err := ListGroups(b, ns)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if i, in := slices.BinarySearch(g.Members, user); in {
			g.Members = slices.Delete(g.Members, i, i+1)
			if err := putProto(b, groupKey(ns, g.GetName()), g); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyCreatePolicy(b *pebble.Batch, now int64, c *cairnpb.CreatePolicyCmd) error {
	p := c.GetPolicy()
	if err := ValidIAMName("policy name", p.GetName()); err != nil {
		return err
	}
	if _, err := GetNamespace(b, p.GetNamespace()); err != nil {
		return err
	}
	ok, err := GetProto(b, policyKey(p.GetNamespace(), p.GetName()), &cairnpb.Policy{})
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("meta: policy %q in namespace %q: %w", p.GetName(), p.GetNamespace(), rpcerr.ErrPolicyExists)
	}
	sts, err := ParsePolicy(p.GetName(), p.GetStatements())
	if err != nil {
		return err
	}
	if err := checkPolicyRefs(b, p.GetNamespace(), p.GetName(), sts); err != nil {
		return err
	}
	p.Statements = make([]string, len(sts))
	for i, st := range sts {
		p.Statements[i] = st.Text
	}
	if p.GetCreatedUnixNano() == 0 {
		p.CreatedUnixNano = now
	}
	return putProto(b, policyKey(p.GetNamespace(), p.GetName()), p)
}

func applyDeletePolicy(b *pebble.Batch, c *cairnpb.DeletePolicyCmd) error {
	key := policyKey(c.GetNamespace(), c.GetName())
	ok, err := GetProto(b, key, &cairnpb.Policy{})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("meta: policy %q in namespace %q: %w", c.GetName(), c.GetNamespace(), rpcerr.ErrPolicyNotFound)
	}
	return del(b, key)
}

// AuthorizationOf fills resp with what a gateway needs to authorize the
// requests of user in ns: its groups, the statements naming one of them,
// the compartment tree and the S3 compartment.
func AuthorizationOf(r pebble.Reader, ns, user string, resp *cairnpb.LookupAccessKeyResponse) error {
	groups, err := ListGroups(r, ns)
	if err != nil {
		return err
	}
	member := map[string]bool{}
	for _, g := range groups {
		if _, in := slices.BinarySearch(g.GetMembers(), user); in {
			resp.Groups = append(resp.Groups, g.GetName())
			member[g.GetName()] = true
		}
	}
	if len(resp.Groups) == 0 {
		return nil // no group, no rights: nothing else to send
	}
	policies, err := ListPolicies(r, ns)
	if err != nil {
		return err
	}
	for _, p := range policies {
		for _, text := range p.GetStatements() {
			sts, err := policy.Parse(text)
			if err != nil {
				continue // stored statements parsed when created
			}
			for _, st := range sts {
				for _, g := range st.Groups {
					if member[g] {
						resp.Statements = append(resp.Statements, text)
						break
					}
				}
			}
		}
	}
	if resp.Compartments, err = ListCompartments(r, ns); err != nil {
		return err
	}
	resp.S3Compartment, err = s3CompartmentOf(r, ns)
	return err
}
