package bucketpolicy

import (
	"strings"
)

// Public reports whether p is public as S3 defines it: some Allow
// statement grants to a principal that is not fixed ("*", or everyone
// but a list with NotPrincipal) without a condition that limits it to
// fixed values. Deny statements never make a policy public.
func (p *Policy) Public() bool {
	for i := range p.Statements {
		if p.Statements[i].public() {
			return true
		}
	}
	return false
}

// fixedKeys are the condition keys that, given fixed values, limit a
// statement to known callers (S3's list; the keys Cairn never sets still
// count, as S3 counts them, and then match nothing).
func fixedKeys() map[string]bool {
	return map[string]bool{
		"aws:sourceip":         true,
		"aws:sourcearn":        true,
		"aws:sourcevpc":        true,
		"aws:sourcevpce":       true,
		"aws:sourceowner":      true,
		"aws:sourceaccount":    true,
		"aws:principalorgid":   true,
		"aws:principalaccount": true,
		"aws:userid":           true,
		"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	}
}

func (st *Statement) public() bool {
	if st.Effect != Allow {
		return false
	}
	if !st.NotPrincipal && !st.anyPrincipal {
		return false // a fixed list of principals
	}
	keys := fixedKeys()
	for i := range st.Conditions {
		if c := &st.Conditions[i]; keys[strings.ToLower(c.Key)] && c.limits() {
			return false
		}
	}
	return true
}

// limits reports whether c admits only fixed values of its key: a
// positive operator that needs the key, with no wildcard value and, for
// addresses, no range that holds every address.
func (c *Condition) limits() bool {
	if c.negated || c.ifExists || c.set == setAll || c.op == opNull {
		return false
	}
	for i, v := range c.Values {
		if strings.ContainsAny(v, "*?") || strings.Contains(v, "${") {
			return false
		}
		if c.op == opIP && c.prefixes[i].Bits() == 0 {
			return false
		}
	}
	switch c.op {
	case opString, opIP, opARN:
		return true
	case opStringLike:
		return true // values without wildcards are fixed
	}
	return false
}
