package bucketpolicy

import (
	"strings"
)

// Decision is what a policy says about a request.
type Decision uint8

// The decisions. NoDecision: no statement matched, so the policy neither
// grants nor refuses; the caller's other policies decide.
const (
	NoDecision Decision = iota
	Allowed
	Denied
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case Denied:
		return "Deny"
	}
	return "NoDecision"
}

// Principal is who a request acts as. An anonymous principal (an unsigned
// request) is named by "*" only; a signed one by every ARN it is (its
// namespace's root ARN and name, its user ARN, its groups' ARNs).
type Principal struct {
	Anonymous bool
	ARNs      []string
}

// Request is one access a policy is asked about.
type Request struct {
	Principal Principal
	// Action is the S3 action name, e.g. "s3:GetObject".
	Action string
	// Resource is the ARN acted on: arn:aws:s3:::bucket or
	// arn:aws:s3:::bucket/key.
	Resource string
	// Values returns the request's values of a condition key and
	// whether the request has the key. The key is passed as the policy
	// writes it: the caller matches names case-insensitively, but the
	// part after "/" (a tag key) is case-sensitive. It is called only
	// for keys a matching statement's conditions name; an error ends
	// the evaluation.
	Values func(key string) ([]string, bool, error)
}

// Evaluate says what p decides for r: Denied if a Deny statement applies,
// else Allowed if an Allow statement applies, else NoDecision.
func (p *Policy) Evaluate(r Request) (Decision, error) {
	allowed := false
	for i := range p.Statements {
		st := &p.Statements[i]
		if st.Effect == Allow && allowed {
			continue // only a Deny can change the answer now
		}
		ok, err := st.applies(r)
		if err != nil {
			return NoDecision, err
		}
		if !ok {
			continue
		}
		if st.Effect == Deny {
			return Denied, nil
		}
		allowed = true
	}
	if allowed {
		return Allowed, nil
	}
	return NoDecision, nil
}

// applies reports whether st matches r: principal, action, resource and
// every condition.
func (st *Statement) applies(r Request) (bool, error) {
	if st.matchesPrincipal(r.Principal) == st.NotPrincipal {
		return false, nil
	}
	if anyMatch(st.Actions, r.Action, true) == st.NotAction {
		return false, nil
	}
	if anyMatch(st.Resources, r.Resource, false) == st.NotResource {
		return false, nil
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		var vals []string
		present := false
		if r.Values != nil {
			var err error
			vals, present, err = r.Values(c.Key)
			if err != nil {
				return false, err
			}
		}
		if !c.holds(vals, present) {
			return false, nil
		}
	}
	return true, nil
}

func (st *Statement) matchesPrincipal(p Principal) bool {
	if st.anyPrincipal {
		return true
	}
	if p.Anonymous {
		return false
	}
	for _, want := range st.Principals {
		for _, have := range p.ARNs {
			if want == have {
				return true
			}
		}
	}
	return false
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if Match(p, s, fold) {
			return true
		}
	}
	return false
}

// Match matches s against pattern, where "*" is any run of characters and
// "?" any one character; case-insensitively when fold.
func Match(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Iterative glob with backtracking to the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			pi++
			si++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// ObjectARN and BucketARN name what a request acts on.
func ObjectARN(bucket, key string) string { return s3ARNPrefix + bucket + "/" + key }

// BucketARN is the ARN of a bucket.
func BucketARN(bucket string) string { return s3ARNPrefix + bucket }

// NamespaceARN is the principal ARN naming every principal of a namespace.
func NamespaceARN(ns string) string { return iamARNPrefix + ns + ":root" }

// UserARN is the principal ARN of a user.
func UserARN(ns, user string) string { return iamARNPrefix + ns + ":user/" + user }

// GroupARN is the principal ARN of a group's members.
func GroupARN(ns, group string) string { return iamARNPrefix + ns + ":group/" + group }
