package s3api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-store/cairn/s3api/sigv2"
	"github.com/cairn-store/cairn/s3api/sigv4"
)

// postForm builds a browser form: fields in order, then the file. sign
// adds the SigV4 fields and the signature of the policy built from
// conditions (plus those of the signature fields).
type postForm struct {
	fields     [][2]string
	conditions []any
	expires    time.Time
	fileName   string
	file       []byte
}

func (f postForm) body(t *testing.T, sign string, secret string) (*bytes.Buffer, string) {
	t.Helper()
	now := time.Now().UTC()
	fields := append([][2]string(nil), f.fields...)
	conds := append([]any(nil), f.conditions...)
	date := now.Format("20060102")
	if sign == "v4" {
		cred := "AK/" + date + "/us-east-1/s3/aws4_request"
		amzDate := now.Format("20060102T150405Z")
		fields = append(fields, [2]string{"x-amz-algorithm", "AWS4-HMAC-SHA256"}, [2]string{"x-amz-credential", cred}, [2]string{"x-amz-date", amzDate})
		conds = append(conds, map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"}, map[string]string{"x-amz-credential": cred}, map[string]string{"x-amz-date": amzDate})
	}
	exp := f.expires
	if exp.IsZero() {
		exp = now.Add(time.Hour)
	}
	doc, err := json.Marshal(map[string]any{"expiration": exp.Format("2006-01-02T15:04:05.000Z"), "conditions": conds})
	if err != nil {
		t.Fatal(err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	switch sign {
	case "v4":
		fields = append(fields, [2]string{"policy", policy}, [2]string{"x-amz-signature", sigv4.PolicySignature(secret, date, "us-east-1", "s3", policy)})
	case "v2":
		fields = append(fields, [2]string{"AWSAccessKeyId", "AK"}, [2]string{"policy", policy}, [2]string{"signature", sigv2.Sign(secret, policy)})
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", f.fileName)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(f.file)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func post(t *testing.T, base string, body io.Reader, ct string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/bkt", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPostUploads(t *testing.T) {
	cl, _, _, base := surfGateway(t, nil)
	ctx := context.Background()
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 20<<10) // 320 KiB: erasure coded
	base4 := func(key string, file []byte) postForm {
		return postForm{
			fields:     [][2]string{{"key", key}, {"Content-Type", "text/plain"}, {"x-amz-meta-origin", "form"}, {"success_action_status", "201"}},
			conditions: []any{map[string]string{"bucket": "bkt"}, []any{"starts-with", "$key", "uploads/"}, []any{"starts-with", "$Content-Type", "text/"}, map[string]string{"x-amz-meta-origin": "form"}, map[string]string{"success_action_status": "201"}, []any{"content-length-range", 1, 1 << 20}},
			fileName:   "notes.txt", file: file,
		}
	}
	for _, sign := range []string{"v4", "v2"} {
		for _, file := range [][]byte{[]byte("small file"), big} {
			body, ct := base4("uploads/${filename}", file).body(t, sign, "SK")
			st, h, out := post(t, base, body, ct)
			if st != http.StatusCreated || !strings.Contains(out, "<Key>uploads/notes.txt</Key>") || h.Get("ETag") == "" {
				t.Fatalf("%s POST of %d bytes: %d %s", sign, len(file), st, out)
			}
			got, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("uploads/notes.txt")})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(got.Body)
			if !bytes.Equal(data, file) || aws.ToString(got.ContentType) != "text/plain" || got.Metadata["origin"] != "form" {
				t.Fatalf("%s: stored %d bytes, type %q, metadata %v", sign, len(data), aws.ToString(got.ContentType), got.Metadata)
			}
		}
	}

	redirect := base4("uploads/r", []byte("x"))
	redirect.fields[3] = [2]string{"success_action_redirect", "https://app.example/done"}
	redirect.conditions[4] = map[string]string{"success_action_redirect": "https://app.example/done"}
	body, ct := redirect.body(t, "v4", "SK")
	if st, h, _ := post(t, base, body, ct); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "https://app.example/done?bucket=bkt&etag=") {
		t.Fatalf("redirect: %d %v", st, h)
	}

	for name, c := range map[string]struct {
		form   func() postForm
		secret string
		status int
		code   string
	}{
		"expired": {func() postForm { f := base4("uploads/e", []byte("x")); f.expires = time.Now().Add(-time.Minute); return f }, "SK", 403, "AccessDenied"},
		"another key": {func() postForm { return base4("elsewhere/k", []byte("x")) }, "SK", 403, "AccessDenied"},
		"extra field": {func() postForm {
			f := base4("uploads/x", []byte("x"))
			f.fields = append(f.fields, [2]string{"x-amz-meta-sneaky", "1"})
			return f
		}, "SK", 403, "AccessDenied"},
		"too large":     {func() postForm { f := base4("uploads/big", big); f.conditions[5] = []any{"content-length-range", 1, 1000}; return f }, "SK", 400, "EntityTooLarge"},
		"too small":     {func() postForm { f := base4("uploads/small", []byte("x")); f.conditions[5] = []any{"content-length-range", 10, 1000}; return f }, "SK", 400, "EntityTooSmall"},
		"bad signature": {func() postForm { return base4("uploads/s", []byte("x")) }, "wrong", 403, "SignatureDoesNotMatch"},
	} {
		body, ct := c.form().body(t, "v4", c.secret)
		st, _, out := post(t, base, body, ct)
		if st != c.status || !strings.Contains(out, "<Code>"+c.code+"</Code>") {
			t.Errorf("%s: %d %s", name, st, out)
		}
	}
	body, ct = base4("uploads/anon", []byte("x")).body(t, "", "")
	if st, _, out := post(t, base, body, ct); st != 403 || !strings.Contains(out, "AccessDenied") {
		t.Errorf("anonymous: %d %s", st, out)
	}
	for _, key := range []string{"uploads/e", "elsewhere/k", "uploads/x", "uploads/big", "uploads/small", "uploads/s", "uploads/anon"} {
		if _, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)}); err == nil {
			t.Errorf("refused POST stored %s", key)
		}
	}
}
