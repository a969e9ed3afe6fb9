package bucketpolicy

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition is one test of a statement's Condition block: an operator
// applied to one key with its values. A statement applies only when all
// its conditions hold.
type Condition struct {
	// Operator is the operator as written (e.g. "ForAnyValue:StringLikeIfExists").
	Operator string
	// Key is the condition key as written; keys match case-insensitively.
	Key    string
	Values []string

	op       opKind
	negated  bool
	ifExists bool
	set      setKind
	fold     bool
	cmp      func(c int) bool
	prefixes []netip.Prefix
}

type opKind uint8

const (
	opString opKind = iota + 1
	opStringLike
	opNumeric
	opDate
	opBool
	opIP
	opARN
	opNull
)

type setKind uint8

const (
	setNone setKind = iota
	setAny
	setAll
)

// operatorRow is what an operator name means.
type operatorRow struct {
	op      opKind
	negated bool
	fold    bool
	cmp     func(c int) bool
}

func eq(c int) bool { return c == 0 }
func lt(c int) bool { return c < 0 }
func le(c int) bool { return c <= 0 }
func gt(c int) bool { return c > 0 }
func ge(c int) bool { return c >= 0 }
func any0(int) bool { return true }

// operators is the one table of condition operators (without the
// IfExists suffix and the ForAnyValue:/ForAllValues: prefixes).
func operators() map[string]operatorRow {
	return map[string]operatorRow{
		"StringEquals":              {op: opString, cmp: eq},
		"StringNotEquals":           {op: opString, negated: true, cmp: eq},
		"StringEqualsIgnoreCase":    {op: opString, fold: true, cmp: eq},
		"StringNotEqualsIgnoreCase": {op: opString, negated: true, fold: true, cmp: eq},
		"StringLike":                {op: opStringLike, cmp: any0},
		"StringNotLike":             {op: opStringLike, negated: true, cmp: any0},
		"NumericEquals":             {op: opNumeric, cmp: eq},
		"NumericNotEquals":          {op: opNumeric, negated: true, cmp: eq},
		"NumericLessThan":           {op: opNumeric, cmp: lt},
		"NumericLessThanEquals":     {op: opNumeric, cmp: le},
		"NumericGreaterThan":        {op: opNumeric, cmp: gt},
		"NumericGreaterThanEquals":  {op: opNumeric, cmp: ge},
		"DateEquals":                {op: opDate, cmp: eq},
		"DateNotEquals":             {op: opDate, negated: true, cmp: eq},
		"DateLessThan":              {op: opDate, cmp: lt},
		"DateLessThanEquals":        {op: opDate, cmp: le},
		"DateGreaterThan":           {op: opDate, cmp: gt},
		"DateGreaterThanEquals":     {op: opDate, cmp: ge},
		"Bool":                      {op: opBool, cmp: eq},
		"IpAddress":                 {op: opIP, cmp: any0},
		"NotIpAddress":              {op: opIP, negated: true, cmp: any0},
		"ArnEquals":                 {op: opARN, cmp: any0},
		"ArnLike":                   {op: opARN, cmp: any0},
		"ArnNotEquals":              {op: opARN, negated: true, cmp: any0},
		"ArnNotLike":                {op: opARN, negated: true, cmp: any0},
		"Null":                      {op: opNull, cmp: any0},
	}
}

func parseConditions(v json.RawMessage) ([]Condition, error) {
	var block map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v, &block); err != nil {
		return nil, malformed("Condition must map operators to objects of keys")
	}
	table := operators()
	var out []Condition
	for name, keys := range block {
		base, set := name, setNone
		if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
			base, set = rest, setAny
		} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
			base, set = rest, setAll
		}
		base, ifExists := strings.CutSuffix(base, "IfExists")
		row, ok := table[base]
		if !ok || (ifExists && row.op == opNull) {
			return nil, malformed("Invalid Condition type : %s", name)
		}
		if len(keys) == 0 {
			return nil, malformed("Condition %s names no key", name)
		}
		for key, raw := range keys {
			vals, err := rawValues(raw)
			if err != nil {
				return nil, err
			}
			c := Condition{Operator: name, Key: key, Values: vals, op: row.op, negated: row.negated,
				ifExists: ifExists, set: set, fold: row.fold, cmp: row.cmp}
			if err := c.check(); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// check validates the values for the operator and precomputes what it can.
func (c *Condition) check() error {
	if !validKey(c.Key) {
		return malformed("Policy has an invalid condition key: %q", c.Key)
	}
	for _, v := range c.Values {
		switch c.op {
		case opNumeric:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return malformed("Invalid numeric value %q for %s", v, c.Operator)
			}
		case opDate:
			if _, ok := parseDate(v); !ok {
				return malformed("Invalid date value %q for %s", v, c.Operator)
			}
		case opBool, opNull:
			if v != "true" && v != "false" {
				return malformed("Invalid boolean value %q for %s", v, c.Operator)
			}
		case opIP:
			p, err := parseCIDR(v)
			if err != nil {
				return malformed("Invalid IP address or range %q for %s", v, c.Operator)
			}
			c.prefixes = append(c.prefixes, p)
		}
	}
	return nil
}

// validKey: a key has a service prefix (aws:, s3:) and a name.
func validKey(k string) bool {
	svc, name, ok := strings.Cut(k, ":")
	return ok && name != "" && (strings.EqualFold(svc, "aws") || strings.EqualFold(svc, "s3"))
}

func parseCIDR(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// holds evaluates the condition against the request's values of its key
// (present reports whether the request has the key).
func (c *Condition) holds(vals []string, present bool) bool {
	if c.op == opNull {
		return (c.Values[0] == "true") == !present
	}
	if !present || len(vals) == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == setAll:
			return true
		case c.set == setAny:
			return false
		}
		return c.negated
	}
	if c.set == setAll {
		for _, rv := range vals {
			if !c.matchOne(rv) {
				return false
			}
		}
		return true
	}
	// Without a set operator a request value list is treated as any-of.
	for _, rv := range vals {
		if c.matchOne(rv) {
			return true
		}
	}
	return false
}

// matchOne applies the operator to one request value: for a negated
// operator, true when it matches none of the condition's values.
func (c *Condition) matchOne(rv string) bool {
	m := false
	for i, pv := range c.Values {
		if c.matchValue(i, pv, rv) {
			m = true
			break
		}
	}
	if c.negated {
		return !m
	}
	return m
}

func (c *Condition) matchValue(i int, pv, rv string) bool {
	switch c.op {
	case opString:
		if c.fold {
			return strings.EqualFold(pv, rv)
		}
		return pv == rv
	case opStringLike:
		return Match(pv, rv, false)
	case opNumeric:
		a, err1 := strconv.ParseFloat(rv, 64)
		b, _ := strconv.ParseFloat(pv, 64)
		if err1 != nil {
			return false
		}
		return c.cmp(compare(a, b))
	case opDate:
		a, ok := parseDate(rv)
		b, _ := parseDate(pv)
		return ok && c.cmp(a.Compare(b))
	case opBool:
		return strings.EqualFold(pv, rv)
	case opIP:
		a, err := netip.ParseAddr(rv)
		return err == nil && c.prefixes[i].Contains(a.Unmap())
	case opARN:
		return matchARN(pv, rv)
	}
	return false
}

func compare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matchARN matches an ARN against a pattern field by field (the six
// colon-separated fields; the last may itself hold colons), each with
// wildcards.
func matchARN(pattern, arn string) bool {
	pf, af := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pf) != 6 || len(af) != 6 {
		return false
	}
	for i := range pf {
		if !Match(pf[i], af[i], false) {
			return false
		}
	}
	return true
}
