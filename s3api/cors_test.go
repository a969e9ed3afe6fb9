package s3api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestCorsConfigurationIsValidated(t *testing.T) {
	for _, bad := range []string{
		`<CORSConfiguration></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>https://*.*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
		`not xml`,
	} {
		if _, err := parseCors([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	c, err := parseCors([]byte(`<CORSConfiguration><CORSRule><ID>r</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>` +
		`<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader>` +
		`<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	if err != nil || len(c.GetRules()) != 1 || c.GetRules()[0].GetMaxAgeSeconds() != 600 {
		t.Fatalf("%v %v", c, err)
	}
	for _, m := range []struct {
		origin, method string
		headers        []string
		ok             bool
	}{
		{"https://app.example.com", "GET", nil, true},
		{"https://app.example.com", "PUT", []string{"X-Amz-Date", "x-amz-content-sha256"}, true},
		{"https://app.example.com", "PUT", []string{"Authorization"}, false},
		{"https://app.example.com", "DELETE", nil, false},
		{"https://example.com", "GET", nil, false},
		{"http://app.example.com", "GET", nil, false},
	} {
		if got := corsMatch(c, m.origin, m.method, m.headers) != nil; got != m.ok {
			t.Errorf("%s %s %v: allowed %v, want %v", m.origin, m.method, m.headers, got, m.ok)
		}
	}
}

// A preflight is answered from the rules without credentials; requests
// from an allowed origin get the CORS headers, their errors too; a bucket
// without rules, or an origin no rule allows, gets none.
func TestCorsPreflightAndResponses(t *testing.T) {
	cl, _, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	preflight := func(origin, method, headers string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, base+"/web/page.html", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight("https://app.example", "PUT", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("preflight before any rule: %d", resp.StatusCode)
	}
	_, err := cl.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors without rules: %v", err)
	}
	if _, err := cl.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(300)}},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := cl.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil || len(got.CORSRules) != 1 || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 300 || got.CORSRules[0].ExposeHeaders[0] != "ETag" {
		t.Fatalf("GetBucketCors: %+v %v", got, err)
	}

	resp := preflight("https://app.example", "PUT", "content-type, x-amz-date")
	h := resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date" ||
		h.Get("Access-Control-Max-Age") != "300" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	for _, c := range [][2]string{{"https://evil.example", "PUT"}, {"https://app.example", "DELETE"}} {
		if resp := preflight(c[0], c[1], ""); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight %v: %d %v", c, resp.StatusCode, resp.Header)
		}
	}

	// Actual requests: signed, with an Origin.
	st, h, _ := surfDo(t, base, "PUT", "/web/page.html", []byte("<p>hi</p>"), map[string]string{"Origin": "https://app.example"})
	if st != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://app.example" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("PUT from an allowed origin: %d %v", st, h)
	}
	st, h, body := surfDo(t, base, "GET", "/web/missing.html", nil, map[string]string{"Origin": "https://app.example"})
	if st != http.StatusNotFound || !strings.Contains(body, "NoSuchKey") || h.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("error to an allowed origin: %d %v", st, h)
	}
	st, h, _ = surfDo(t, base, "GET", "/web/page.html", nil, map[string]string{"Origin": "https://evil.example"})
	if st != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET from another origin: %d %v", st, h)
	}

	if _, err := cl.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if resp := preflight("https://app.example", "GET", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("preflight after DeleteBucketCors: %d", resp.StatusCode)
	}
}
