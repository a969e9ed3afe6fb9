package s3api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// A request signed for a region the gateway does not serve is refused
// with the region it serves, in the message and as <Region>, which SDKs
// follow to sign again; a presigned URL likewise.
func TestWrongRegionNamesTheRegionServed(t *testing.T) {
	srv, err := New(Config{Index: newFakeIndex(6), Shards: newFakeShards(), Credentials: map[string]string{"AK": "SK"},
		Region: "eu-central-1", MasterKey: testMasterKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	r, _ := http.NewRequest(http.MethodGet, hs.URL+"/bkt", nil)
	r.Header.Set("x-amz-content-sha256", empty)
	if err := signer.SignHTTP(context.Background(), creds, r, empty, "s3", "ap-south-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	check := func(what string, r *http.Request, code, message string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out := string(body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, "<Code>"+code+"</Code>") ||
			!strings.Contains(out, "<Message>"+message+"</Message>") || !strings.Contains(out, "<Region>eu-central-1</Region>") {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, out)
		}
	}
	check("header", r, "AuthorizationHeaderMalformed",
		"The authorization header is malformed; the region &#39;ap-south-1&#39; is wrong; expecting &#39;eu-central-1&#39;")

	p, _ := http.NewRequest(http.MethodGet, hs.URL+"/bkt/k", nil)
	q := p.URL.Query()
	q.Set("X-Amz-Expires", "300")
	p.URL.RawQuery = q.Encode()
	u, _, err := signer.PresignHTTP(context.Background(), creds, p, "UNSIGNED-PAYLOAD", "s3", "ap-south-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := http.NewRequest(http.MethodGet, u, nil)
	check("presigned", pr, "AuthorizationQueryParametersError",
		"Error parsing the X-Amz-Credential parameter; the region &#39;ap-south-1&#39; is wrong; expecting &#39;eu-central-1&#39;")
}
