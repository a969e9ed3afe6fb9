package bucketpolicy

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), "b")
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

// stmt builds a one-statement policy from its fields' JSON.
func stmt(fields string) string { return `{"Version":"2012-10-17","Statement":{` + fields + `}}` }

var (
	anon  = Principal{Anonymous: true}
	alice = Principal{ARNs: []string{NamespaceARN("ns"), "ns", UserARN("ns", "alice"), GroupARN("ns", "readers")}}
	bob   = Principal{ARNs: []string{NamespaceARN("ns"), "ns", UserARN("ns", "bob")}}
	other = Principal{ARNs: []string{NamespaceARN("other"), "other", UserARN("other", "alice")}}
)

// values is a fixed set of request values, keys matched case-insensitively.
func values(kv map[string][]string) func(string) ([]string, bool, error) {
	return func(k string) ([]string, bool, error) {
		for name, v := range kv {
			if strings.EqualFold(name, k) {
				return v, true, nil
			}
		}
		return nil, false, nil
	}
}

// TestEvaluate: principals, actions, resources and their Not forms, and
// how Allow and Deny statements combine.
func TestEvaluate(t *testing.T) {
	obj := ObjectARN("b", "docs/a.txt")
	cases := []struct {
		name     string
		doc      string
		who      Principal
		action   string
		resource string
		want     Decision
	}{
		{"star allows anonymous", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), anon, "s3:GetObject", obj, Allowed},
		{"AWS star allows anonymous", stmt(`"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), anon, "s3:GetObject", obj, Allowed},
		{"other action", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`), anon, "s3:PutObject", obj, NoDecision},
		{"bucket resource for object", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b"`), anon, "s3:GetObject", obj, NoDecision},
		{"list on bucket arn", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"`), anon, "s3:ListBucket", BucketARN("b"), Allowed},
		{"action wildcard", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"*"`), anon, "s3:GetObjectTagging", obj, Allowed},
		{"action case-insensitive", stmt(`"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"*"`), anon, "s3:GetObject", obj, Allowed},
		{"action star", stmt(`"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"`), anon, "s3:DeleteObject", obj, Allowed},
		{"resource case-sensitive", stmt(`"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b/DOCS/*"`), anon, "s3:GetObject", obj, NoDecision},
		{"resource wildcard", stmt(`"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b/docs/?.txt"`), anon, "s3:GetObject", obj, Allowed},
		{"NotAction matches others", stmt(`"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","Resource":"*"`), anon, "s3:GetObject", obj, Allowed},
		{"NotAction excludes", stmt(`"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","Resource":"*"`), anon, "s3:DeleteObject", obj, NoDecision},
		{"NotResource matches others", stmt(`"Effect":"Deny","Principal":"*","Action":"*","NotResource":"arn:aws:s3:::b/public/*"`), alice, "s3:GetObject", obj, Denied},
		{"NotResource excludes", stmt(`"Effect":"Deny","Principal":"*","Action":"*","NotResource":"arn:aws:s3:::b/docs/*"`), alice, "s3:GetObject", obj, NoDecision},
		{"user principal", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), alice, "s3:GetObject", obj, Allowed},
		{"user principal other user", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), bob, "s3:GetObject", obj, NoDecision},
		{"user principal other namespace", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), other, "s3:GetObject", obj, NoDecision},
		{"user principal not anonymous", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), anon, "s3:GetObject", obj, NoDecision},
		{"group principal", stmt(`"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::ns:group/readers"]},"Action":"*","Resource":"*"`), alice, "s3:GetObject", obj, Allowed},
		{"group principal non-member", stmt(`"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::ns:group/readers"]},"Action":"*","Resource":"*"`), bob, "s3:GetObject", obj, NoDecision},
		{"namespace root", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:root"},"Action":"*","Resource":"*"`), bob, "s3:GetObject", obj, Allowed},
		{"bare namespace", stmt(`"Effect":"Allow","Principal":{"AWS":"ns"},"Action":"*","Resource":"*"`), bob, "s3:GetObject", obj, Allowed},
		{"NotPrincipal deny others", stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), bob, "s3:GetObject", obj, Denied},
		{"NotPrincipal spares listed", stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), alice, "s3:GetObject", obj, NoDecision},
		{"NotPrincipal covers anonymous", stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"ns"},"Action":"*","Resource":"*"`), anon, "s3:GetObject", obj, Denied},
		{"deny beats allow", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/docs/*"}]}`, alice, "s3:GetObject", obj, Denied},
		{"deny elsewhere leaves allow", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}]}`, alice, "s3:GetObject", obj, Allowed},
		{"deny before allow", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, alice, "s3:GetObject", obj, Denied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, c.doc)
			got, err := p.Evaluate(Request{Principal: c.who, Action: c.action, Resource: c.resource})
			if err != nil || got != c.want {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
}

// TestConditions: each operator, its IfExists and set forms, with the key
// present (matching or not) and absent.
func TestConditions(t *testing.T) {
	cases := []struct {
		name string
		cond string
		vals map[string][]string
		want bool
	}{
		{"StringEquals match", `"StringEquals":{"aws:username":"alice"}`, map[string][]string{"aws:username": {"alice"}}, true},
		{"StringEquals any of values", `"StringEquals":{"aws:username":["bob","alice"]}`, map[string][]string{"aws:username": {"alice"}}, true},
		{"StringEquals case", `"StringEquals":{"aws:username":"Alice"}`, map[string][]string{"aws:username": {"alice"}}, false},
		{"StringEquals absent", `"StringEquals":{"aws:username":"alice"}`, nil, false},
		{"StringEquals key case-insensitive", `"StringEquals":{"AWS:UserName":"alice"}`, map[string][]string{"aws:username": {"alice"}}, true},
		{"StringNotEquals other", `"StringNotEquals":{"aws:username":"alice"}`, map[string][]string{"aws:username": {"bob"}}, true},
		{"StringNotEquals same", `"StringNotEquals":{"aws:username":["bob","alice"]}`, map[string][]string{"aws:username": {"alice"}}, false},
		{"StringNotEquals absent", `"StringNotEquals":{"aws:username":"alice"}`, nil, true},
		{"StringEqualsIgnoreCase", `"StringEqualsIgnoreCase":{"aws:username":"ALICE"}`, map[string][]string{"aws:username": {"alice"}}, true},
		{"StringNotEqualsIgnoreCase", `"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}`, map[string][]string{"aws:username": {"alice"}}, false},
		{"StringLike", `"StringLike":{"s3:prefix":"home/*"}`, map[string][]string{"s3:prefix": {"home/alice/"}}, true},
		{"StringLike no", `"StringLike":{"s3:prefix":"home/*"}`, map[string][]string{"s3:prefix": {"work/"}}, false},
		{"StringNotLike", `"StringNotLike":{"s3:prefix":"home/*"}`, map[string][]string{"s3:prefix": {"work/"}}, true},
		{"StringNotLike absent", `"StringNotLike":{"s3:prefix":"home/*"}`, nil, true},
		{"StringEqualsIfExists absent", `"StringEqualsIfExists":{"s3:delimiter":"/"}`, nil, true},
		{"StringEqualsIfExists present other", `"StringEqualsIfExists":{"s3:delimiter":"/"}`, map[string][]string{"s3:delimiter": {"|"}}, false},
		{"StringLikeIfExists present", `"StringLikeIfExists":{"s3:prefix":"a*"}`, map[string][]string{"s3:prefix": {"abc"}}, true},
		{"NumericLessThan", `"NumericLessThan":{"s3:max-keys":"10"}`, map[string][]string{"s3:max-keys": {"9"}}, true},
		{"NumericLessThan equal", `"NumericLessThan":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"10"}}, false},
		{"NumericLessThanEquals", `"NumericLessThanEquals":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"10"}}, true},
		{"NumericGreaterThan", `"NumericGreaterThan":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"11"}}, true},
		{"NumericGreaterThanEquals no", `"NumericGreaterThanEquals":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"9"}}, false},
		{"NumericEquals", `"NumericEquals":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"10.0"}}, true},
		{"NumericNotEquals", `"NumericNotEquals":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"10"}}, false},
		{"NumericNotEquals other", `"NumericNotEquals":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"5"}}, true},
		{"Numeric not a number", `"NumericLessThan":{"s3:max-keys":10}`, map[string][]string{"s3:max-keys": {"many"}}, false},
		{"NumericLessThanIfExists absent", `"NumericLessThanIfExists":{"s3:max-keys":10}`, nil, true},
		{"DateLessThan", `"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, true},
		{"DateLessThan after", `"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, false},
		{"DateGreaterThan epoch", `"DateGreaterThan":{"aws:CurrentTime":"1577836800"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, true},
		{"DateEquals", `"DateEquals":{"aws:CurrentTime":"2026-12-07T10:00:00Z"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, true},
		{"DateNotEquals", `"DateNotEquals":{"aws:CurrentTime":"2026-12-07T10:00:00Z"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, false},
		{"DateLessThanEquals day", `"DateLessThanEquals":{"aws:CurrentTime":"2026-12-07"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T00:00:00Z"}}, true},
		{"DateGreaterThanEquals", `"DateGreaterThanEquals":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}`, map[string][]string{"aws:CurrentTime": {"2026-12-07T10:00:00Z"}}, false},
		{"Bool true", `"Bool":{"aws:SecureTransport":"true"}`, map[string][]string{"aws:SecureTransport": {"true"}}, true},
		{"Bool json false", `"Bool":{"aws:SecureTransport":false}`, map[string][]string{"aws:SecureTransport": {"true"}}, false},
		{"Bool absent", `"Bool":{"aws:SecureTransport":"false"}`, nil, false},
		{"BoolIfExists absent", `"BoolIfExists":{"aws:SecureTransport":"false"}`, nil, true},
		{"IpAddress in", `"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"127.0.0.1"}}, true},
		{"IpAddress out", `"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"127.0.0.1"}}, false},
		{"IpAddress single", `"IpAddress":{"aws:SourceIp":["192.0.2.1","127.0.0.1"]}`, map[string][]string{"aws:SourceIp": {"127.0.0.1"}}, true},
		{"IpAddress v6", `"IpAddress":{"aws:SourceIp":"2001:db8::/32"}`, map[string][]string{"aws:SourceIp": {"2001:db8::1"}}, true},
		{"IpAddress v4-mapped", `"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"::ffff:127.0.0.1"}}, true},
		{"IpAddress unparsable", `"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"localhost"}}, false},
		{"NotIpAddress in", `"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"127.0.0.1"}}, false},
		{"NotIpAddress out", `"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}`, map[string][]string{"aws:SourceIp": {"127.0.0.1"}}, true},
		{"ArnLike", `"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:ns:topic-*"}`, map[string][]string{"aws:SourceArn": {"arn:aws:sns:eu-west-1:ns:topic-a"}}, true},
		{"ArnLike field boundary", `"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}`, map[string][]string{"aws:SourceArn": {"arn:aws:sns:eu-west-1:ns:t"}}, false},
		{"ArnEquals", `"ArnEquals":{"aws:SourceArn":"arn:aws:sns:eu-west-1:ns:t"}`, map[string][]string{"aws:SourceArn": {"arn:aws:sns:eu-west-1:ns:t"}}, true},
		{"ArnNotLike", `"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}`, map[string][]string{"aws:SourceArn": {"arn:aws:sqs:r:ns:q"}}, true},
		{"ArnNotEquals absent", `"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:r:ns:t"}`, nil, true},
		{"Null true absent", `"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"true"}`, nil, true},
		{"Null true present", `"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"true"}`, map[string][]string{"s3:x-amz-server-side-encryption-customer-algorithm": {"AES256"}}, false},
		{"Null false present", `"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":false}`, map[string][]string{"s3:x-amz-server-side-encryption-customer-algorithm": {"AES256"}}, true},
		{"ExistingObjectTag", `"StringEquals":{"s3:ExistingObjectTag/class":"public"}`, map[string][]string{"s3:ExistingObjectTag/class": {"public"}}, true},
		{"ForAnyValue one matches", `"ForAnyValue:StringEquals":{"s3:x-amz-grant-read":["a","b"]}`, map[string][]string{"s3:x-amz-grant-read": {"c", "b"}}, true},
		{"ForAnyValue absent", `"ForAnyValue:StringEquals":{"s3:x-amz-grant-read":"a"}`, nil, false},
		{"ForAllValues all match", `"ForAllValues:StringEquals":{"s3:x-amz-grant-read":["a","b"]}`, map[string][]string{"s3:x-amz-grant-read": {"a", "b"}}, true},
		{"ForAllValues one does not", `"ForAllValues:StringEquals":{"s3:x-amz-grant-read":["a","b"]}`, map[string][]string{"s3:x-amz-grant-read": {"a", "c"}}, false},
		{"ForAllValues absent", `"ForAllValues:StringEquals":{"s3:x-amz-grant-read":"a"}`, nil, true},
		{"two operators both", `"StringEquals":{"aws:username":"alice"},"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}`, map[string][]string{"aws:username": {"alice"}, "aws:SourceIp": {"127.0.0.1"}}, true},
		{"two operators one fails", `"StringEquals":{"aws:username":"alice"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`, map[string][]string{"aws:username": {"alice"}, "aws:SourceIp": {"127.0.0.1"}}, false},
		{"two keys one fails", `"StringEquals":{"aws:username":"alice","s3:prefix":"x"}`, map[string][]string{"aws:username": {"alice"}, "s3:prefix": {"y"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, stmt(`"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{`+c.cond+`}`))
			got, err := p.Evaluate(Request{Principal: anon, Action: "s3:ListBucket", Resource: BucketARN("b"), Values: values(c.vals)})
			if err != nil {
				t.Fatal(err)
			}
			if (got == Allowed) != c.want {
				t.Fatalf("got %v, want allowed=%v", got, c.want)
			}
		})
	}
}

// TestConditionValuesError: an error reading a key's value ends the
// evaluation with it, so a Deny is never skipped for want of a value.
func TestConditionValuesError(t *testing.T) {
	boom := errors.New("boom")
	p := mustParse(t, stmt(`"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:ExistingObjectTag/x":"y"}}`))
	_, err := p.Evaluate(Request{Principal: anon, Action: "s3:GetObject", Resource: ObjectARN("b", "k"),
		Values: func(string) ([]string, bool, error) { return nil, false, boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

// TestPublic: S3's meaning of a public policy.
func TestPublic(t *testing.T) {
	allowAll := `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
	cases := []struct {
		name string
		doc  string
		want bool
	}{
		{"star", stmt(allowAll), true},
		{"AWS star", stmt(`"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"`), true},
		{"fixed user", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ns:user/alice"},"Action":"*","Resource":"*"`), false},
		{"fixed namespace", stmt(`"Effect":"Allow","Principal":{"AWS":"ns"},"Action":"*","Resource":"*"`), false},
		{"NotPrincipal allow", stmt(`"Effect":"Allow","NotPrincipal":{"AWS":"ns"},"Action":"*","Resource":"*"`), true},
		{"deny only", stmt(`"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"`), false},
		{"source ip range", stmt(allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`), false},
		{"source ip everything", stmt(allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), true},
		{"source ip negated", stmt(allowAll + `,"Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), true},
		{"source ip if exists", stmt(allowAll + `,"Condition":{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`), true},
		{"source vpc", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`), false},
		{"source vpc wildcard", stmt(allowAll + `,"Condition":{"StringLike":{"aws:SourceVpc":"vpc-*"}}`), true},
		{"org id", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}`), false},
		{"source arn", stmt(allowAll + `,"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:r:ns:t"}}`), false},
		{"not a fixed key", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:username":"alice"}}`), true},
		{"secure transport only", stmt(allowAll + `,"Condition":{"Bool":{"aws:SecureTransport":"true"}}`), true},
		{"one public of two", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"ns"},"Action":"*","Resource":"*"},{` + allowAll + `}]}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustParse(t, c.doc).Public(); got != c.want {
				t.Fatalf("Public() = %v, want %v", got, c.want)
			}
		})
	}
}
