package policy

// Tree is a namespace's compartments: each compartment's name mapped to
// its parent's. The root compartment is implicit (it need not be in the
// map); a compartment whose parent is missing hangs under the root.
type Tree map[string]string

// Covers reports whether scope is c or one of c's ancestors. The empty
// name and RootCompartment both mean the root, which covers everything.
func (t Tree) Covers(scope, c string) bool {
	if scope == "" || scope == RootCompartment {
		return true
	}
	if c == "" {
		c = RootCompartment
	}
	// Bounded walk: a corrupt tree with a cycle cannot loop forever.
	for i := 0; i <= len(t) && c != RootCompartment; i++ {
		if c == scope {
			return true
		}
		parent, ok := t[c]
		if !ok || parent == "" {
			return false
		}
		c = parent
	}
	return false
}

// Authorizer answers whether one principal (a user with its groups) may
// act. Build it with NewAuthorizer; the zero value allows nothing.
type Authorizer struct {
	stmts []Statement
	tree  Tree
}

// NewAuthorizer keeps the statements that name one of groups, to be
// evaluated against the namespace's compartment tree.
func NewAuthorizer(stmts []Statement, groups []string, tree Tree) *Authorizer {
	member := make(map[string]bool, len(groups))
	for _, g := range groups {
		member[g] = true
	}
	a := &Authorizer{tree: tree}
	for _, st := range stmts {
		for _, g := range st.Groups {
			if member[g] {
				a.stmts = append(a.stmts, st)
				break
			}
		}
	}
	return a
}

// Target is what a request acts on: a bucket and the compartment it is
// in. CompartmentOf is called (at most once, and only when a statement's
// answer depends on it) to find the bucket's compartment; "" is the root.
// A target without a bucket is the namespace itself (NamespaceTarget):
// a statement with a target.bucket.name condition never applies to it, as
// in OCI a condition on a variable the request does not have is false.
type Target struct {
	Bucket        string
	CompartmentOf func() (string, error)
}

// NamespaceTarget is the namespace itself, which is in the root
// compartment: the target of NamespaceRead and NamespaceUpdate.
func NamespaceTarget() Target {
	return Target{CompartmentOf: func() (string, error) { return RootCompartment, nil }}
}

// Allowed reports whether some statement grants p on target. The only
// error is one returned by target.CompartmentOf.
func (a *Authorizer) Allowed(p Permission, target Target) (bool, error) {
	if a == nil {
		return false, nil
	}
	var (
		comp    string
		fetched bool
	)
	for _, st := range a.stmts {
		if !grants(st.Verb, st.Resource, p) || !bucketMatches(st, target.Bucket) {
			continue
		}
		if st.Tenancy || st.Compartment == RootCompartment {
			return true, nil
		}
		if !fetched {
			if target.CompartmentOf == nil {
				continue
			}
			c, err := target.CompartmentOf()
			if err != nil {
				return false, err
			}
			comp, fetched = c, true
		}
		if a.tree.Covers(st.Compartment, comp) {
			return true, nil
		}
	}
	return false, nil
}

// AllowedSomewhere reports whether some statement grants p on anything at
// all, whatever its bucket or compartment (used to admit a listing whose
// entries are then filtered one by one with Allowed).
func (a *Authorizer) AllowedSomewhere(p Permission) bool {
	if a == nil {
		return false
	}
	for _, st := range a.stmts {
		if grants(st.Verb, st.Resource, p) {
			return true
		}
	}
	return false
}

// AllowedWrite reports whether a may write an object into target: it
// takes OBJECT_CREATE for a new name and OBJECT_OVERWRITE for an existing
// one. exists is asked only when the answer depends on it (the caller
// holds one of the two permissions but not the other). Every front end
// judges writes with this one rule.
func (a *Authorizer) AllowedWrite(target Target, exists func() (bool, error)) (bool, error) {
	create, err := a.Allowed(ObjectCreate, target)
	if err != nil {
		return false, err
	}
	overwrite, err := a.Allowed(ObjectOverwrite, target)
	if err != nil || create == overwrite {
		return create, err
	}
	there, err := exists()
	if err != nil {
		return false, err
	}
	if there {
		return overwrite, nil
	}
	return create, nil
}

func bucketMatches(st Statement, bucket string) bool {
	if !st.HasBucket {
		return true
	}
	if bucket == "" {
		return false // the namespace: the condition's variable is absent
	}
	return (bucket == st.Bucket) != st.BucketNot
}

// Referenced returns the groups and the compartments (other than the
// root) that stmts name, each once, in first-seen order.
func Referenced(stmts []Statement) (groups, compartments []string) {
	seenG, seenC := map[string]bool{}, map[string]bool{}
	for _, st := range stmts {
		for _, g := range st.Groups {
			if !seenG[g] {
				seenG[g] = true
				groups = append(groups, g)
			}
		}
		if !st.Tenancy && st.Compartment != RootCompartment && !seenC[st.Compartment] {
			seenC[st.Compartment] = true
			compartments = append(compartments, st.Compartment)
		}
	}
	return groups, compartments
}
