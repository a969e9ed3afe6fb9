package bucketpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by every error Parse returns; the wrapping text
// is the reason, fit for the MalformedPolicy message.
var ErrMalformed = errors.New("malformed policy")

// Effect is a statement's effect.
type Effect uint8

// The effects.
const (
	Allow Effect = iota + 1
	Deny
)

// Policy is a parsed, valid bucket policy.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement. Exactly one of each pair (Principals or
// NotPrincipals, Actions or NotActions, Resources or NotResources) is set.
type Statement struct {
	Sid    string
	Effect Effect
	// Principals: AnyPrincipal ("*") or ARNs; NotPrincipal when negated.
	Principals    []string
	NotPrincipal  bool
	Actions       []string
	NotAction     bool
	Resources     []string
	NotResource   bool
	Conditions    []Condition
	anyPrincipal  bool
	principalsSet bool
}

// AnyPrincipal is the principal that names everyone.
const AnyPrincipal = "*"

// Versions a policy may declare.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// ARN prefixes of the resources and principals a bucket policy names.
const (
	s3ARNPrefix  = "arn:aws:s3:::"
	iamARNPrefix = "arn:aws:iam::"
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}

// Parse reads a bucket policy for bucket and checks it: every element is
// known and well formed, every resource is bucket's or an object of it.
func Parse(doc []byte, bucket string) (*Policy, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, malformed("This policy contains invalid Json")
	}
	if dec.More() {
		return nil, malformed("This policy contains invalid Json")
	}
	p := &Policy{}
	for k, v := range top {
		switch k {
		case "Version":
			if err := json.Unmarshal(v, &p.Version); err != nil {
				return nil, malformed("Version must be a string")
			}
			if p.Version != Version2012 && p.Version != Version2008 {
				return nil, malformed("Invalid policy version %q", p.Version)
			}
		case "Id":
			if err := json.Unmarshal(v, &p.ID); err != nil {
				return nil, malformed("Id must be a string")
			}
		case "Statement":
			var raw []json.RawMessage
			if trimmed := bytes.TrimSpace(v); len(trimmed) > 0 && trimmed[0] == '{' {
				raw = []json.RawMessage{v}
			} else if err := json.Unmarshal(v, &raw); err != nil {
				return nil, malformed("Statement must be an object or a list of objects")
			}
			sids := map[string]bool{}
			for i, r := range raw {
				st, err := parseStatement(r, bucket)
				if err != nil {
					return nil, fmt.Errorf("statement %d: %w", i+1, err)
				}
				if st.Sid != "" {
					if sids[st.Sid] {
						return nil, malformed("Statement IDs (SID) in a single policy must be unique: %q", st.Sid)
					}
					sids[st.Sid] = true
				}
				p.Statements = append(p.Statements, st)
			}
		default:
			return nil, malformed("Unknown field %s", k)
		}
	}
	if p.Version == "" {
		p.Version = Version2008
	}
	if len(p.Statements) == 0 {
		return nil, malformed("Missing required field Statement")
	}
	return p, nil
}

func parseStatement(raw json.RawMessage, bucket string) (Statement, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return Statement{}, malformed("Statement must be an object")
	}
	st := Statement{}
	var hasAction, hasResource bool
	for k, v := range fields {
		var err error
		switch k {
		case "Sid":
			if json.Unmarshal(v, &st.Sid) != nil {
				err = malformed("Sid must be a string")
			}
		case "Effect":
			var e string
			_ = json.Unmarshal(v, &e)
			switch e {
			case "Allow":
				st.Effect = Allow
			case "Deny":
				st.Effect = Deny
			default:
				err = malformed("Invalid effect: %s", v)
			}
		case "Principal", "NotPrincipal":
			if st.principalsSet {
				return st, malformed("Statement has both Principal and NotPrincipal")
			}
			st.principalsSet, st.NotPrincipal = true, k == "NotPrincipal"
			st.Principals, err = parsePrincipal(v)
			for _, p := range st.Principals {
				st.anyPrincipal = st.anyPrincipal || p == AnyPrincipal
			}
		case "Action", "NotAction":
			if hasAction {
				return st, malformed("Statement has both Action and NotAction")
			}
			hasAction, st.NotAction = true, k == "NotAction"
			st.Actions, err = stringList(v, k)
			for _, a := range st.Actions {
				if err == nil && a != "*" && !(len(a) > 3 && strings.EqualFold(a[:3], "s3:")) {
					err = malformed("Policy has invalid action: %q", a)
				}
			}
		case "Resource", "NotResource":
			if hasResource {
				return st, malformed("Statement has both Resource and NotResource")
			}
			hasResource, st.NotResource = true, k == "NotResource"
			st.Resources, err = stringList(v, k)
			for _, r := range st.Resources {
				if err == nil {
					err = checkResource(r, bucket)
				}
			}
		case "Condition":
			st.Conditions, err = parseConditions(v)
		default:
			err = malformed("Unknown field %s", k)
		}
		if err != nil {
			return st, err
		}
	}
	switch {
	case st.Effect == 0:
		return st, malformed("Missing required field Effect")
	case !st.principalsSet:
		return st, malformed("Missing required field Principal")
	case !hasAction:
		return st, malformed("Missing required field Action")
	case !hasResource:
		return st, malformed("Missing required field Resource")
	}
	return st, nil
}

// stringList reads a string or a non-empty list of strings.
func stringList(v json.RawMessage, field string) ([]string, error) {
	var one string
	if json.Unmarshal(v, &one) == nil {
		if one == "" {
			return nil, malformed("%s must not be empty", field)
		}
		return []string{one}, nil
	}
	var list []string
	if json.Unmarshal(v, &list) != nil || len(list) == 0 {
		return nil, malformed("%s must be a string or a non-empty list of strings", field)
	}
	for _, s := range list {
		if s == "" {
			return nil, malformed("%s must not hold an empty string", field)
		}
	}
	return list, nil
}

// parsePrincipal reads "*" or {"AWS": "*" | principal | [principals]}.
func parsePrincipal(v json.RawMessage) ([]string, error) {
	var star string
	if json.Unmarshal(v, &star) == nil {
		if star != AnyPrincipal {
			return nil, malformed("Invalid principal in policy: %q", star)
		}
		return []string{AnyPrincipal}, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || len(m) == 0 {
		return nil, malformed("Invalid principal in policy")
	}
	var out []string
	for k, raw := range m {
		if k != "AWS" {
			return nil, malformed("Invalid principal in policy: Cairn knows no %s principals", k)
		}
		list, err := stringList(raw, "Principal")
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if err := checkPrincipal(p); err != nil {
				return nil, err
			}
		}
		out = append(out, list...)
	}
	return out, nil
}

// checkPrincipal accepts "*", a namespace name, or the IAM ARN of a
// namespace (root), a user or a group.
func checkPrincipal(p string) error {
	if p == AnyPrincipal {
		return nil
	}
	if strings.ContainsAny(p, "*?") {
		return malformed("Invalid principal in policy: %q (wildcards are allowed only as \"*\")", p)
	}
	rest, ok := strings.CutPrefix(p, iamARNPrefix)
	if !ok {
		if strings.Contains(p, ":") {
			return malformed("Invalid principal in policy: %q", p)
		}
		return nil // a namespace name
	}
	ns, what, ok := strings.Cut(rest, ":")
	if !ok || ns == "" {
		return malformed("Invalid principal in policy: %q", p)
	}
	if what == "root" {
		return nil
	}
	kind, name, ok := strings.Cut(what, "/")
	if !ok || name == "" || (kind != "user" && kind != "group") {
		return malformed("Invalid principal in policy: %q", p)
	}
	return nil
}

// checkResource accepts "*" or an S3 ARN naming bucket or objects of it.
func checkResource(r, bucket string) error {
	if r == "*" {
		return nil
	}
	rest, ok := strings.CutPrefix(r, s3ARNPrefix)
	if !ok {
		return malformed("Policy has invalid resource: %q", r)
	}
	b, _, _ := strings.Cut(rest, "/")
	if b == "" || !Match(b, bucket, false) {
		return malformed("Policy has invalid resource: %q is not in bucket %q", r, bucket)
	}
	return nil
}

// rawValues reads a condition's values: a scalar or a list of scalars
// (strings, numbers, booleans), as strings.
func rawValues(v json.RawMessage) ([]string, error) {
	var list []json.RawMessage
	if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, malformed("Invalid Condition value")
		}
	} else {
		list = []json.RawMessage{v}
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, malformed("Invalid Condition value")
		}
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		case bool:
			out = append(out, strconv.FormatBool(x))
		default:
			return nil, malformed("Invalid Condition value %s", item)
		}
	}
	if len(out) == 0 {
		return nil, malformed("Condition values must not be empty")
	}
	return out, nil
}
