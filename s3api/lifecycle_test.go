package s3api

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/s3api/s3err"
)

// TestLifecycleConfigurationIsValidated: documents S3 refuses are refused
// with S3's code; accepted ones become the rules meta runs.
func TestLifecycleConfigurationIsValidated(t *testing.T) {
	rule := func(body string) string {
		return `<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status>` + body + `</Rule></LifecycleConfiguration>`
	}
	for _, c := range []struct{ doc, code string }{
		{`not xml`, "MalformedXML"},
		{`<LifecycleConfiguration></LifecycleConfiguration>`, "MalformedXML"},
		{rule(`<Expiration><Days>1</Days></Expiration>`), "MalformedXML"}, // neither Filter nor Prefix
		{rule(`<Filter><Prefix>a</Prefix></Filter><Prefix>a</Prefix><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{rule(`<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{rule(`<Filter></Filter><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`), "MalformedXML"},
		{strings.Replace(rule(`<Filter/><Expiration><Days>1</Days></Expiration>`), "Enabled", "On", 1), "MalformedXML"},
		{rule(`<Filter/>`), "InvalidRequest"},
		{rule(`<Filter/><Expiration><Days>0</Days></Expiration>`), "InvalidArgument"},
		{rule(`<Filter/><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>`), "InvalidArgument"},
		{rule(`<Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>`), "InvalidArgument"},
		{rule(`<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Expiration><Days>1</Days></Expiration>`), "InvalidArgument"},
		{rule(`<Filter/><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>`), "InvalidArgument"},
		{rule(`<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`), "InvalidRequest"},
		{rule(`<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`), "InvalidRequest"},
		{rule(`<Filter/><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>`), "NotImplemented"},
		{`<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>` +
			`<Rule><ID>r</ID><Status>Enabled</Status><Filter/><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
	} {
		_, err := parseLifecycle([]byte(c.doc))
		e, ok := s3err.As(err)
		if !ok || e.Code.Name != c.code {
			t.Errorf("%s: %v, want %s", c.doc, err, c.code)
		}
	}
	l, err := parseLifecycle([]byte(`<LifecycleConfiguration>` +
		`<Rule><ID>logs</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix><Tag><Key>t</Key><Value>x</Value></Tag>` +
		`<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Expiration><Days>7</Days></Expiration>` +
		`<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>` +
		`<Rule><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>` +
		`<Rule><ID>uploads</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>` +
		`</LifecycleConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.GetRules()) != 2 {
		t.Fatalf("enabled rules: %v", l.GetRules())
	}
	r := l.GetRules()[0]
	if r.GetId() != "logs" || r.GetFilter().GetPrefix() != "logs/" || r.GetFilter().GetTags()["t"] != "x" || r.GetFilter().GetSizeGreaterThan() != 10 ||
		r.GetExpirationDays() != 7 || r.GetNoncurrentDays() != 3 || r.GetNewerNoncurrentVersions() != 2 {
		t.Fatalf("rule: %v", r)
	}
	if l.GetRules()[1].GetAbortUploadDays() != 2 || !strings.Contains(string(l.GetXml()), "<Status>Disabled</Status>") {
		t.Fatalf("rules %v, document %s", l.GetRules(), l.GetXml())
	}
}

// TestLifecycleThroughTheGateway: Content-MD5 is required on PUT, the
// document reads back, a bucket without one answers
// NoSuchLifecycleConfiguration, and objects a rule expires carry
// x-amz-expiration on PUT, GET and HEAD.
func TestLifecycleThroughTheGateway(t *testing.T) {
	cl, _, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lcbucket")}); err != nil {
		t.Fatal(err)
	}
	if st, _, body := surfDo(t, base, http.MethodGet, "/lcbucket?lifecycle", nil, nil); st != http.StatusNotFound || !strings.Contains(body, "NoSuchLifecycleConfiguration") {
		t.Fatalf("GET without a configuration: %d %s", st, body)
	}
	doc := []byte(`<LifecycleConfiguration><Rule><ID>logs-1d</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>` +
		`<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)
	if st, _, body := surfDo(t, base, http.MethodPut, "/lcbucket?lifecycle", doc, nil); st != http.StatusBadRequest || !strings.Contains(body, "Content-MD5") {
		t.Fatalf("PUT without Content-MD5: %d %s", st, body)
	}
	sum := md5.Sum(doc)
	if st, _, body := surfDo(t, base, http.MethodPut, "/lcbucket?lifecycle", doc, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}); st != http.StatusOK {
		t.Fatalf("PUT: %d %s", st, body)
	}
	if st, _, body := surfDo(t, base, http.MethodGet, "/lcbucket?lifecycle", nil, nil); st != http.StatusOK || !strings.Contains(body, "<ID>logs-1d</ID>") {
		t.Fatalf("GET: %d %s", st, body)
	}
	put, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lcbucket"), Key: aws.String("logs/a"), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lcbucket"), Key: aws.String("logs/a")})
	if err != nil {
		t.Fatal(err)
	}
	day := int64(24 * time.Hour / time.Second)
	midnight := time.Unix((aws.ToTime(head.LastModified).Unix()/day+2)*day, 0).UTC()
	want := fmt.Sprintf(`expiry-date="%s", rule-id="logs-1d"`, midnight.Format(http.TimeFormat))
	if aws.ToString(head.Expiration) != want || aws.ToString(put.Expiration) != want {
		t.Fatalf("x-amz-expiration: HEAD %q, PUT %q, want %q", aws.ToString(head.Expiration), aws.ToString(put.Expiration), want)
	}
	other, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lcbucket"), Key: aws.String("data/a"), Body: strings.NewReader("x")})
	if err != nil || other.Expiration != nil {
		t.Fatalf("PUT outside the rule: %v, x-amz-expiration %q", err, aws.ToString(other.Expiration))
	}
	if st, _, body := surfDo(t, base, http.MethodDelete, "/lcbucket?lifecycle", nil, nil); st != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", st, body)
	}
	if st, _, _ := surfDo(t, base, http.MethodGet, "/lcbucket?lifecycle", nil, nil); st != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d", st)
	}
}
