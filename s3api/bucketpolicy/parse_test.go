package bucketpolicy

import (
	"errors"
	"strings"
	"testing"
)

// TestParseRefuses: each malformed document is refused with
// ErrMalformed and a reason naming what is wrong.
func TestParseRefuses(t *testing.T) {
	const okStmt = `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`
	cases := []struct {
		name, doc, reason string
	}{
		{"not json", `{`, "invalid Json"},
		{"trailing", `{"Statement":[` + okStmt + `]} {}`, "invalid Json"},
		{"array top", `[]`, "invalid Json"},
		{"no statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty statements", `{"Version":"2012-10-17","Statement":[]}`, "Missing required field Statement"},
		{"bad version", `{"Version":"2020-01-01","Statement":[` + okStmt + `]}`, "Invalid policy version"},
		{"unknown top field", `{"Statment":[]}`, "Unknown field Statment"},
		{"no effect", `{"Statement":{"Principal":"*","Action":"s3:*","Resource":"*"}}`, "Missing required field Effect"},
		{"bad effect", `{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:*","Resource":"*"}}`, "Invalid effect"},
		{"no principal", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, "Missing required field Principal"},
		{"both principals", `{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":{"AWS":"ns"},"Action":"s3:*","Resource":"*"}}`, "both Principal and NotPrincipal"},
		{"bad principal string", `{"Statement":{"Effect":"Allow","Principal":"someone","Action":"s3:*","Resource":"*"}}`, "Invalid principal"},
		{"service principal", `{"Statement":{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"s3:*","Resource":"*"}}`, "no Service principals"},
		{"wildcard principal arn", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/*"},"Action":"s3:*","Resource":"*"}}`, "wildcards"},
		{"bad principal arn", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:role/x"},"Action":"s3:*","Resource":"*"}}`, "Invalid principal"},
		{"no action", `{"Statement":{"Effect":"Allow","Principal":"*","Resource":"*"}}`, "Missing required field Action"},
		{"both actions", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}`, "both Action and NotAction"},
		{"foreign action", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"*"}}`, "invalid action"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}}`, "non-empty list"},
		{"no resource", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*"}}`, "Missing required field Resource"},
		{"other bucket", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::other/*"}}`, "not in bucket"},
		{"not an s3 arn", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:sqs:::b"}}`, "invalid resource"},
		{"both resources", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","NotResource":"*"}}`, "both Resource and NotResource"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Extra":1}}`, "Unknown field Extra"},
		{"duplicate sid", `{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`, "must be unique"},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringSorta":{"aws:username":"x"}}}}`, "Invalid Condition type"},
		{"null ifexists", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}}`, "Invalid Condition type"},
		{"bad key", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"username":"x"}}}}`, "invalid condition key"},
		{"bad number", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}}`, "Invalid numeric value"},
		{"bad date", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`, "Invalid date value"},
		{"bad bool", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, "Invalid boolean value"},
		{"bad cidr", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}}`, "Invalid IP address"},
		{"condition not object", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":["x"]}}`, "Condition must map"},
		{"object condition value", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}}`, "Invalid Condition value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.doc), "b")
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %q, want ErrMalformed saying %q", err, c.reason)
			}
		})
	}
}

// TestParseAccepts: the forms the grammar allows, with what they parse to.
func TestParseAccepts(t *testing.T) {
	doc := `{"Version":"2012-10-17","Id":"pol","Statement":[
	  {"Sid":"public","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
	  {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::ns:user/alice","arn:aws:iam::ns:group/admins","arn:aws:iam::ns:root","ns"]},"NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/public/*",
	   "Condition":{"ForAnyValue:StringLikeIfExists":{"s3:prefix":["a*","b?"]},"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}]}`
	p, err := Parse([]byte(doc), "b")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != Version2012 || p.ID != "pol" || len(p.Statements) != 2 {
		t.Fatalf("parsed %+v", p)
	}
	s0, s1 := p.Statements[0], p.Statements[1]
	if s0.Sid != "public" || s0.Effect != Allow || !s0.anyPrincipal || len(s0.Actions) != 2 || len(s0.Resources) != 2 {
		t.Fatalf("statement 0: %+v", s0)
	}
	if s1.Effect != Deny || !s1.NotPrincipal || !s1.NotAction || !s1.NotResource || len(s1.Principals) != 4 || len(s1.Conditions) != 3 {
		t.Fatalf("statement 1: %+v", s1)
	}
	// A single statement object, no Version (2008), a wildcard bucket.
	p, err = Parse([]byte(`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"arn:aws:s3:::b*/x"}}`), "bucket")
	if err != nil || p.Version != Version2008 || len(p.Statements) != 1 {
		t.Fatalf("single statement: %v %+v", err, p)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"*", "anything/at/all", false, true},
		{"s3:Get*", "s3:GetObject", false, true},
		{"s3:get*", "s3:GetObject", true, true},
		{"s3:get*", "s3:GetObject", false, false},
		{"s3:*Object", "s3:PutObject", false, true},
		{"s3:*Object", "s3:PutObjectTagging", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"arn:aws:s3:::b/*/x", "arn:aws:s3:::b/1/2/x", false, true},
		{"arn:aws:s3:::b/*/x", "arn:aws:s3:::b/1/2/y", false, false},
		{"*a*b*", "xxaxxbxx", false, true},
		{"*a*b", "xxbxxa", false, false},
		{"exact", "exact", false, true},
		{"exact", "exactly", false, false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.s, c.fold); got != c.want {
			t.Errorf("Match(%q, %q, %v) = %v", c.pattern, c.s, c.fold, got)
		}
	}
}
